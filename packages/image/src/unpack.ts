/**
 * Unpacking an image into a directory: every layer applied in order by @stratum/layer's
 * `applyLayer` (loaded when first needed, so that importing the store never loads the native
 * addon the layer applier uses).
 */
import type { ApplyOptions, ApplyResult } from '@stratum/layer';
import type { Digest, Image, Platform } from '@stratum/oci';

/**
 * UnpackOptions: the options of `store.unpack` — those of `applyLayer` (`whiteouts`, default
 * `'oci'` for a flat directory; `rootless`; `keepSetuid` (default true here); `keepDevices`
 * (default true as root); `xattrPrefix`;
 * `strict`; `signal`), the platform to pick from an index, and a per-layer callback.
 */
export interface UnpackOptions extends Omit<ApplyOptions, 'diffID' | 'onProgress' | 'forceFallback'> {
  /** The platform to pick when the ref names an index (default: the host's). */
  platform?: Platform | string;
  /** Called before each layer is applied (index from the bottom, blob digest, layer count). */
  onLayer?: (event: { index: number; digest: Digest; count: number }) => void;
}

/** UnpackResult: what `store.unpack` applied. */
export interface UnpackResult {
  /** The directory, as given. */
  dir: string;
  /** Blob digests of the layers applied, bottom first. */
  layers: Digest[];
  /** What `applyLayer` returned for each layer (diffID, sizes, entries, warnings). */
  results: ApplyResult[];
}

/**
 * unpackImage applies every layer of `image` into `dir` (created if needed), bottom first, each
 * checked against the config's diffID (`DigestMismatchError` otherwise). On failure what was
 * applied stays: discard the directory.
 */
export async function unpackImage(image: Image, dir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const { applyLayer } = await import('@stratum/layer');
  const layers = await image.layers();
  const { platform: _platform, onLayer, ...applyOptions } = options;
  const digests: Digest[] = [];
  const results: ApplyResult[] = [];
  for (const [index, layer] of layers.entries()) {
    options.signal?.throwIfAborted();
    const digest = await layer.digest();
    onLayer?.({ index, digest, count: layers.length });
    const source = await layer.compressed(options.signal ? { signal: options.signal } : {});
    // A rootfs keeps what the image holds (setuid programs like su, device nodes when root can
    // make them), as `umoci unpack` and Docker do; applyLayer alone drops them unless asked.
    const keep = { keepSetuid: true, keepDevices: !(applyOptions.rootless ?? process.getuid?.() !== 0) };
    results.push(await applyLayer(source, dir, { whiteouts: 'oci', ...keep, ...applyOptions, diffID: await layer.diffID() }));
    digests.push(digest);
  }
  return { dir, layers: digests, results };
}
