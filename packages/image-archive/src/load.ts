import { Readable } from 'node:stream';
import { digestBytes, isIndexMediaType, isManifestMediaType, type Descriptor, type Digest, type Image, type ImageIndex } from '@stratum/oci';
import { InvalidArchiveError } from './errors.js';
import { diffIDOf, ingest, type Ingested } from './ingest.js';
import { openArchiveStream, type ArchiveInput } from './input.js';
import { digestOfBlobPath, isKnownArchiveFile } from './layout.js';
import { MemberTable } from './members.js';
import { dockerArchiveImages } from './read-docker-archive.js';
import { layoutEntries, layoutImage, layoutIndex, type LayoutOptions } from './read-oci-layout.js';
import { isDirectory, type ArchiveReader } from './reader.js';
import { withProgress, type ArchiveProgress } from './save-docker-archive.js';
import type { ArchiveStore } from './store.js';
import { dirMembers, tarMembers, type Walked } from './walk.js';
import { translateStreamError } from './stream-errors.js';

/** Files up to this size are held in memory during a load (configs, manifests, tiny layers)… */
const smallFile = 1 << 20;
/** …as long as all of them together stay under this; the rest goes to the store as it comes. */
const memoryBudget = 64 << 20;

/** LoadOptions are the options of {@link loadDockerArchive} and {@link importOciLayout}. */
export interface LoadOptions extends LayoutOptions {
  signal?: AbortSignal;
  /** Called as files of the archive are written to the store. */
  onProgress?: (p: ArchiveProgress) => void;
}

/** LoadedImage: one image (or index) an archive put into the store. */
export interface LoadedImage {
  /** The tags it was given (full normalized references); empty for an untagged image. */
  tags: string[];
  /** The descriptor of its manifest (or index) in the store. */
  descriptor: Descriptor;
  /** The config digest (Docker's image ID); undefined for an index. */
  id: Digest | undefined;
}

type Payload = { bytes: Uint8Array } | { blob: Ingested } | undefined;

/** scanTarIntoStore is {@link scanIntoStore} over a tar input (plain, gzip or zstd). */
async function scanTarIntoStore(input: ArchiveInput, store: ArchiveStore, opts: LoadOptions): Promise<ArchiveReader> {
  const stream = await openArchiveStream(input, opts.signal);
  try {
    return await scanIntoStore(tarMembers(stream, opts.signal), typeof input === 'string' ? input : 'stream', store, opts);
  } catch (err) {
    throw translateStreamError(err);
  } finally {
    stream.destroy();
  }
}

/**
 * scanIntoStore reads an archive's members once, in order: every file larger than
 * {@link smallFile} (the layers) goes into the store as it streams past, hashed on the way (its
 * diffID too); small files are kept in memory. Returns a reader over what was read, whose files
 * open from memory or from the store and whose diffIDs are known.
 */
async function scanIntoStore(members: AsyncIterable<Walked>, location: string, store: ArchiveStore, opts: LoadOptions): Promise<ArchiveReader> {
  const table = new MemberTable<Payload>();
  let held = 0;
  for await (const { member: m, body } of members) {
    const member = table.add(m, undefined);
    if (m.type !== 'file') continue;
    const start = body.position;
    if (m.size <= smallFile && held + m.size <= memoryBudget) {
      const bytes = await body.read(m.size);
      held += m.size;
      member.payload = { bytes };
    } else {
      const head = await body.read(Math.min(16, m.size));
      const rest = withProgress(body.chunks(m.size - head.length), member.name, m.size, opts.onProgress, head.length);
      const expected = digestOfBlobPath(member.name);
      member.payload = { blob: await ingest(store, head, rest, m.size, { name: member.name, signal: opts.signal, ...(expected ? { expected } : {}) }) };
    }
    if (body.position !== start + m.size) throw new InvalidArchiveError('TRUNCATED', `archive is truncated inside ${JSON.stringify(m.name)}`, { path: member.name });
  }
  const payload = (name: string): NonNullable<Payload> => table.get(name)!.payload!;
  const known = new Map<string, Promise<{ digest: Digest; diffID: Digest }>>();
  return {
    location,
    compression: 'none',
    files: async () => [...table.values()].filter((m) => m.tar.type === 'file').map((m) => m.name),
    async resolve(p) {
      const m = table.resolve(p);
      return { name: m.name, size: m.tar.size };
    },
    async head(file) {
      const p = payload(file.name);
      return 'bytes' in p ? p.bytes.subarray(0, 16) : p.blob.head;
    },
    open(file) {
      const p = payload(file.name);
      return 'bytes' in p ? Readable.from([p.bytes], { objectMode: false }) : store.blobs.get(p.blob.descriptor.digest);
    },
    known(file) {
      let k = known.get(file.name);
      if (!k) {
        const p = payload(file.name);
        k = 'bytes' in p ? diffIDOf(p.bytes).then((diffID) => ({ digest: digestBytes(p.bytes), diffID })) : Promise.resolve({ digest: p.blob.descriptor.digest, diffID: p.blob.diffID });
        known.set(file.name, k);
      }
      return k;
    },
  };
}

interface Pending {
  source: Image | ImageIndex;
  tags: string[];
}

/**
 * writeAll writes every image (blobs, config, manifest: each verified by the store) untagged,
 * then — only when all are in — tags them, so that a failure anywhere leaves no new tag.
 */
