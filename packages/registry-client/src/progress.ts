import type { Digest, MediaTypeString } from '@stratum/oci';

/**
 * BlobState: where one blob of a pull or push is.
 * - `waiting`: queued behind the concurrency limit;
 * - `downloading` / `uploading`: bytes are moving (`current` of `total`);
 * - `verifying`: every byte arrived; the digest is being checked and the blob committed;
 * - `done`: transferred and verified;
 * - `skipped`: already there (in the store on pull; in the registry on push);
 * - `mounted`: the registry linked it from another repository (push, cross-repo mount).
 */
export type BlobState = 'waiting' | 'downloading' | 'uploading' | 'verifying' | 'done' | 'skipped' | 'mounted';

/**
 * ProgressEvent is one update about one blob, fit for a progress bar keyed by `digest`:
 * `current` bytes of `total` (the blob's size from its descriptor). Events of one blob arrive
 * in state order; `downloading`/`uploading` repeat as bytes move (at most every 64 KiB or so);
 * every blob ends with exactly one of `done`, `skipped` or `mounted` unless the operation fails.
 */
export interface ProgressEvent {
  digest: Digest;
  mediaType: MediaTypeString;
  /** `config`, `layer`, or `manifest` (an index's child manifests on push, the manifest on pull). */
  kind: 'config' | 'layer' | 'manifest';
  state: BlobState;
  current: number;
  total: number;
  /** Bytes taken from a partial download left by an earlier attempt (resume), on pull. */
  resumedFrom?: number;
}

/** ProgressCallback receives {@link ProgressEvent}s; it must not throw (errors are ignored). */
export type ProgressCallback = (event: ProgressEvent) => void;

/** emitter wraps a user callback so that a throwing callback never breaks a transfer. */
export function emitter(cb: ProgressCallback | undefined): ProgressCallback {
  if (cb === undefined) return () => {};
  if (typeof cb !== 'function') throw new TypeError('onProgress must be a function');
  return (e) => {
    try {
      cb(e);
    } catch {
      // ignored by contract
    }
  };
}
