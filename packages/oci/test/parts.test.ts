import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DigestMismatchError,
  InvalidManifestError,
  MediaType,
  NotFoundError,
  canonicalJson,
  descriptorOf,
  digestBytes,
  drainAndVerify,
  imageFromParts,
  indexFromParts,
  layerFromParts,
  memoize,
  verifyStream,
  type Descriptor,
  type Digest,
  type Image,
  type ImageConfig,
  type ImageManifest,
  type Layer,
} from '@stratum/oci';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe('memoize', () => {
  it('runs once and shares the promise, also while pending', async () => {
    let calls = 0;
    const f = memoize(async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return { n: calls };
    });
    const [a, b] = await Promise.all([f(), f()]);
    expect(a).toBe(b);
    expect(await f()).toBe(a);
    expect(calls).toBe(1);
  });

  it('retries after a rejection (and a synchronous throw), not after success', async () => {
    let calls = 0;
    const f = memoize(() => {
      calls++;
      if (calls === 1) throw new Error('sync boom');
      if (calls === 2) return Promise.reject(new Error('async boom'));
      return Promise.resolve(calls);
    });
    await expect(f()).rejects.toThrow('sync boom');
    const [x, y] = [f(), f()]; // both see the same second attempt
    await expect(x).rejects.toThrow('async boom');
    await expect(y).rejects.toThrow('async boom');
    expect(await f()).toBe(3);
    expect(await f()).toBe(3);
    expect(calls).toBe(3);
  });
});

/** Builds real bytes for a two-layer image: gzip blobs, tar-ish content, config, manifest. */
function fixture() {
  const tars = [Buffer.from('layer one'.repeat(100)), Buffer.from('layer two'.repeat(50))];
  const blobs = tars.map((t) => gzipSync(t));
  const layerDescs: Descriptor[] = blobs.map((b) => descriptorOf(b, MediaType.OciLayerGzip));
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: tars.map((t) => digestBytes(t)) } };
  const rawConfig = canonicalJson(config);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: descriptorOf(rawConfig, MediaType.OciConfig), layers: layerDescs };
  const rawManifest = canonicalJson(manifest);
  const blobByDigest = new Map<string, Buffer>(blobs.map((b, i) => [layerDescs[i]!.digest, b]));
  const layer = (descriptor: Descriptor, diffID: Digest): Layer =>
    layerFromParts({
      descriptor,
      diffID,
      compressed: async () => Readable.from([blobByDigest.get(descriptor.digest)!]),
      uncompressed: async () => Readable.from([gunzipSync(blobByDigest.get(descriptor.digest)!)]),
    });
  return { tars, blobs, layerDescs, config, rawConfig, manifest, rawManifest, layer };
}

