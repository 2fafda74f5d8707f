/**
 * The store is an OCI image layout peers read as is, and layouts peers write open as stores:
 * skopeo, umoci and oci-image-tool against real files.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MediaType, digestBytes, indexFromParts, type Image } from '@stratum/oci';
import { guard, memoryImage, memoryLayer, randomImage, randomTree, tarOf } from '@stratum/testing';
import { Store } from '../src/index.js';
import { collect, tempDirs } from './helpers.js';

const run = promisify(execFile);
const dirs = tempDirs('interop');
afterAll(() => dirs.cleanup());

async function sameImage(a: Image, b: Image): Promise<void> {
  expect(await a.configDigest()).toBe(await b.configDigest());
  const [la, lb] = [await a.layers(), await b.layers()];
  expect(la.length).toBe(lb.length);
  for (let i = 0; i < la.length; i++) {
    expect(await la[i]!.diffID()).toBe(await lb[i]!.diffID());
    expect((await collect(await la[i]!.uncompressed())).equals(await collect(await lb[i]!.uncompressed()))).toBe(true);
  }
}

describe('peers read the store', () => {
  it('skopeo inspect oci:STORE:REF finds a ref by its full and its short name', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    const store = await Store.open(dirs.make());
    const img = await randomImage({ seed: 51, layers: 2 });
    await store.write(img, ['busybox:1', 'localhost:5000/team/app:2']);
    for (const name of ['busybox:1', 'docker.io/library/busybox:1', 'localhost:5000/team/app:2']) {
      const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${store.root}:${name}`]);
      expect(digestBytes(Buffer.from(stdout)), name).toBe(await img.digest());
    }
    const { stdout } = await run('skopeo', ['inspect', `oci:${store.root}:busybox:1`]);
    const info = JSON.parse(stdout) as { Digest: string; Layers: string[]; Os: string; Architecture: string };
    expect(info).toMatchObject({ Digest: await img.digest(), Os: 'linux', Architecture: 'amd64' });
    expect(info.Layers).toEqual(await Promise.all((await img.layers()).map((l) => l.digest())));
  });

  it('umoci ls lists the refs; umoci unpack unpacks by either name', async (ctx) => {
    guard(ctx, 'tool:umoci');
    const store = await Store.open(dirs.make());
    const img = await randomImage({ seed: 52, layers: 2 });
    await store.write(img, 'busybox:1');
    const { stdout } = await run('umoci', ['ls', '--layout', store.root]);
    expect(stdout.trim().split('\n').sort()).toEqual(['busybox:1', 'docker.io/library/busybox:1']);
    const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
    for (const name of ['busybox:1', 'docker.io/library/busybox:1']) {
      const bundle = join(dirs.make(), 'bundle');
      await run('umoci', ['unpack', ...rootless, '--image', `${store.root}:${name}`, bundle]);
      const tree = randomTree({ seed: 52 * 1000 + 1, files: 10, maxFileSize: 2048 });
      const file = tree.find((e) => e.type === 'file')!;
      expect(readFileSync(join(bundle, 'rootfs', file.path)).equals(Buffer.from((file as { content: Uint8Array }).content))).toBe(true);
    }
  });

  it('oci-image-tool validates the layout (every ref: manifests, configs, layers)', async (ctx) => {
    guard(ctx, 'tool:oci-image-tool');
    const store = await Store.open(dirs.make());
    await store.write(await randomImage({ seed: 53, layers: 2 }), ['busybox:1', 'quay.io/x/y:2']);
    await run('oci-image-tool', ['validate', '--type', 'image', store.root]);
    // (Not `--ref name=…` per ref: oci-image-tool 1.0.0-rc filters index.json while iterating it
    // and skips the entry after each one it drops, so it reports "not unique" for correct layouts.)
    await run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=busybox:1', store.root]);
  });
});

describe('the store reads what peers write', () => {
  it('a layout skopeo copied into (oci: → oci:) opens as a store, by its names and by ours', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    const ours = await Store.open(dirs.make());
    const img = await randomImage({ seed: 54, layers: 3 });
    await ours.write(img, 'src:1');
    const theirs = dirs.make();
    await run('skopeo', ['copy', '--quiet', `oci:${ours.root}:src:1`, `oci:${theirs}:copied:1`]);
    await run('skopeo', ['copy', '--quiet', `oci:${ours.root}:src:1`, `oci:${theirs}:v2`]);
    const store = await Store.open(theirs);
    expect((await store.list()).map((e) => e.ref)).toEqual(['docker.io/library/copied:1', 'v2']);
    await sameImage(await store.image('copied:1'), img);
    await sameImage(await store.image('v2'), img);
    expect((await store.verify()).ok).toBe(true);
    // We tag into their layout; skopeo still reads it.
    await store.tag('again:1', await store.resolve('copied:1'));
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${theirs}:again:1`]);
    expect(JSON.parse(stdout)).toMatchObject({ schemaVersion: 2 });
  });

  it('an image skopeo converted (oci: → docker-archive: → oci:, recompressed) reads back with the same trees', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    const ours = await Store.open(dirs.make());
    const img = await randomImage({ seed: 55, layers: 2 });
    await ours.write(img, 'src:1');
    const tar = join(dirs.make(), 'image.tar');
    await run('skopeo', ['copy', '--quiet', `oci:${ours.root}:src:1`, `docker-archive:${tar}:src:1`]);
    const back = dirs.make();
    await run('skopeo', ['copy', '--quiet', `docker-archive:${tar}`, `oci:${back}:from-archive:1`]);
    const store = await Store.open(back);
    const read = await store.image('from-archive:1');
    expect((await read.config()).rootfs.diff_ids).toEqual(await Promise.all((await img.layers()).map((l) => l.diffID())));
    // skopeo recompresses the layers and rewrites the config: other blobs, the same trees.
    const [a, b] = [await read.layers(), await img.layers()];
    for (let i = 0; i < a.length; i++) {
      expect(await a[i]!.mediaType()).toBe(MediaType.OciLayerGzip);
      expect((await collect(await a[i]!.uncompressed())).equals(await collect(await b[i]!.uncompressed()))).toBe(true);
    }
    expect((await store.verify()).ok).toBe(true);
  });

  it('skopeo copy --all of our index: both platforms written, read back, platform picked', async (ctx) => {
    guard(ctx, 'tool:skopeo');
    const ours = await Store.open(dirs.make());
    const amd = await memoryImage([memoryLayer(await tarOf(randomTree({ seed: 56 })))], { architecture: 'amd64', os: 'linux' });
    const arm = await memoryImage([memoryLayer(await tarOf(randomTree({ seed: 57 })))], { architecture: 'arm64', os: 'linux', variant: 'v8' });
    const manifests = [
      { mediaType: MediaType.OciManifest, digest: await amd.digest(), size: await amd.size(), platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MediaType.OciManifest, digest: await arm.digest(), size: await arm.size(), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ];
    const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
    const index = indexFromParts({ rawManifest: raw, digest: digestBytes(raw), image: async (d) => (d.digest === manifests[0]!.digest ? amd : arm) });
    await ours.write(index, 'multi:1');
    const theirs = dirs.make();
    await run('skopeo', ['copy', '--quiet', '--all', `oci:${ours.root}:multi:1`, `oci:${theirs}:multi:1`]);
    const store = await Store.open(theirs);
    expect((await store.resolve('multi:1')).digest).toBe(digestBytes(raw));
    expect(await (await store.image('multi:1', { platform: 'linux/arm64/v8' })).digest()).toBe(await arm.digest());
    expect(readdirSync(join(theirs, 'blobs', 'sha256'))).toHaveLength(7);
  });
});
