import { execFileSync } from 'node:child_process';
import { createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '@stratum/image';
import { digestBytes, digestStream } from '@stratum/oci';
import { guard, memoryImage, memoryLayer } from '@stratum/testing';
import { exportOciLayout, exportRootfs, importRootfs } from '@stratum/image-archive';
import { tarBytes } from './fixtures/hostile-cases.js';
import { run, scratch } from './helpers.js';

const tmp = scratch();

/** Two layers: the second deletes a file (whiteout), makes a directory opaque and adds a hard link. */
async function layered() {
  const l1 = await tarBytes([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', data: 'root:x:0:0::/root:/bin/sh\n' },
    { name: 'etc/gone', data: 'deleted above\n' },
    { name: 'var/', type: 'directory' },
    { name: 'var/cache/', type: 'directory' },
    { name: 'var/cache/old', data: 'hidden by the opaque dir\n' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/sh', data: '#!fake shell\n' },
  ]);
  const l2 = await tarBytes([
    { name: 'etc/.wh.gone', data: '' },
    { name: 'var/cache/', type: 'directory' },
    { name: 'var/cache/.wh..wh..opq', data: '' },
    { name: 'var/cache/new', data: 'fresh\n' },
    { name: 'bin/ash', type: 'link', linkname: 'bin/sh' },
    { name: 'bin/busybox', type: 'symlink', linkname: 'sh' },
  ]);
  return memoryImage([memoryLayer(l1), memoryLayer(l2, { compression: 'none' })]);
}

/** tree lists a directory: path, type and content (files) or target (symlinks). */
function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    const rel = `${prefix}${name}`;
    if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(p)}`);
    else if (st.isDirectory()) out.push(`${rel}/`, ...tree(p, `${rel}/`));
    else out.push(`${rel} = ${readFileSync(p, 'utf8').trim()} (links ${st.nlink})`);
  }
  return out;
}

function untar(archive: string): string {
  const dir = join(tmp(), `x-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  return dir;
}

describe('exportRootfs', () => {
  it('flattens an image: whiteouts and opaque directories applied, hard links kept', async (ctx) => {
    guard(ctx, 'root');
    const out = join(tmp(), 'rootfs.tar');
    const { size } = await exportRootfs(await layered(), out);
    expect(size).toBeGreaterThan(0);
    const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n');
    expect(names.some((n) => n.includes('.wh.'))).toBe(false);
    expect(tree(untar(out))).toEqual([
      'bin/',
      'bin/ash = #!fake shell (links 2)',
      'bin/busybox -> sh',
      'bin/sh = #!fake shell (links 2)',
      'etc/',
      'etc/passwd = root:x:0:0::/root:/bin/sh (links 1)',
      'var/',
      'var/cache/',
      'var/cache/new = fresh (links 1)',
    ]);
  });

  it('gives the tree umoci unpack gives for the same image', async (ctx) => {
    guard(ctx, 'root', 'tool:umoci');
    const image = await layered();
    const layout = join(tmp(), 'layout');
    await exportOciLayout([{ image, tags: ['x:1'] }], layout);
    const bundle = join(tmp(), 'bundle');
    run(['umoci', 'unpack', '--image', `${layout}:docker.io/library/x:1`, bundle]);
    const out = join(tmp(), 'rootfs.tar');
    await exportRootfs(image, out);
    expect(tree(untar(out))).toEqual(tree(join(bundle, 'rootfs')));
  });

  it('tars a directory as it is (docker export of a container rootfs)', async () => {
    const dir = join(tmp(), 'rootfs');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'hostname'), 'box\n');
    symlinkSync('hostname', join(dir, 'etc', 'name'));
    const out = join(tmp(), 'dir.tar');
    await exportRootfs(dir, out);
    expect(tree(untar(out))).toEqual(tree(dir));
  });
});

describe('importRootfs', () => {
  it('docker import -c … -m …: one layer as given, changes applied, tagged; export gives the tree back', async (ctx) => {
    guard(ctx, 'root');
    const src = join(tmp(), 'rootfs-src');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'bin', 'httpd'), '#!/bin/sh\necho httpd\n');
    symlinkSync('httpd', join(src, 'bin', 'apache'));
    const tarball = join(tmp(), 'rootfs.tar');
    await exportRootfs(src, tarball);
    await using store = await Store.open(join(tmp(), 'store'));
    const imported = await importRootfs(tarball, store, {
      ref: 'httpd:1.1',
      changes: ['CMD ["/bin/httpd","-f"]', 'ENV MODE=prod', 'EXPOSE 80'],
      message: 'from a tarball',
      platform: 'linux/arm64',
    });
    expect(imported.tag).toBe('docker.io/library/httpd:1.1');
    const image = await store.image('httpd:1.1', { platform: 'linux/arm64' });
    const config = await image.config();
    expect(config.config?.Cmd).toEqual(['/bin/httpd', '-f']);
    expect(config.config?.Env).toContain('MODE=prod');
    expect(config.config?.ExposedPorts).toEqual({ '80/tcp': {} });
    expect(config.architecture).toBe('arm64');
    expect(config.history?.map((h) => h.comment)).toEqual(['from a tarball']);
    const [layer] = await image.layers();
    // The tarball is the layer blob, byte for byte (uncompressed, like docker import).
    expect(await layer!.digest()).toBe((await digestStream(createReadStream(tarball))).digest);
    expect(await layer!.diffID()).toBe(imported.diffID);
    const back = join(tmp(), 'back.tar');
    await exportRootfs('httpd:1.1', back, { store, platform: 'linux/arm64' });
    expect(tree(untar(back))).toEqual(tree(src));
  });

  it('takes a gzip stream, keeps it compressed, computes the diffID of the tar', async () => {
    const tar = await tarBytes([{ name: 'hello', data: 'hi\n' }]);
    await using store = await Store.open(join(tmp(), 'store'));
    const imported = await importRootfs(Readable.from([gzipSync(tar)]), store);
    expect(imported.tag).toBeUndefined();
    expect(imported.diffID).toBe(digestBytes(tar));
    const image = await store.image(imported.descriptor.digest);
    const [layer] = await image.layers();
    expect(await layer!.mediaType()).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect((await image.config()).history?.[0]?.comment).toBe('Imported from -');
  });

  it('refuses what is not a tar, and a bad change line before reading anything: nothing tagged', async () => {
    await using store = await Store.open(join(tmp(), 'store'));
    await expect(importRootfs(Readable.from([Buffer.from('not a tarball at all '.repeat(100))]), store, { ref: 'x:1' })).rejects.toMatchObject({ code: 'CORRUPT_LAYER' });
    let read = false;
    const src = (async function* () {
      read = true;
      yield await tarBytes([{ name: 'a', data: 'a' }]);
    })();
    await expect(importRootfs(src, store, { ref: 'x:1', changes: ['RUN rm -rf /'] })).rejects.toMatchObject({ name: 'InvalidChangeError' });
    expect(read).toBe(false);
    expect(await store.list()).toEqual([]);
  });
});