describe('imageFromParts', () => {
  it('builds a lazy Image whose accessors agree with the bytes', async () => {
    const f = fixture();
    let manifestFetches = 0;
    let configFetches = 0;
    const img = imageFromParts({
      rawManifest: async () => {
        manifestFetches++;
        return f.rawManifest;
      },
      rawConfig: async (desc) => {
        configFetches++;
        expect(desc.digest).toBe(f.manifest.config.digest);
        return f.rawConfig;
      },
      mediaType: MediaType.OciManifest,
      digest: digestBytes(f.rawManifest),
      layer: f.layer,
    });
    expect(manifestFetches).toBe(0); // lazy
    expect(await img.digest()).toBe(digestBytes(f.rawManifest));
    expect(await img.size()).toBe(f.rawManifest.byteLength);
    expect(await img.mediaType()).toBe(MediaType.OciManifest);
    expect(await img.manifest()).toEqual(f.manifest);
    expect(await img.configDigest()).toBe(f.manifest.config.digest);
    expect(configFetches).toBe(0); // configDigest needs only the manifest
    expect(await img.config()).toEqual(f.config);
    const layers = await img.layers();
    expect(await img.layers()).toBe(layers);
    expect(layers).toHaveLength(2);
    for (const [i, l] of layers.entries()) {
      expect(await l.digest()).toBe(f.layerDescs[i]!.digest);
      expect(await l.diffID()).toBe(digestBytes(f.tars[i]!));
      expect(await l.size()).toBe(f.blobs[i]!.byteLength);
      expect(await l.mediaType()).toBe(MediaType.OciLayerGzip);
      expect(await bytesOf(await l.compressed())).toEqual(f.blobs[i]);
      expect(await bytesOf(await l.uncompressed())).toEqual(f.tars[i]);
    }
    expect(await img.layerByDigest!(digestBytes(f.tars[1]!))).toBe(layers[1]);
    expect(await img.layerByDigest!(f.layerDescs[0]!.digest)).toBe(layers[0]);
    await expect(img.layerByDigest!(digestBytes('nope'))).rejects.toBeInstanceOf(NotFoundError);
    expect([manifestFetches, configFetches]).toEqual([1, 1]);
  });

  it('verifies the manifest digest and the config against the manifest', async () => {
    const f = fixture();
    const wrongDigest = imageFromParts({ rawManifest: f.rawManifest, rawConfig: f.rawConfig, digest: digestBytes('other'), layer: f.layer });
    await expect(wrongDigest.manifest()).rejects.toBeInstanceOf(DigestMismatchError);
    const wrongConfig = imageFromParts({ rawManifest: f.rawManifest, rawConfig: canonicalJson({ ...f.config, os: 'windows' }), layer: f.layer });
    await expect(wrongConfig.config()).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await wrongConfig.manifest()).toEqual(f.manifest); // the manifest itself is fine
  });

  it('refuses an index, a served media type that disagrees, and a layer count mismatch', async () => {
    const f = fixture();
    const idx = canonicalJson({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
    await expect(imageFromParts({ rawManifest: idx, rawConfig: f.rawConfig, layer: f.layer }).manifest()).rejects.toMatchObject({ kind: 'UNSUPPORTED_MEDIA_TYPE' });
    await expect(imageFromParts({ rawManifest: f.rawManifest, rawConfig: f.rawConfig, mediaType: MediaType.DockerManifest, layer: f.layer }).digest()).rejects.toMatchObject({
      kind: 'MEDIA_TYPE_MISMATCH',
    });
    const oneDiff = canonicalJson({ ...f.config, rootfs: { type: 'layers', diff_ids: [f.config.rootfs.diff_ids[0]] } });
    const m = canonicalJson({ ...f.manifest, config: descriptorOf(oneDiff, MediaType.OciConfig) });
    const img = imageFromParts({ rawManifest: m, rawConfig: oneDiff, layer: f.layer });
    await expect(img.layers()).rejects.toBeInstanceOf(InvalidManifestError);
    await expect(img.layers()).rejects.toMatchObject({ kind: 'LAYER_COUNT_MISMATCH' });
  });

  it('retries a failed fetch on the next call', async () => {
    const f = fixture();
    let attempts = 0;
    const img = imageFromParts({
      rawManifest: async () => {
        if (++attempts === 1) throw new Error('ECONNRESET');
        return f.rawManifest;
      },
      rawConfig: f.rawConfig,
      layer: f.layer,
    });
    await expect(img.manifest()).rejects.toThrow('ECONNRESET');
    expect(await img.manifest()).toEqual(f.manifest);
    expect(attempts).toBe(2);
  });
});

describe('indexFromParts', () => {
  const f = fixture();
  const entry = (platform: Descriptor['platform'], extra: Partial<Descriptor> = {}): Descriptor => ({
    ...descriptorOf(f.rawManifest, MediaType.OciManifest),
    ...(platform ? { platform } : {}),
    ...extra,
  });
  const arm = entry({ os: 'linux', architecture: 'arm', variant: 'v6' }, { annotations: { which: 'arm' } });
  const amd = entry({ os: 'linux', architecture: 'amd64' }, { annotations: { which: 'amd' } });
  const nested: Descriptor = { mediaType: MediaType.OciIndex, digest: digestBytes('nested'), size: 6 };
  const rawIndex = canonicalJson({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [entry(undefined, { digest: digestBytes('att') }), arm, amd, nested] });
  const opened: Descriptor[] = [];
  const image = (d: Descriptor): Image => {
    opened.push(d);
    return imageFromParts({ rawManifest: f.rawManifest, rawConfig: f.rawConfig, layer: f.layer });
  };

  it('lists, looks up and selects by platform', async () => {
    const idx = indexFromParts({ rawManifest: rawIndex, digest: digestBytes(rawIndex), image });
    expect(await idx.digest()).toBe(digestBytes(rawIndex));
    expect(await idx.mediaType()).toBe(MediaType.OciIndex);
    expect(await idx.manifests()).toHaveLength(4);
    expect(idx.index).toBeUndefined();
    opened.length = 0;
    await idx.imageFor('linux/arm/v7');
    await idx.imageFor({ os: 'linux', architecture: 'x86_64' });
    expect(opened.map((d) => d.annotations?.['which'])).toEqual(['arm', 'amd']);
    await expect(idx.imageFor('linux/s390x')).rejects.toThrow(/no image for platform linux\/s390x .*linux\/arm\/v6, linux\/amd64/);
    await expect(idx.imageFor('linux/s390x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(idx.image(digestBytes('absent'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(idx.image(nested.digest)).rejects.toBeInstanceOf(InvalidManifestError);
    const img = await idx.image(amd.digest);
    expect(await img.digest()).toBe(digestBytes(f.rawManifest));
  });

  it('opens nested indexes when given an opener, and refuses a non-index document', async () => {
    const seen: string[] = [];
    const idx = indexFromParts({
      rawManifest: rawIndex,
      image,
      index: (d) => {
        seen.push(d.digest);
        return indexFromParts({ rawManifest: canonicalJson({ schemaVersion: 2, manifests: [] }), image });
      },
    });
    const child = await idx.index!(nested.digest);
    expect(await child.manifests()).toEqual([]);
    expect(seen).toEqual([nested.digest]);
    await expect(idx.index!(amd.digest)).rejects.toBeInstanceOf(InvalidManifestError);
    const notIndex = indexFromParts({ rawManifest: f.rawManifest, image });
    await expect(notIndex.manifests()).rejects.toMatchObject({ kind: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('layerFromParts', () => {
  it('verifies compressed streams by default', async () => {
    const blob = gzipSync(Buffer.from('hello'));
    const descriptor = descriptorOf(blob, MediaType.OciLayerGzip);
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1] ^= 1;
    const good = layerFromParts({ descriptor, diffID: digestBytes('hello'), compressed: async () => Readable.from([blob]), uncompressed: async () => Readable.from([Buffer.from('hello')]) });
    expect(await bytesOf(await good.compressed())).toEqual(blob);
    expect(await good.descriptor!()).toBe(descriptor);
    const bad = layerFromParts({ descriptor, diffID: digestBytes('hello'), compressed: async () => Readable.from([tampered]), uncompressed: async () => Readable.from([]) });
    await expect(bytesOf(await bad.compressed())).rejects.toBeInstanceOf(DigestMismatchError);
    const unverified = layerFromParts({ descriptor, diffID: digestBytes('hello'), verify: false, compressed: async () => Readable.from([tampered]), uncompressed: async () => Readable.from([]) });
    expect(await bytesOf(await unverified.compressed())).toEqual(tampered);
  });

  it('computes a lazy diffID once', async () => {
    let runs = 0;
    const l = layerFromParts({
      descriptor: { mediaType: MediaType.OciLayer, digest: digestBytes('x'), size: 1 },
      diffID: async () => {
        runs++;
        return digestBytes('x');
      },
      compressed: async () => Readable.from([Buffer.from('x')]),
      uncompressed: async () => Readable.from([Buffer.from('x')]),
    });
    expect(runs).toBe(0);
    expect(await Promise.all([l.diffID(), l.diffID()])).toEqual([digestBytes('x'), digestBytes('x')]);
    expect(runs).toBe(1);
  });
});

describe('verifyStream lifecycle', () => {
  it('destroying the verified stream destroys the source', async () => {
    let destroyed = false;
    const source = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
      },
      destroy(err, cb) {
        destroyed = true;
        cb(err);
      },
    });
    const v = verifyStream(source, { size: 1 << 30 });
    for await (const _ of v) break; // the consumer stops early
    await new Promise((r) => setImmediate(r));
    expect(destroyed).toBe(true);
  });

  it('a source error reaches the verified stream', async () => {
    const source = new Readable({ read() { this.destroy(new Error('EIO')); } });
    await expect(bytesOf(verifyStream(source, {}))).rejects.toThrow('EIO');
  });

  it('drainAndVerify checks the bytes a consumer left unread', async () => {
    const data = Buffer.alloc(256 * 1024, 7);
    const ok = verifyStream(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { digest: digestBytes(data), size: data.length });
    ok.read(0); // a consumer that looked and stopped
    expect(await drainAndVerify(ok)).toEqual({ digest: digestBytes(data), size: data.length });
    expect(await drainAndVerify(ok)).toEqual({ digest: digestBytes(data), size: data.length });
    const bad = verifyStream(Readable.from([data]), { digest: digestBytes('other') });
    await expect(drainAndVerify(bad)).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(drainAndVerify(bad)).rejects.toBeInstanceOf(DigestMismatchError);
  });
});
