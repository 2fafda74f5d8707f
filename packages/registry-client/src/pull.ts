import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  InvalidManifestError,
  NotFoundError,
  Reference,
  formatPlatform,
  hostPlatform,
  parseImageConfig,
  parsePlatform,
  selectPlatform,
  type Descriptor,
  type Digest,
  type Platform,
} from '@stratum/oci';
import type { ClientContext } from './context.js';
import { type ProgressCallback, type ProgressEvent, emitter } from './progress.js';
import { pullBlob, syncDir } from './pull-blob.js';
import { type RemoteManifest, fetchManifest, fetchSmallBlob } from './remote.js';
import { type PullStore, storeRoot } from './store.js';
import { allOrNothing } from './tasks.js';

/** PullOptions: the options of `client.pull`. */
export interface PullOptions {
  /** The content store to pull into (`@stratum/image`'s `Store`). */
  store: PullStore;
  /** Platform to pick from a multi-platform index (default: the host's). */
  platform?: Platform | string;
  /** Per-blob progress: `waiting`, `downloading`, `verifying`, `done` or `skipped`. */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /**
   * The name to tag the image with in the store (default: the reference, normalized, without
   * digest: `127.0.0.1:5000/app:1`; a digest-only reference is not tagged). `false`: no tag.
   */
  tag?: string | false;
  /**
   * Where partial downloads live so that a later pull resumes them (default
   * `<store root>/tmp`); `false` keeps no partial files.
   */
  partialDir?: string | false;
}

/** PullResult: what `pull` stored. */
export interface PullResult {
  /** The reference pulled, normalized. */
  reference: string;
  /** Descriptor of the image manifest stored and tagged (with `platform` when picked from an index). */
  descriptor: Descriptor;
  /** The index the image was picked from, when the reference named one. */
  index?: Descriptor;
  /** The tag recorded in the store, if any. */
  tag?: string;
  /** Blobs downloaded / already present. */
  downloaded: Digest[];
  skipped: Digest[];
  /** Bytes received from the registry (resumed bytes excluded). */
  bytes: number;
}

/**
 * pullImage resolves `ref` (an index picks the platform), then fetches the config (validated
 * against the manifest) and downloads the layers, all in parallel (layers bounded by the
 * client's concurrency), into the store — skipping blobs it already has, resuming partial
 * downloads — then stores the manifest and records the tag. The first failure (a config that
 * disagrees with the manifest included) aborts the other transfers; the manifest is stored and
 * the tag recorded only once every blob is in the store.
 */
