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

/**
 * openStore opens @stratum/image's Store at `dir` when that package exports it; until then a
 * minimal OCI-layout store with the same contract for `pull` (verified, atomic `blobs.put`,
 * `blobs.has`, `tag` into index.json), so the pull tests exercise real files either way.
 */
export async function openStore(dir: string): Promise<PullStoreLike> {
  const mod = (await import('@stratum/image')) as { Store?: { open(dir: string): Promise<PullStoreLike> } };
  if (mod.Store && typeof mod.Store.open === 'function') return mod.Store.open(dir);
  return interimLayoutStore(dir);
}

/** What the pull tests need of a store. */
export interface PullStoreLike {
  readonly root?: string;
  blobs: {
    has(digest: string): Promise<boolean>;
    put(stream: AsyncIterable<Uint8Array> | Readable, expected?: { digest?: string; size?: number; mediaType?: string }): Promise<{ mediaType: string; digest: string; size: number }>;
  };
  tag(ref: string, descriptor: { mediaType: string; digest: string; size: number }): Promise<unknown>;
}

async function interimLayoutStore(root: string): Promise<PullStoreLike> {
  const { mkdir, writeFile, readFile, rename, open, unlink, access } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { createHash, randomBytes } = await import('node:crypto');
  const { DigestMismatchError } = await import('@stratum/oci');
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await writeFile(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexPath = join(root, 'index.json');
  try {
    await access(indexPath);
  } catch {
    await writeFile(indexPath, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }));
  }
  const blobPath = (d: string): string => join(root, 'blobs', 'sha256', d.slice('sha256:'.length));
  return {
    root,
    blobs: {
      async has(d) {
        try {
          await access(blobPath(d));
          return true;
        } catch {
          return false;
        }
      },
      async put(stream, expected) {
        const tmp = join(root, 'tmp', `put-${randomBytes(8).toString('hex')}`);
        const fh = await open(tmp, 'w');
        const hash = createHash('sha256');
        let size = 0;
        try {
          for await (const c of stream as AsyncIterable<Uint8Array>) {
            hash.update(c);
            size += c.byteLength;
            if (expected?.size !== undefined && size > expected.size) throw new DigestMismatchError({ ...expected }, { size });
            await fh.write(c);
          }
          const digest = `sha256:${hash.digest('hex')}`;
          if ((expected?.digest !== undefined && expected.digest !== digest) || (expected?.size !== undefined && expected.size !== size)) {
            throw new DigestMismatchError({ ...expected }, { digest, size });
          }
          await fh.sync();
          await fh.close();
          await rename(tmp, blobPath(digest));
          return { mediaType: expected?.mediaType ?? 'application/octet-stream', digest, size };
        } catch (err) {
          await fh.close().catch(() => {});
          await unlink(tmp).catch(() => {});
          throw err;
        }
      },
    },
    async tag(ref, d) {
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
      index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== ref);
      index.manifests.push({ ...d, annotations: { 'org.opencontainers.image.ref.name': ref } });
      const tmp = join(root, 'tmp', `index-${randomBytes(8).toString('hex')}`);
      await writeFile(tmp, JSON.stringify(index));
      await rename(tmp, indexPath);
    },
  };
}
