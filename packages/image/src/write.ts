/**
 * Writing any Image or ImageIndex into the store: layers first (skipping blobs already there),
 * then the config, then the manifest — so that whatever exists is always whole and a manifest
 * is never present before what it points at. Tagging comes last (the store does it).
 */
import { Readable } from 'node:stream';
import {
  isIndexMediaType,
  type Descriptor,
  type Digest,
  type Image,
  type ImageIndex,
  type MediaTypeString,
  type Platform,
} from '@stratum/oci';
import type { BlobStore } from './blobs.js';
import type { Leases } from './lease.js';
import { mayBeAbsent } from './reach.js';

/** WriteProgressEvent: one blob's state while `store.write` copies an image in. */
export interface WriteProgressEvent {
  digest: Digest;
  mediaType: MediaTypeString;
  kind: 'layer' | 'config' | 'manifest' | 'index';
  /** `skipped`: already in the store; `writing`: bytes flowing (`current` of `total`); `done`. */
  state: 'skipped' | 'writing' | 'done';
  current: number;
  total: number;
}

/** WriteOptions: the options of `store.write`. */
export interface WriteOptions {
  signal?: AbortSignal;
  onProgress?: (event: WriteProgressEvent) => void;
  /** How many layers are copied at once (default 3). */
  concurrency?: number;
}

/** What writing needs of the store. */
export interface WriteContext {
  blobs: BlobStore;
  leases: Leases;
  /** Releases of every in-flight hold taken, called by the store after tagging. */
  holds: Array<() => void>;
}

/** isImageIndex tells an {@link ImageIndex} from an {@link Image} (by its `manifests` accessor). */
export function isImageIndex(source: Image | ImageIndex): source is ImageIndex {
  return typeof (source as ImageIndex).manifests === 'function' && typeof (source as Image).layers !== 'function';
}

/**
 * ensureBlob makes sure blob `desc` is in the store: when present, it is held (leased) and
 * skipped; otherwise `open()` gives its bytes and they are put, verified against `desc`.
 */
async function ensureBlob(
  ctx: WriteContext,
  desc: Descriptor,
  kind: WriteProgressEvent['kind'],
  open: () => Promise<Readable | Uint8Array>,
  opts: WriteOptions,
): Promise<void> {
  const base = { digest: desc.digest, mediaType: desc.mediaType, kind, total: desc.size };
  ctx.holds.push(await ctx.leases.hold([desc.digest]));
  // Checked after the hold: a gc that removed it before sees the lease from now on.
  if (await ctx.blobs.has(desc.digest)) {
    opts.onProgress?.({ ...base, state: 'skipped', current: desc.size });
    return;
  }
  opts.signal?.throwIfAborted();
  opts.onProgress?.({ ...base, state: 'writing', current: 0 });
  const source = await open();
  await ctx.blobs.put(source, { digest: desc.digest, size: desc.size, mediaType: desc.mediaType }, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: (current: number) => opts.onProgress!({ ...base, state: 'writing', current }) } : {}),
  });
  opts.onProgress?.({ ...base, state: 'done', current: desc.size });
}

async function pool(tasks: Array<() => Promise<void>>, limit: number, signal: AbortSignal | undefined): Promise<void> {
  let next = 0;
  let failed: unknown;
  let hasFailed = false;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && !hasFailed) {
      signal?.throwIfAborted();
      const task = tasks[next++]!;
      try {
        await task();
      } catch (err) {
        if (!hasFailed) {
          hasFailed = true;
          failed = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  if (hasFailed) throw failed;
}

/** writeImage copies `image` into the store and returns its manifest's descriptor (with the config's platform). */
export async function writeImage(ctx: WriteContext, image: Image, opts: WriteOptions = {}): Promise<Descriptor> {
  const [manifest, rawManifest, mediaType, digest] = await Promise.all([image.manifest(), image.rawManifest(), image.mediaType(), image.digest()]);
  const layers = await image.layers();
  const seen = new Set<Digest>();
  const tasks: Array<() => Promise<void>> = [];
  manifest.layers.forEach((desc, i) => {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    tasks.push(async () => {
      try {
        await ensureBlob(ctx, desc, 'layer', async () => layers[i]!.compressed(opts.signal ? { signal: opts.signal } : {}), opts);
      } catch (err) {
        // Foreign / non-distributable layers need not travel with the image (as in registries).
        if (!mayBeAbsent(desc.mediaType) || opts.signal?.aborted) throw err;
      }
    });
  });
  await pool(tasks, opts.concurrency ?? 3, opts.signal);
  const rawConfig = await image.rawConfig();
  await ensureBlob(ctx, manifest.config, 'config', async () => rawConfig, opts);
  const descriptor: Descriptor = { mediaType, digest, size: rawManifest.byteLength };
  await ensureBlob(ctx, descriptor, 'manifest', async () => rawManifest, opts);
  const platform = platformOf(rawConfig);
  return platform ? { ...descriptor, platform } : descriptor;
}

/** writeIndex copies `index`, every image and nested index it lists, and returns its descriptor. */
export async function writeIndex(ctx: WriteContext, index: ImageIndex, opts: WriteOptions = {}): Promise<Descriptor> {
  const [rawManifest, mediaType, digest, children] = await Promise.all([index.rawManifest(), index.mediaType(), index.digest(), index.manifests()]);
  for (const child of children) {
    opts.signal?.throwIfAborted();
    if (isIndexMediaType(child.mediaType)) {
      if (typeof index.index !== 'function') throw new TypeError(`this index source cannot open the nested index ${child.digest}`);
      await writeIndex(ctx, await index.index(child), opts);
    } else {
      await writeImage(ctx, await index.image(child), opts);
    }
  }
  const descriptor: Descriptor = { mediaType, digest, size: rawManifest.byteLength };
  await ensureBlob(ctx, descriptor, 'index', async () => rawManifest, opts);
  return descriptor;
}

/** The platform a config states (os, architecture, variant, os.version), for the index entry. */
function platformOf(rawConfig: Uint8Array): Platform | undefined {
  try {
    const c = JSON.parse(Buffer.from(rawConfig).toString('utf8')) as Record<string, unknown>;
    if (typeof c['os'] !== 'string' || typeof c['architecture'] !== 'string' || c['os'] === '' || c['architecture'] === '') return undefined;
    const p: Platform = { architecture: c['architecture'], os: c['os'] };
    if (typeof c['variant'] === 'string' && c['variant'] !== '') p.variant = c['variant'];
    if (typeof c['os.version'] === 'string' && c['os.version'] !== '') p['os.version'] = c['os.version'];
    return p;
  } catch {
    return undefined;
  }
}