async function writeAll(store: ArchiveStore, pending: Pending[], signal?: AbortSignal): Promise<LoadedImage[]> {
  const written: Array<{ p: Pending; descriptor: Descriptor }> = [];
  for (const p of pending) written.push({ p, descriptor: await store.write(p.source, undefined, { signal }) });
  signal?.throwIfAborted();
  const out: LoadedImage[] = [];
  for (const { p, descriptor } of written) {
    for (const t of p.tags) await store.tag(t, descriptor);
    const id = isManifestMediaType(descriptor.mediaType) ? await (p.source as Image).configDigest() : undefined;
    out.push({ tags: p.tags, descriptor, id });
  }
  return out;
}

function extraFiles(files: string[], referenced: (f: string) => boolean): void {
  for (const f of files) {
    if (!referenced(f) && !isKnownArchiveFile(f)) throw new InvalidArchiveError('UNEXPECTED_MEMBER', `archive has a file nothing references: ${JSON.stringify(f)}`, { path: f });
  }
}

/**
 * loadDockerArchive loads a `docker save` archive into a store in one streaming pass: a path, a
 * `Readable` (`docker save … |`) or any async iterable; plain tar, gzip or zstd (detected by magic
 * bytes). Both the classic layout (Docker before 25, skopeo, podman) and Docker 25's OCI-style one
 * are read; an archive with only an OCI layout (no `manifest.json`) is imported as
 * {@link importOciLayout} does.
 *
 * Layers are stored as they come — uncompressed tars stay uncompressed (docker-style: the blob
 * digest of such a layer is its diffID, no CPU spent recompressing, and Docker 25's own OCI
 * manifests keep their digests); a gzip or zstd layer stays compressed, its diffID computed on the
 * way in. Each image gets the OCI manifest the archive carries (Docker 25), else one Stratum
 * builds, deterministically.
 *
 * Nothing is tagged until everything is verified: every path in `manifest.json` resolved inside
 * the archive ({@link UnsafeArchivePathError}), every config parsed, every layer's diffID checked
 * against its config ({@link DiffIDMismatchError}), every blob written and verified by the store,
 * no unexpected file, no tag given to two images ({@link DuplicateTagError}). On a failure, layer
 * blobs already written stay in the store untagged (`store.gc()` removes
 * them). Untagged images (saved by ID) are written but have no ref, so `gc()` removes them too.
 * Memory stays bounded: files over 1 MiB stream to the store, smaller ones are held (64 MiB at
 * most). Idempotent: loading the same archive again leaves the same store (blobs named by
 * digest and present are skipped) and gives the same result. Returns the loaded images with their tags.
 *
 * CLI equivalent: `docker load -i FILE` (and `docker load < FILE.gz`).
 */
export async function loadDockerArchive(input: ArchiveInput, store: ArchiveStore, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  const reader = await scanTarIntoStore(input, store, opts);
  const manifestFile = await reader.resolve('manifest.json').catch((err: unknown) => {
    if (err instanceof InvalidArchiveError && err.kind === 'MISSING_MEMBER') return undefined;
    throw err;
  });
  if (manifestFile === undefined) return loadLayout(reader, store, opts);
  const images = await dockerArchiveImages(reader, manifestFile);
  return writeAll(store, images.map((image) => ({ source: image, tags: [...image.tags] })), opts.signal);
}

async function loadLayout(reader: ArchiveReader, store: ArchiveStore, opts: LoadOptions): Promise<LoadedImage[]> {
  const entries = await layoutEntries(reader, opts).catch((err: unknown) => {
    if (err instanceof InvalidArchiveError && err.kind === 'MISSING_MEMBER' && (err.path === 'index.json' || err.path === 'oci-layout')) {
      throw new InvalidArchiveError('NO_IMAGES', 'archive has neither manifest.json nor an OCI layout (oci-layout, index.json): not an image archive', { cause: err });
    }
    throw err;
  });
  extraFiles(await reader.files(), () => false);
  const byDigest = new Map<Digest, Pending & { desc: Descriptor }>();
  for (const e of entries) {
    const d = e.descriptor;
    if (!isManifestMediaType(d.mediaType) && !isIndexMediaType(d.mediaType)) continue;
    let p = byDigest.get(d.digest);
    if (!p) {
      const source = isIndexMediaType(d.mediaType) ? await layoutIndex(reader, d) : await layoutImage(reader, d);
      byDigest.set(d.digest, (p = { source, tags: [], desc: d }));
    }
    if (e.tag !== undefined && !p.tags.includes(e.tag)) p.tags.push(e.tag);
  }
  return writeAll(store, [...byDigest.values()], opts.signal);
}

/**
 * importOciLayout copies the images of an OCI image layout into a store: a layout directory, a
 * tar of one (plain, gzip or zstd; a path or a stream), as `skopeo copy … oci:DIR` /
 * `oci-archive:FILE` or {@link exportOciLayout} write them. Every `index.json` entry is written
 * as it is — an index with all its platforms, manifests byte for byte, so digests are kept —
 * and tagged from its annotations (`io.containerd.image.name`, a full
 * `org.opencontainers.image.ref.name`, or a bare tag joined to `opts.repository`). Everything
 * is verified (digests, sizes, diffIDs) before the first tag; see {@link loadDockerArchive} for
 * what a failure leaves. Returns the loaded entries with their tags.
 *
 * CLI equivalent: `skopeo copy oci:DIR:REF …` into a store; `podman load` of an OCI archive.
 */
export async function importOciLayout(input: ArchiveInput, store: ArchiveStore, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  const reader =
    typeof input === 'string' && (await isDirectory(input))
      ? await scanIntoStore(dirMembers(input, opts.signal), input, store, opts)
      : await scanTarIntoStore(input, store, opts);
  return loadLayout(reader, store, opts);
}
