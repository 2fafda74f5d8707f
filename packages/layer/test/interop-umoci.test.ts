/**
 * Interop with umoci, both ways:
 *  - what we write, umoci reads: an image whose layers createLayer made (a whole tree, a
 *    two-tree diff with deletions and type changes, an overlay upper dir with an opaque
 *    directory) unpacks with `umoci unpack` to the same tree as our applyLayer gives;
 *  - what umoci writes, we read: an image built with `umoci init/new/unpack/repack` (several
 *    layers with deletions, type changes, and an opaque directory added with `umoci raw
 *    add-layer`) applies with applyLayer to the same tree as `umoci unpack`.
 * The OCI layout for the first is written by a few lines of test code below.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MNT, lsetxattr, mknodat, AT, S, mountFs, umount2 } from '@stratum/native';
import { guard, useLeakCheck } from '@stratum/testing';
import { applyLayer, createLayer, type CreatedLayer } from '../src/index.js';
import { drain, rawTar, snapshot, tempDir, writeLayout } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

function umoci(args: string[], cwd: string): string {
  return execFileSync('umoci', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The layer blob paths of `tag` in an OCI layout, in order. */
function layersOf(dir: string, tag: string): string[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const desc = index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === tag)!;
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', desc.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
  return manifest.layers.map((l) => join(dir, 'blobs', 'sha256', l.digest.slice(7)));
}

async function blobOf(c: CreatedLayer): Promise<{ blob: Buffer; diffID: string; mediaType: string }> {
  const blob = await drain(c.stream);
  return { blob, diffID: await c.diffID, mediaType: c.mediaType };
}