export async function pullImage(ctx: ClientContext, ref: Reference, opts: PullOptions): Promise<PullResult> {
  const store = opts.store;
  if (!store || typeof store !== 'object' || typeof store.blobs?.put !== 'function' || typeof store.blobs?.has !== 'function' || typeof store.tag !== 'function') {
    throw new TypeError('pull needs a store with blobs.put, blobs.has and tag (a @stratum/image Store)');
  }
  if (opts.tag !== undefined && opts.tag !== false && (typeof opts.tag !== 'string' || opts.tag === '')) throw new TypeError('tag must be a non-empty string or false');
  const signal = opts.signal;
  const emit = emitter(opts.onProgress);
  const wanted = opts.platform === undefined ? hostPlatform() : typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  const root = storeRoot(store);
  const partialDir = opts.partialDir === false ? undefined : (opts.partialDir ?? (root !== undefined ? join(root, 'tmp') : undefined));
  // The one-write path renames the partial file into the layout: only with the default partial dir, on the same file system.
  const layoutDir = root !== undefined && opts.partialDir === undefined && (await isLayout(root)) ? root : undefined;

  const top = await fetchManifest(ctx, ref, signal);
  let m: RemoteManifest = top;
  let index: Descriptor | undefined;
  let picked: Descriptor | undefined;
  if (top.parsed.kind === 'index') {
    index = top.descriptor;
    const candidates = top.parsed.index.manifests;
    picked = selectPlatform(candidates, wanted);
    if (!picked) {
      const offered = candidates.flatMap((d) => (d.platform ? [formatPlatform(d.platform)] : []));
      throw new NotFoundError(`platform ${formatPlatform(wanted)}`, `${ref.toString()} has no image for ${formatPlatform(wanted)} (it has: ${offered.join(', ') || 'none'})`);
    }
    m = await fetchManifest(ctx, new Reference({ registry: ref.registry, repository: ref.repository, digest: picked.digest }), signal);
    if (m.parsed.kind !== 'manifest') {
      throw new InvalidManifestError(`${picked.digest} in the index is not an image manifest`, { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: m.descriptor.mediaType });
    }
  }
  if (m.parsed.kind !== 'manifest') throw new Error('unreachable');
  const manifest = m.parsed.manifest;
  const downloaded: Digest[] = [];
  const skipped: Digest[] = [];
  let bytes = 0;

  // The config and the layers at once: the config is small and arrives long before a layer
  // could be complete; a config that disagrees with the manifest aborts the layer transfers
  // (their partial files stay for a resume, as after any abort). Nothing is tagged — and the
  // manifest, which makes the image resolvable by digest, is not stored — until all are in.
  const cfg = manifest.config;
  const layers = [...new Map(manifest.layers.map((d) => [d.digest, d])).values()];
  // Layers renamed into the layout: their directory is fsynced once for all of them.
  const renamedInto = new Set<string>();
  const configTask = async (s: AbortSignal): Promise<void> => {
    const cfgBase = { digest: cfg.digest, mediaType: cfg.mediaType, kind: 'config' as const, total: cfg.size };
    if (await store.blobs.has(cfg.digest)) {
      emit({ ...cfgBase, state: 'skipped', current: cfg.size });
      skipped.push(cfg.digest);
      return;
    }
    emit({ ...cfgBase, state: 'downloading', current: 0 });
    const raw = await fetchSmallBlob(ctx, ref.registry, ref.repository, cfg, ctx.maxConfigSize, s);
    const config = parseImageConfig(raw, { maxSize: ctx.maxConfigSize });
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new InvalidManifestError(`manifest lists ${manifest.layers.length} layers but the config ${config.rootfs.diff_ids.length} diff_ids`, { kind: 'LAYER_COUNT_MISMATCH', field: 'rootfs.diff_ids' });
    }
    emit({ ...cfgBase, state: 'verifying', current: cfg.size });
    s.throwIfAborted();
    await store.blobs.put(Readable.from([raw]), { digest: cfg.digest, size: cfg.size, mediaType: cfg.mediaType });
    bytes += raw.byteLength;
    downloaded.push(cfg.digest);
    emit({ ...cfgBase, state: 'done', current: cfg.size });
  };
  for (const d of layers) emit({ digest: d.digest, mediaType: d.mediaType, kind: 'layer', state: 'waiting', current: 0, total: d.size });
  await allOrNothing(
    [
      configTask,
      ...layers.map((d) => async (s: AbortSignal) => {
        const base = { digest: d.digest, mediaType: d.mediaType, kind: 'layer' as const, total: d.size };
        await ctx.limiter.run(async () => {
          if (await store.blobs.has(d.digest)) {
            emit({ ...base, state: 'skipped', current: d.size });
            skipped.push(d.digest);
            return;
          }
          let current = 0;
          let lastEmit = -Infinity;
          let resumedFrom: number | undefined;
          const tick = (force: boolean): void => {
            if (force || current - lastEmit >= 256 * 1024 || current === d.size) {
              lastEmit = current;
              const e: ProgressEvent = { ...base, state: 'downloading', current };
              if (resumedFrom !== undefined) e.resumedFrom = resumedFrom;
              emit(e);
            }
          };
          await pullBlob(
            { registry: ref.registry, repository: ref.repository, digest: d.digest, size: d.size, mirrors: ctx.mirrors(ref.registry) },
            {
              transport: ctx.transport,
              retry: ctx.retry,
              store,
              layoutDir,
              partialDir,
              signal: s,
              mediaType: d.mediaType,
              onResume: (n) => {
                resumedFrom = n;
                current = n;
              },
              onBytes: (n) => {
                current += n;
                bytes += n;
                tick(false);
              },
              onVerifying: () => {
                tick(true);
                emit({ ...base, state: 'verifying', current: d.size });
              },
              deferDirSync: (dir) => renamedInto.add(dir),
            },
          );
          downloaded.push(d.digest);
          emit({ ...base, state: 'done', current: d.size });
        }, s);
      }),
    ],
    signal,
  );

  const descriptor: Descriptor = { ...m.descriptor, ...(picked?.platform ? { platform: picked.platform } : {}) };
  signal?.throwIfAborted();
  // The layers' renames are durable before the manifest (which makes the image resolvable by digest) appears.
  await Promise.all([...renamedInto].map((dir) => syncDir(dir)));
  await store.blobs.put(Readable.from([Buffer.from(m.raw)]), { digest: descriptor.digest, size: descriptor.size, mediaType: descriptor.mediaType });
  let tag: string | undefined;
  if (opts.tag !== false) {
    tag = opts.tag ?? (ref.tag !== undefined ? `${ref.name}:${ref.tag}` : undefined);
    if (tag !== undefined) await store.tag(tag, descriptor);
  }
  return {
    reference: ref.toString(),
    descriptor,
    ...(index ? { index } : {}),
    ...(tag !== undefined ? { tag } : {}),
    downloaded,
    skipped,
    bytes,
  };
}

/** isLayout: the directory is an OCI image layout (it has the `oci-layout` file). */
async function isLayout(dir: string): Promise<boolean> {
  try {
    await access(join(dir, 'oci-layout'));
    return true;
  } catch {
    return false;
  }
}
