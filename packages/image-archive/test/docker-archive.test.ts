import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { memoryImage, memoryLayer, randomTree, tarOf } from '@stratum/testing';
import { readDockerArchive, saveDockerArchive } from '@stratum/image-archive';
import { bytesOf, scratch, tarList, uncompressedDigests } from './helpers.js';

const tmp = scratch();

async function twoImages() {
  const base = memoryLayer(await tarOf(randomTree({ seed: 1, files: 30 })));
  const top1 = memoryLayer(await tarOf(randomTree({ seed: 2, files: 5 })));
  const top2 = memoryLayer(await tarOf(randomTree({ seed: 3, files: 5 })), { compression: 'none' });
  const httpd = await memoryImage([base, top1], { config: { Cmd: ['/usr/sbin/apachectl', '-D', 'FOREGROUND'] } });
  const nginx = await memoryImage([base, top2], { config: { Cmd: ['nginx'] } });
  return { httpd, nginx, base };
}

describe('saveDockerArchive → readDockerArchive', () => {
  it('round-trips two images sharing a layer, written once, with tags, config and layer bytes intact', async () => {
    const { httpd, nginx } = await twoImages();
    const out = join(tmp(), 'myimages.tar');
    const saved = await saveDockerArchive(undefined, [{ image: httpd, tags: ['httpd:1.1'] }, { image: nginx, tags: ['nginx:stable', 'nginx:latest'] }], out);
    expect(saved.map((s) => s.tags)).toEqual([['docker.io/library/httpd:1.1'], ['docker.io/library/nginx:stable', 'docker.io/library/nginx:latest']]);

    const names = tarList(out);
    const diffIDs = [...(await httpd.config()).rootfs.diff_ids, ...(await nginx.config()).rootfs.diff_ids];
    expect(new Set(diffIDs).size).toBe(3);
    for (const d of new Set(diffIDs)) expect(names.filter((n) => n === `blobs/sha256/${d.slice(7)}`)).toHaveLength(1);
    expect(names).toEqual(expect.arrayContaining(['manifest.json', 'repositories', 'index.json', 'oci-layout']));
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', out, 'manifest.json'], { encoding: 'utf8' }));
    expect(manifest[0].RepoTags).toEqual(['httpd:1.1']);
    expect(manifest[1].RepoTags).toEqual(['nginx:stable', 'nginx:latest']);
    expect(manifest[0].Layers[0]).toBe(manifest[1].Layers[0]);

    const back = await readDockerArchive(out);
    expect(back.map((i) => i.tags)).toEqual(saved.map((s) => s.tags));
    for (const [i, src] of [httpd, nginx].entries()) {
      expect(await back[i]!.configDigest()).toBe(await src.configDigest());
      expect(Buffer.from(await back[i]!.rawConfig()).equals(Buffer.from(await src.rawConfig()))).toBe(true);
      expect(await uncompressedDigests(back[i]!)).toEqual((await src.config()).rootfs.diff_ids);
      // The manifest read back is the OCI manifest the archive carries (Docker 25 layout).
      expect(await back[i]!.digest()).toBe(saved[i]!.manifest);
      const layers = await back[i]!.layers();
      const srcLayers = await src.layers();
      for (const [j, l] of layers.entries()) expect((await bytesOf(l)).equals(await bytesOf(srcLayers[j]!))).toBe(true);
    }
  });

  it('reads a gzip-compressed archive (docker save | gzip)', async () => {
    const { httpd, nginx } = await twoImages();
    const plain = join(tmp(), 'a.tar');
    await saveDockerArchive(undefined, [{ image: httpd, tags: ['httpd:1.1'] }, { image: nginx, tags: ['nginx:stable'] }], plain);
    const gz = join(tmp(), 'myimages.gz');
    await pipeline(createReadStream(plain), createGzip(), createWriteStream(gz));
    const back = await readDockerArchive(gz);
    expect(back.map((i) => i.tags)).toEqual([['docker.io/library/httpd:1.1'], ['docker.io/library/nginx:stable']]);
    expect(await uncompressedDigests(back[1]!)).toEqual((await nginx.config()).rootfs.diff_ids);
    const layers = await back[1]!.layers();
    expect(await layers[1]!.digest()).toBe((await nginx.config()).rootfs.diff_ids[1]);
  });

  it('merges an image given twice and writes to a Writable', async () => {
    const { httpd } = await twoImages();
    const out = join(tmp(), 'w.tar');
    const saved = await saveDockerArchive(undefined, [{ image: httpd, tags: ['a:1'] }, { image: httpd, tags: ['b:2'] }], createWriteStream(out));
    expect(saved).toHaveLength(1);
    expect(saved[0]!.tags).toEqual(['docker.io/library/a:1', 'docker.io/library/b:2']);
    expect((await readDockerArchive(out))[0]!.tags).toEqual(saved[0]!.tags);
    expect(statSync(out).size % 512).toBe(0);
  });
});
