/**
 * Unpacking an image into a directory: every layer applied in order by @stratum/layer's
 * `applyLayer` (loaded when first needed, so that importing the store never loads the native
 * addon the layer applier uses).
 */
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DigestMismatchError, StratumError, type Digest, type Image, type Platform } from '@stratum/oci';

/** UnpackOptions: the options of `store.unpack` (passed on to `applyLayer`). */
export interface UnpackOptions {
  /** The platform to pick when the ref names an index (default: the host's). */
  platform?: Platform | string;
  /** Whiteout form written into `dir`: `oci` applies them to a flat directory (default), `overlay` for an overlay upper dir. */
  whiteouts?: 'oci' | 'overlay';
  /** Running without root: device nodes skipped, ownership kept as xattrs where asked. */
  rootless?: boolean;
  /** Keep setuid/setgid bits (default false). */
  keepSetuid?: boolean;
  /** Create device nodes (default false). */
  keepDevices?: boolean;
  /** Where overlay xattrs go in `overlay` mode (`trusted.` or `user.`). */
  xattrPrefix?: string;
  signal?: AbortSignal;
  /** Called before each layer is applied (index from the bottom, blob digest, layer count). */
  onLayer?: (event: { index: number; digest: Digest; count: number }) => void;
}

/** UnpackResult: what `store.unpack` applied. */
export interface UnpackResult {
  /** The directory, as given. */
  dir: string;
  /** Blob digests of the layers applied, bottom first. */
  layers: Digest[];
  /** What `applyLayer` returned for each layer. */
  results: unknown[];
}

type ApplyLayer = (source: Readable, root: string, opts?: Record<string, unknown>) => Promise<unknown>;

/**
 * unpackImage applies every layer of `image` into `dir` (created if needed), bottom first.
 * When `applyLayer` reports the diffID it computed, it must match the config's
 * ({@link DigestMismatchError} otherwise).
 */
export async function unpackImage(image: Image, dir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const layerModule = (await import('@stratum/layer')) as unknown as { applyLayer?: ApplyLayer };
  const applyLayer = layerModule.applyLayer;
  if (typeof applyLayer !== 'function') throw new StratumError('UNSUPPORTED', 'unpack needs applyLayer from @stratum/layer, which this build lacks');
  const layers = await image.layers();
  const { platform: _platform, onLayer, ...applyOptions } = options;
  await mkdir(dir, { recursive: true });
  const digests: Digest[] = [];
  const results: unknown[] = [];
  for (const [index, layer] of layers.entries()) {
    options.signal?.throwIfAborted();
    const digest = await layer.digest();
    onLayer?.({ index, digest, count: layers.length });
    const result = await applyLayer(await layer.compressed(options.signal ? { signal: options.signal } : {}), dir, { whiteouts: 'oci', ...applyOptions });
    const computed = (result as { diffID?: unknown } | undefined)?.diffID;
    const expected = await layer.diffID();
    if (typeof computed === 'string' && computed !== expected) throw new DigestMismatchError({ digest: expected }, { digest: computed });
    digests.push(digest);
    results.push(result);
  }
  return { dir, layers: digests, results };
}
