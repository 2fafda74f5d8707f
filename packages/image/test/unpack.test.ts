/** store.unpack: every layer applied in order (whiteouts included), the same tree umoci unpacks; zstd layers read. */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { DigestMismatchError, MediaType, digestBytes } from '@stratum/oci';
import { guard, memoryImage, memoryLayer, tarOf, type TreeEntry } from '@stratum/testing';
import { createLayer } from '@stratum/layer';
import { Store, mutate } from '../src/index.js';
import { collect, tempDirs } from './helpers.js';

const run = promisify(execFile);
const dirs = tempDirs('unpack');
afterAll(() => dirs.cleanup());

const file = (path: string, content: string, mode = 0o644): TreeEntry => ({ type: 'file', path, content: Buffer.from(content), mode });
const dir = (path: string): TreeEntry => ({ type: 'dir', path, mode: 0o755 });

async function layeredImage() {
  const bottom = memoryLayer(await tarOf([dir('bin'), file('bin/su', 'su', 0o4755), dir('etc'), file('etc/a', 'a'), file('etc/b', 'b'), dir('srv'), file('srv/x', 'x'), { type: 'symlink', path: 'etc/link', target: 'b' }]));
  // Deletes etc/a, makes srv opaque (x goes) and adds srv/y, changes etc/b.
  const top = memoryLayer(await tarOf([dir('etc'), file('etc/.wh.a', ''), file('etc/b', 'b2', 0o600), dir('srv'), file('srv/.wh..wh..opq', ''), file('srv/y', 'y')]));
  return memoryImage([bottom, top]);
}

/** path → kind and content of every entry under root (mode bits of files included). */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = lstatSync(p);
      const key = relative(root, p);
      if (s.isDirectory()) {
        out[key] = 'dir';
        walk(p);
      } else if (s.isSymbolicLink()) out[key] = `link:${readlinkSync(p)}`;
      else out[key] = `file:${(s.mode & 0o7777).toString(8)}:${readFileSync(p, 'utf8')}`;
    }
  };
  walk(root);
  return out;
}

describe('unpack', () => {
  it('applies every layer in order with OCI whiteouts; umoci unpack gives the same tree', async (ctx) => {
    guard(ctx, 'tool:umoci');
    const store = await Store.open(dirs.make());
    await store.write(await layeredImage(), 'layered:1');
    const target = join(dirs.make(), 'rootfs');
    const layers: number[] = [];
    const r = await store.unpack('layered:1', target, { onLayer: (e) => layers.push(e.index) });
    expect(layers).toEqual([0, 1]);
    expect(r.results.map((x) => x.diffID)).toEqual((await (await store.image('layered:1')).config()).rootfs.diff_ids);
    const ours = tree(target);
    // The setuid bit stays: a rootfs keeps what the image holds, as umoci unpack does.
    expect(ours).toEqual({ bin: 'dir', 'bin/su': 'file:4755:su', etc: 'dir', 'etc/b': 'file:600:b2', 'etc/link': 'link:b', srv: 'dir', 'srv/y': 'file:644:y' });
    const bundle = join(dirs.make(), 'bundle');
    await run('umoci', ['unpack', ...(process.getuid?.() === 0 ? [] : ['--rootless']), '--image', `${store.root}:layered:1`, bundle]);
    expect(tree(join(bundle, 'rootfs'))).toEqual(ours);
  });

  it('a layer whose content does not match the config diffID fails the unpack', async () => {
    const store = await Store.open(dirs.make());
    const real = memoryLayer(await tarOf([file('f', 'x')]));
    const lying = { ...real, diffID: async () => digestBytes('something else') };
    await store.write(await memoryImage([lying]), 'lying:1');
    await expect(store.unpack('lying:1', join(dirs.make(), 'rootfs'))).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('zstd layers: uncompressed() and unpack read them', async (ctx) => {
    guard(ctx, 'tool:zstd');
    const store = await Store.open(dirs.make());
    const tar = await tarOf([file('z', 'zstd content')]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const desc = await store.blobs.put(zst, { mediaType: MediaType.OciLayerZstd });
    const layer = store.layer(desc, digestBytes(tar));
    expect((await collect(await layer.uncompressed())).equals(tar)).toBe(true);
    await store.write(await memoryImage([layer]), 'zstd:1');
    const target = join(dirs.make(), 'rootfs');
    await store.unpack('zstd:1', target);
    expect(readFileSync(join(target, 'z'), 'utf8')).toBe('zstd content');
    expect(existsSync(join(target, 'f'))).toBe(false);
  });

  it('the commit flow: createLayer of a changed tree → blobs.put → store.layer → mutate → write → unpack gives the changed tree', async () => {
    const store = await Store.open(dirs.make());
    await store.write(await layeredImage(), 'base:1');
    const before = join(dirs.make(), 'before');
    await store.unpack('base:1', before);
    const after = join(dirs.make(), 'after');
    cpSync(before, after, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(after, 'etc', 'new'), 'new file');
    rmSync(join(after, 'etc', 'b'));
    mkdirSync(join(after, 'opt'));
    const c = createLayer({ from: before, to: after }, { compression: 'gzip' });
    const desc = await store.blobs.put(c.stream, { mediaType: c.mediaType });
    expect(desc.digest).toBe(await c.digest);
    const img = mutate(await store.image('base:1'), {
      append: [{ layer: store.layer(desc, await c.diffID), history: { created_by: 'stratum commit' } }],
      changes: ['CMD ["cat","/etc/new"]'],
    });
    await store.write(img, 'committed:1');
    const target = join(dirs.make(), 'rootfs');
    await store.unpack('committed:1', target);
    expect(tree(target)).toEqual(tree(after));
    expect((await store.inspect('committed:1')).Config.Cmd).toEqual(['cat', '/etc/new']);
  });
});
