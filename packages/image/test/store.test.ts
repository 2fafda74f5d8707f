/** Refs, images and indexes, write, gc and verify of the Store, on real files. */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  DigestMismatchError,
  MediaType,
  NotFoundError,
  digestBytes,
  indexFromParts,
  type Image,
  type ImageIndex,
  type Platform,
} from '@stratum/oci';
import { memoryImage, memoryLayer, randomImage, randomTree, tarOf } from '@stratum/testing';
import { Store, type WriteProgressEvent } from '../src/index.js';
import { blobFiles, collect, spyLayer, tempDirs } from './helpers.js';

const dirs = tempDirs('store');
afterAll(() => dirs.cleanup());

function indexJson(root: string): { manifests: Array<{ digest: string; annotations?: Record<string, string>; platform?: Platform }> } {
  return JSON.parse(readFileSync(join(root, 'index.json'), 'utf8'));
}

async function platformImage(seed: number, platform: Platform): Promise<Image> {
  const layer = memoryLayer(await tarOf(randomTree({ seed, files: 4 })));
  return memoryImage([layer], { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}) });
}

async function memoryIndex(entries: { image: Image; platform: Platform }[]): Promise<ImageIndex> {
  const manifests = [];
  for (const e of entries) manifests.push({ mediaType: await e.image.mediaType(), digest: await e.image.digest(), size: await e.image.size(), platform: e.platform });
  const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
  const byDigest = new Map(await Promise.all(entries.map(async (e) => [await e.image.digest(), e.image] as const)));
  return indexFromParts({ rawManifest: raw, mediaType: MediaType.OciIndex, digest: digestBytes(raw), image: (d) => byDigest.get(d.digest)! });
}

