/** Test helpers of @stratum/registry-client: in-memory images and indexes, stream utilities. */
import { Readable } from 'node:stream';
import { MediaType, digestBytes, indexFromParts, type Image, type ImageIndex, type Platform } from '@stratum/oci';
import { memoryImage, memoryLayer, randomImage, randomTree, tarOf } from '@stratum/testing';

export { memoryImage, memoryLayer, randomImage };

/** collect reads a stream whole. */
export async function collect(stream: AsyncIterable<Uint8Array> | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** platformImage: a small random image whose config says `platform`. */
export async function platformImage(seed: number, platform: Platform): Promise<Image> {
  const layer = memoryLayer(await tarOf(randomTree({ seed, files: 5 })));
  return memoryImage([layer], { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}) });
}

/** memoryIndex: an OCI index over in-memory images, each with its platform. */
export async function memoryIndex(entries: { image: Image; platform: Platform }[]): Promise<ImageIndex> {
  const manifests = [];
  for (const e of entries) manifests.push({ mediaType: await e.image.mediaType(), digest: await e.image.digest(), size: await e.image.size(), platform: e.platform });
  const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
  const byDigest = new Map(await Promise.all(entries.map(async (e) => [await e.image.digest(), e.image] as const)));
  return indexFromParts({ rawManifest: raw, mediaType: MediaType.OciIndex, digest: digestBytes(raw), image: (d) => byDigest.get(d.digest)! });
}

/** bigLayerImage: an image with one uncompressed layer of `size` pseudo-random bytes, streamed, never held whole. */
export function streamedBlob(size: number, seed = 7): () => Readable {
  return () => {
    let x = seed >>> 0 || 1;
    let left = size;
    return new Readable({
      read() {
        const n = Math.min(left, 256 * 1024);
        if (n === 0) {
          this.push(null);
          return;
        }
        const b = Buffer.allocUnsafe(n);
        for (let i = 0; i + 4 <= n; i += 4) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          b.writeUInt32LE(x >>> 0, i);
        }
        for (let i = n - (n % 4); i < n; i++) b[i] = i & 0xff;
        left -= n;
        this.push(b);
      },
    });
  };
}

/** writeLayout writes images (and an index's children) into an OCI image layout directory, tagged, for peer tools. */
export async function writeLayout(dir: string, entries: { source: Image | ImageIndex; tag: string }[]): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (digest: string, bytes: Uint8Array): Promise<void> => {
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  };
  const writeImage = async (image: Image): Promise<void> => {
    await put(await image.digest(), await image.rawManifest());
    await put(await image.configDigest(), await image.rawConfig());
    for (const l of await image.layers()) await put(await l.digest(), await collect(await l.compressed()));
  };
  const manifests = [];
  for (const e of entries) {
    const s = e.source;
    if ('manifests' in s) {
      for (const d of await s.manifests()) await writeImage(await s.image(d));
      await put(await s.digest(), await s.rawManifest());
    } else {
      await writeImage(s);
    }
    manifests.push({ mediaType: await s.mediaType(), digest: await s.digest(), size: await s.size(), annotations: { 'org.opencontainers.image.ref.name': e.tag } });
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
}

export { openStore, type PullStoreLike } from './open-store.js';
