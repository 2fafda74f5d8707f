/**
 * openStore for tests and benchmarks: @stratum/image's Store when that package exports it, else a
 * minimal OCI-layout store with the same contract for pull. Imports nothing heavy.
 */
import type { Readable } from 'node:stream';
import { MediaType } from '@stratum/oci';

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