describe('write and read images', () => {
  it('writes any Image (layers, config, manifest) and reads the same bytes back lazily', async () => {
    const store = await Store.open(dirs.make());
    const img = await randomImage({ seed: 11, layers: 3 });
    const events: WriteProgressEvent[] = [];
    const desc = await store.write(img, 'busybox:1', { onProgress: (e) => events.push(e) });
    expect(desc).toMatchObject({ mediaType: MediaType.OciManifest, digest: await img.digest(), size: await img.size(), platform: { os: 'linux', architecture: 'amd64' } });
    expect(events.filter((e) => e.state === 'done').map((e) => e.kind).sort()).toEqual(['config', 'layer', 'layer', 'layer', 'manifest']);

    const back = await store.image('busybox:1');
    expect(await back.digest()).toBe(await img.digest());
    expect(Buffer.from(await back.rawManifest())).toEqual(Buffer.from(await img.rawManifest()));
    expect(Buffer.from(await back.rawConfig())).toEqual(Buffer.from(await img.rawConfig()));
    const [ours, theirs] = [await back.layers(), await img.layers()];
    for (let i = 0; i < 3; i++) {
      expect(await ours[i]!.digest()).toBe(await theirs[i]!.digest());
      expect(await ours[i]!.diffID()).toBe(await theirs[i]!.diffID());
      expect(await collect(await ours[i]!.compressed())).toEqual(await collect(await theirs[i]!.compressed()));
      expect(await collect(await ours[i]!.uncompressed())).toEqual(await collect(await theirs[i]!.uncompressed()));
    }
    // By digest too, and name@digest.
    expect(await (await store.image(await img.digest())).configDigest()).toBe(await img.configDigest());
    expect(await (await store.image(`busybox@${await img.digest()}`)).digest()).toBe(await img.digest());
  });

  it('skips blobs already present: their bytes are never read', async () => {
    const store = await Store.open(dirs.make());
    const img = await randomImage({ seed: 12, layers: 2 });
    await store.write(img, 'a:1');
    const layers = (await img.layers()).map(spyLayer);
    const again = await memoryImage(layers);
    const events: WriteProgressEvent[] = [];
    await store.write(again, 'a:2', { onProgress: (e) => events.push(e) });
    expect(layers.map((l) => l.reads)).toEqual([0, 0]);
    expect(events.filter((e) => e.kind === 'layer').every((e) => e.state === 'skipped')).toBe(true);
  });

  it('a layer whose bytes do not match its descriptor fails the write; nothing is tagged, no bad blob appears', async () => {
    const store = await Store.open(dirs.make());
    const good = memoryLayer(await tarOf(randomTree({ seed: 13 })));
    const lying = { ...good, compressed: async () => Readable.from([Buffer.from('not the layer')]) };
    const img = await memoryImage([lying]);
    await expect(store.write(img, 'bad:1')).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await store.list()).toEqual([]);
    expect(await store.blobs.has(await good.digest())).toBe(false);
    expect(blobFiles(store.root)).toEqual([]);
  });

  it('uncompressed() of a store layer is verified against its diffID', async () => {
    const store = await Store.open(dirs.make());
    const tar = await tarOf(randomTree({ seed: 14 }));
    const desc = await store.blobs.put(gzipSync(tar), { mediaType: MediaType.OciLayerGzip });
    expect(await collect(await store.layer(desc, digestBytes(tar)).uncompressed())).toEqual(tar);
    const plain = await store.blobs.put(tar, { mediaType: MediaType.OciLayer });
    expect(await collect(await store.layer(plain, digestBytes(tar)).uncompressed())).toEqual(tar);
    await expect(collect(await store.layer(desc, digestBytes('other')).uncompressed())).rejects.toBeInstanceOf(DigestMismatchError);
    const absent = store.layer({ ...desc, digest: digestBytes('absent') }, digestBytes(tar));
    await expect(absent.compressed()).rejects.toBeInstanceOf(NotFoundError);
  });

  it('writes an index with every platform; image(ref, { platform }) picks one; index(ref) reads it', async () => {
    const store = await Store.open(dirs.make());
    const amd = await platformImage(21, { os: 'linux', architecture: 'amd64' });
    const arm = await platformImage(22, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const index = await memoryIndex([
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    const desc = await store.write(index, 'multi:1');
    expect(desc).toEqual({ mediaType: MediaType.OciIndex, digest: await index.digest(), size: await index.size() });
    expect(await (await store.image('multi:1', { platform: 'linux/arm64' })).digest()).toBe(await arm.digest());
    expect(await (await store.image('multi:1', { platform: 'linux/amd64' })).digest()).toBe(await amd.digest());
    const back = await store.index('multi:1');
    expect((await back.manifests()).map((m) => m.digest)).toEqual([await amd.digest(), await arm.digest()]);
    await expect(store.image('multi:1', { platform: 'windows/amd64' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.index(await amd.digest())).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
  });
});

describe('refs', () => {
  it('stores the full normalized name plus Docker short name; list shows one ref; all spellings resolve', async () => {
    const store = await Store.open(dirs.make());
    const img = await randomImage({ seed: 31, layers: 1 });
    const desc = await store.write(img);
    await store.tag('busybox', desc);
    await store.tag('localhost:5000/team/app:1', desc);
    const names = indexJson(store.root).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']);
    expect(names).toEqual(['docker.io/library/busybox:latest', 'busybox:latest', 'localhost:5000/team/app:1']);
    expect(indexJson(store.root).manifests.every((m) => m.digest === desc.digest && m.platform?.os === 'linux')).toBe(true);
    expect(indexJson(store.root).manifests[1]!.annotations?.['io.containerd.image.name']).toBe('docker.io/library/busybox:latest');
    expect((await store.list()).map((e) => e.ref)).toEqual(['docker.io/library/busybox:latest', 'localhost:5000/team/app:1']);
    for (const r of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', 'index.docker.io/library/busybox']) {
      expect((await store.resolve(r)).digest).toBe(desc.digest);
    }
    expect(await store.refsOf(desc.digest)).toEqual(['docker.io/library/busybox:latest', 'localhost:5000/team/app:1']);
  });

  it('re-tagging moves a ref; untag removes all its entries; unknown refs are NotFoundError', async () => {
    const store = await Store.open(dirs.make());
    const a = await store.write(await randomImage({ seed: 32, layers: 1 }), 'app:1');
    const b = await store.write(await randomImage({ seed: 33, layers: 1 }), 'app:1');
    expect((await store.resolve('app:1')).digest).toBe(b.digest);
    expect(indexJson(store.root).manifests).toHaveLength(2);
    await store.tag('app:old', a);
    expect(await store.untag('app:1')).toBe(true);
    expect(await store.untag('app:1')).toBe(false);
    expect((await store.list()).map((e) => e.ref)).toEqual(['docker.io/library/app:old']);
    await expect(store.resolve('app:1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.image('nope')).rejects.toMatchObject({ code: 'NOT_FOUND', what: 'nope' });
    await expect(store.resolve(digestBytes('nothing'))).rejects.toBeInstanceOf(NotFoundError);
    // By digest: every ref of that manifest (docker rmi ID); name@digest: that repository's.
    await store.tag('other/app:x', a);
    await store.tag('app:y', a);
    expect(await store.untag(`app@${a.digest}`)).toBe(true);
    expect((await store.list()).map((e) => e.ref)).toEqual(['docker.io/other/app:x']);
    expect(await store.untag(a.digest)).toBe(true);
    expect(await store.list()).toEqual([]);
    expect(await store.untag(a.digest)).toBe(false);
  });

  it('refuses to tag a missing or incomplete image, a wrong size, a digest ref, a layer', async () => {
    const store = await Store.open(dirs.make());
    const img = await randomImage({ seed: 34, layers: 2 });
    const desc = await store.write(img);
    const layer = (await img.layers())[1]!;
    await expect(store.tag('x:1', { ...desc, digest: digestBytes('absent') })).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.tag('x:1', { ...desc, size: desc.size + 1 })).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(store.tag(`x@${desc.digest}`, desc)).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await expect(store.tag('X:1', desc)).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await expect(store.tag('x:1', { mediaType: MediaType.OciLayerGzip, digest: await layer.digest(), size: await layer.size() })).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
    await store.blobs.delete(await layer.digest());
    const err = await store.tag('x:1', desc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).what).toBe(await layer.digest());
    expect(indexJson(store.root).manifests).toEqual([]);
  });

  it('reads names peers write: a bare layout tag verbatim, a short name normalized; the last entry wins', async () => {
    const store = await Store.open(dirs.make());
    const a = await store.write(await randomImage({ seed: 35, layers: 1 }));
    const b = await store.write(await randomImage({ seed: 36, layers: 1 }));
    const entry = (d: typeof a, name: string) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: { 'org.opencontainers.image.ref.name': name } });
    writeFileSync(join(store.root, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry(a, 'v1'), entry(a, 'busybox:latest'), entry(b, 'docker.io/library/busybox:latest'), { mediaType: b.mediaType, digest: b.digest, size: b.size }] }));
    expect(await store.list()).toEqual([
      { ref: 'v1', descriptor: entry(a, 'v1') },
      { ref: 'docker.io/library/busybox:latest', descriptor: entry(b, 'docker.io/library/busybox:latest') },
    ]);
    expect((await store.resolve('v1')).digest).toBe(a.digest);
    expect((await store.resolve('busybox')).digest).toBe(b.digest);
    expect(await store.untag('busybox')).toBe(true);
    expect(indexJson(store.root).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toEqual(['v1', undefined]);
  });
});

describe('gc and verify', () => {
  it('gc removes what no index entry reaches, keeps shared layers and untagged entries, removes stale temp files', async () => {
    const store = await Store.open(dirs.make());
    const shared = memoryLayer(await tarOf(randomTree({ seed: 41 })));
    const own = memoryLayer(await tarOf(randomTree({ seed: 42 })));
    const keep = await memoryImage([shared], { created: '2001-01-01T00:00:00Z' });
    const drop = await memoryImage([shared, own], { created: '2002-02-02T00:00:00Z' });
    await store.write(keep, 'keep:1');
    await store.write(drop, 'drop:1');
    const loose = await store.blobs.put(Buffer.from('loose'));
    // A temp file of a dead process, a partial download of a dead and of a live process.
    let dead = 4_000_000;
    while (readdirSync('/proc').includes(String(dead))) dead++;
    const tmp = join(store.root, 'tmp');
    writeFileSync(join(tmp, `put-${dead}-abcdef`), 'x');
    writeFileSync(join(tmp, `partial-sha256-${'a'.repeat(64)}.${dead}`), 'x');
    writeFileSync(join(tmp, `partial-sha256-${'b'.repeat(64)}.${process.pid}`), 'x');
    writeFileSync(join(tmp, 'junk'), 'x');
    utimesSync(join(tmp, 'junk'), new Date(0), new Date(0));
    writeFileSync(join(tmp, 'fresh-junk'), 'x');

    expect(await store.untag('drop:1')).toBe(true);
    const dry = await store.gc({ dryRun: true });
    expect(dry.removed.length).toBe(4);
    expect(blobFiles(store.root)).toHaveLength(7);
    const r = await store.gc();
    expect(new Set(r.removed)).toEqual(new Set([await drop.digest(), await drop.configDigest(), await own.digest(), loose.digest]));
    expect(r.bytes).toBe((await drop.size()) + (await own.size()) + loose.size + (await drop.rawConfig()).byteLength);
    expect(r.temporary.sort()).toEqual(['junk', `partial-sha256-${'a'.repeat(64)}.${dead}`, `put-${dead}-abcdef`].sort());
    expect(readdirSync(tmp).filter((n) => !n.startsWith('lease-') && n !== 'index-lock').sort()).toEqual(['fresh-junk', `partial-sha256-${'b'.repeat(64)}.${process.pid}`]);
    expect(await store.blobs.has(await shared.digest())).toBe(true);
    expect((await store.verify()).ok).toBe(true);
    expect(await (await store.image('keep:1')).configDigest()).toBe(await keep.configDigest());
    expect((await store.gc()).removed).toEqual([]);
  });

  it('verify finds corrupt blobs and what refs lack', async () => {
    const store = await Store.open(dirs.make());
    const img = await randomImage({ seed: 43, layers: 2 });
    await store.write(img, 'v:1');
    expect(await store.verify()).toMatchObject({ ok: true, blobs: 4, corrupt: [], missing: [] });
    const [l0, l1] = await img.layers();
    writeFileSync(store.blobs.path(await l0!.digest()), 'tampered');
    await store.blobs.delete(await l1!.digest());
    const v = await store.verify();
    expect(v.ok).toBe(false);
    expect(v.corrupt).toEqual([await l0!.digest()]);
    expect(v.missing).toEqual([{ digest: await l1!.digest(), ref: 'docker.io/library/v:1' }]);
  });
});