/** Fills a tree with everything a layer can hold. */
function richTree(root: string): void {
  mkdirSync(join(root, 'etc/conf.d'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/deep/er'), { recursive: true });
  mkdirSync(join(root, 'var/cache/apt'), { recursive: true });
  mkdirSync(join(root, 'dev'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/conf.d/a.conf'), 'a=1\n');
  writeFileSync(join(root, 'usr/bin/tool'), Buffer.alloc(200_000, 0x5a));
  chmodSync(join(root, 'usr/bin/tool'), 0o4755);
  linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-alias'));
  writeFileSync(join(root, 'usr/lib/deep/er/lib.so'), 'so');
  writeFileSync(join(root, `usr/lib/${'long-name-'.repeat(15)}`), 'long');
  symlinkSync('deep/er/lib.so', join(root, 'usr/lib/lib.so'));
  symlinkSync('/usr/lib', join(root, 'lib'));
  writeFileSync(join(root, 'var/cache/apt/pkgcache.bin'), 'cache');
  writeFileSync(join(root, 'etc/owned'), 'by 1000');
  chownSync(join(root, 'etc/owned'), 1000, 1000);
  chmodSync(join(root, 'var/cache'), 0o700);
  lsetxattr(join(root, 'etc/passwd'), 'user.origin', 'stratum');
  execFileSync('mkfifo', [join(root, 'dev/initctl')]);
  mknodat(AT.FDCWD, join(root, 'dev/null'), S.IFCHR | 0o666, 1, 3);
  writeFileSync(join(root, 'dir-becomes-file'), 'x');
  mkdirSync(join(root, 'file-becomes-dir'));
  writeFileSync(join(root, 'file-becomes-dir/inner'), 'i');
}

/** The same tree with deletions, type changes, metadata-only changes and additions. */
function mutate(root: string): void {
  rmSync(join(root, 'etc/conf.d/a.conf'));
  rmSync(join(root, 'var/cache/apt'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/sh\n');
  chmodSync(join(root, 'usr/lib/deep/er/lib.so'), 0o600);
  rmSync(join(root, 'dir-becomes-file'));
  mkdirSync(join(root, 'dir-becomes-file'));
  writeFileSync(join(root, 'dir-becomes-file/x'), 'now a dir');
  rmSync(join(root, 'file-becomes-dir'), { recursive: true });
  writeFileSync(join(root, 'file-becomes-dir'), 'now a file');
  mkdirSync(join(root, 'home/user'), { recursive: true });
  writeFileSync(join(root, 'home/user/.profile'), 'export PS1\n');
  unlinkSync(join(root, 'lib'));
  symlinkSync('usr/lib', join(root, 'lib'));
}

const compare = { mtime: true, xattrs: true, dirMtime: true };

describe('what we write, umoci reads', () => {
  it('umoci unpack of layers made by createLayer gives the tree our applyLayer gives (and the source tree)', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'tool:umoci');
    using t = tempDir('umoci-ours');
    const v1 = join(t.dir, 'v1');
    const v2 = join(t.dir, 'v2');
    richTree(v1);
    execFileSync('cp', ['-a', v1, v2]); // hard links, times, devices, xattrs kept
    mutate(v2);
    // A third layer from a real overlay upper dir: a directory removed and recreated (opaque), a whiteout.
    const upper = join(t.dir, 'upper');
    const work = join(t.dir, 'work');
    const merged = join(t.dir, 'stratum-merged');
    for (const d of [upper, work, merged]) mkdirSync(d);
    mountFs({ fstype: 'overlay', source: 'stratum-layer-test', options: [['lowerdir', v2], ['upperdir', upper], ['workdir', work], ['redirect_dir', 'off'], ['index', 'off']], target: merged });
    let v3: ReturnType<typeof snapshot>;
    try {
      rmSync(join(merged, 'usr/lib'), { recursive: true });
      mkdirSync(join(merged, 'usr/lib'));
      writeFileSync(join(merged, 'usr/lib/fresh.so'), 'fresh');
      rmSync(join(merged, 'etc/owned'));
      v3 = snapshot(merged, compare);
    } finally {
      umount2(merged, MNT.DETACH);
    }
    const layers = [
      await blobOf(createLayer({ from: undefined, to: v1 }, { compression: 'gzip' })),
      await blobOf(createLayer({ from: v1, to: v2 }, { compression: 'gzip' })),
      await blobOf(createLayer({ upper }, { compression: 'gzip' })),
    ];
    const layout = join(t.dir, 'layout');
    writeLayout(layout, layers, 'v3');
    umoci(['unpack', '--image', `${layout}:v3`, join(t.dir, 'bundle')], t.dir);
    const ours = join(t.dir, 'ours');
    for (const l of layers) await applyLayer(Readable.from([l.blob]), ours, { keepSetuid: true, keepDevices: true });
    const theirs = snapshot(join(t.dir, 'bundle', 'rootfs'), compare);
    expect(snapshot(ours, compare)).toEqual(theirs);
    expect(theirs).toEqual(v3!);
    expect(theirs['usr/bin/tool']).toMatchObject({ mode: 0o4755 });
    expect(theirs['dev/null']).toMatchObject({ type: 'char', what: '1:3' });
    expect(Object.keys(theirs).filter((p) => p.startsWith('usr/lib/'))).toEqual(['usr/lib/fresh.so']);
  });
});

describe('what umoci writes, we read', () => {
  it('an image built with umoci init/new/unpack/repack (+ raw add-layer for an opaque dir) applies like umoci unpack', async (ctx) => {
    guard(ctx, 'root', 'tool:umoci');
    using t = tempDir('umoci-theirs');
    const layout = join(t.dir, 'img');
    const bundle = join(t.dir, 'bundle');
    const rootfs = join(bundle, 'rootfs');
    umoci(['init', '--layout', layout], t.dir);
    umoci(['new', '--image', `${layout}:base`], t.dir);
    umoci(['unpack', '--image', `${layout}:base`, bundle], t.dir);
    richTree(rootfs);
    umoci(['repack', '--refresh-bundle', '--image', `${layout}:l1`, bundle], t.dir);
    mutate(rootfs);
    umoci(['repack', '--refresh-bundle', '--image', `${layout}:l2`, bundle], t.dir);
    // More deletions: a whole tree, a file replaced by a symlink, a renamed directory.
    rmSync(join(rootfs, 'home'), { recursive: true });
    rmSync(join(rootfs, 'etc/owned'));
    symlinkSync('passwd', join(rootfs, 'etc/owned'));
    renameSync(join(rootfs, 'usr/lib/deep'), join(rootfs, 'usr/lib/shallow'));
    umoci(['repack', '--refresh-bundle', '--image', `${layout}:l3`, bundle], t.dir);
    // umoci repack never writes opaque markers: add a layer holding one, verbatim.
    const opaque = rawTar([
      { name: 'usr/', type: 'directory', mtime: 1_700_000_000 },
      { name: 'usr/lib/', type: 'directory', mtime: 1_700_000_000 },
      { name: 'usr/lib/.wh..wh..opq', type: 'file', data: '' },
      { name: 'usr/lib/only.so', type: 'file', data: 'only', mtime: 1_700_000_000 },
      { name: 'etc/', type: 'directory', mtime: 1_700_000_000 },
      { name: 'etc/.wh.passwd', type: 'file', data: '' },
    ]);
    writeFileSync(join(t.dir, 'opaque.tar'), opaque);
    umoci(['raw', 'add-layer', '--image', `${layout}:l3`, '--tag', 'l4', join(t.dir, 'opaque.tar')], t.dir);
    const blobs = layersOf(layout, 'l4');
    expect(blobs.length).toBe(4);
    umoci(['unpack', '--image', `${layout}:l4`, join(t.dir, 'unpacked')], t.dir);
    const ours = join(t.dir, 'ours');
    for (const b of blobs) await applyLayer(b, ours, { keepSetuid: true, keepDevices: true });
    // Directory mtimes included: a whiteout without its parent's entry (umoci writes those)
    // leaves the parent's mtime as it was, for umoci and for us.
    const theirs = snapshot(join(t.dir, 'unpacked', 'rootfs'), { ...compare, dirMtime: true });
    const mine = snapshot(ours, { ...compare, dirMtime: true });
    expect(mine).toEqual(theirs);
    expect(Object.keys(theirs).filter((p) => p.startsWith('usr/lib/'))).toEqual(['usr/lib/only.so']);
    expect(theirs['etc/passwd']).toBeUndefined();
    expect(theirs['etc/owned']).toMatchObject({ type: 'symlink', what: 'passwd' });
    expect(theirs['home']).toBeUndefined();
  });
});
