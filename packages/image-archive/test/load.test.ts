import { createReadStream, createWriteStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Store } from '@stratum/image';
import { memoryImage, memoryLayer, randomTree, tarOf } from '@stratum/testing';
import { loadDockerArchive, readDockerArchive, saveDockerArchive } from '@stratum/image-archive';
import { bytesOf, scratch, uncompressedDigests } from './helpers.js';

const tmp = scratch();

async function images() {
  const base = memoryLayer(await tarOf(randomTree({ seed: 11, files: 40, maxFileSize: 64 * 1024 })), { compression: 'none' });
  const top = memoryLayer(await tarOf(randomTree({ seed: 12, files: 3 })));
  return {
    httpd: await memoryImage([base, top], { config: { Cmd: ['httpd'] } }),
    nginx: await memoryImage([base], { config: { Cmd: ['nginx'] } }),
  };
}

describe('loadDockerArchive', () => {
  it('docker save -o myimages.gz … then docker load -i: tags, configs and layers arrive in the store', async () => {
    const { httpd, nginx } = await images();
    const tar = join(tmp(), 'myimages.tar');
    await saveDockerArchive(undefined, [{ image: httpd, tags: ['httpd:1.1'] }, { image: nginx, tags: ['nginx:stable'] }], tar);
    const gz = join(tmp(), 'myimages.gz');
    await pipeline(createReadStream(tar), createGzip(), createWriteStream(gz));
    await using store = await Store.open(join(tmp(), 'store'));
    const loaded = await loadDockerArchive(gz, store);
    expect(loaded.map((l) => l.tags)).toEqual([['docker.io/library/httpd:1.1'], ['docker.io/library/nginx:stable']]);
    expect(loaded[0]!.id).toBe(await httpd.configDigest());
    const refs = (await store.list()).map((e) => e.ref).sort();
    expect(refs).toEqual(['docker.io/library/httpd:1.1', 'docker.io/library/nginx:stable']);
    const got = await store.image('httpd:1.1');
    expect(await got.configDigest()).toBe(await httpd.configDigest());
    expect(await uncompressedDigests(got)).toEqual((await httpd.config()).rootfs.diff_ids);
    // The archive's own OCI manifest was kept: same digest as the one saveDockerArchive wrote.
    const again = await readDockerArchive(tar);
    expect(loaded[0]!.descriptor.digest).toBe(await again[0]!.digest());
    // Layers were stored as they came: the uncompressed base layer's blob digest is its diffID.
    const layers = await got.layers();
    expect(await layers[0]!.digest()).toBe(await layers[0]!.diffID());
    expect(await layers[1]!.mediaType()).toBe('application/vnd.oci.image.layer.v1.tar');
  });

  it('loads from a stream, and loading again is idempotent', async () => {
    const { httpd } = await images();
    const tar = join(tmp(), 'a.tar');
    await saveDockerArchive(undefined, [{ image: httpd, tags: ['httpd:1.1'] }], tar);
    await using store = await Store.open(join(tmp(), 'store'));
    const a = await loadDockerArchive(createReadStream(tar), store);
    const blobs = readdirSync(join(store.root, 'blobs', 'sha256')).sort();
    const b = await loadDockerArchive(tar, store);
    expect(b).toEqual(a);
    expect(readdirSync(join(store.root, 'blobs', 'sha256')).sort()).toEqual(blobs);
  });
});

describe('progress and abort', () => {
  it('reports layer bytes while saving and loading', async () => {
    const { httpd } = await images();
    const tar = join(tmp(), 'p.tar');
    const saved: number[] = [];
    await saveDockerArchive(undefined, [{ image: httpd, tags: ['httpd:1.1'] }], tar, { onProgress: (p) => saved.push(p.bytes) });
    expect(saved.length).toBeGreaterThan(0);
    const total = (await Promise.all((await httpd.layers()).map(async (l) => (await bytesOf(l)).length))).reduce((a, b) => a + b);
    expect(Math.max(...saved)).toBeLessThanOrEqual(total);
    await using store = await Store.open(join(tmp(), 'store'));
    const loaded: Array<{ layer: string; bytes: number; total: number | undefined }> = [];
    await loadDockerArchive(tar, store, { onProgress: (p) => loaded.push(p) });
    // The big base layer streams into the store (small files are held in memory, no progress).
    const last = loaded[loaded.length - 1]!;
    expect(last.bytes).toBe(last.total);
  });

  it('an aborted load rejects with the signal’s reason and tags nothing', async () => {
    const { httpd } = await images();
    const tar = join(tmp(), 'a.tar');
    await saveDockerArchive(undefined, [{ image: httpd, tags: ['httpd:1.1'] }], tar);
    await using store = await Store.open(join(tmp(), 'store'));
    const ac = new AbortController();
    const reason = new Error('stop');
    const p = loadDockerArchive(tar, store, { signal: ac.signal, onProgress: () => ac.abort(reason) });
    await expect(p).rejects.toBe(reason);
    expect(await store.list()).toEqual([]);
    const again = new AbortController();
    again.abort(reason);
    await expect(saveDockerArchive(store, [], join(tmp(), 'b.tar'), { signal: again.signal })).rejects.toBeTruthy();
  });
});
