import type { Readable } from 'node:stream';
import type { Store } from '@stratum/image';
import type { Descriptor, Digest, Image, ImageIndex, Layer, Platform } from '@stratum/oci';

/**
 * ArchiveStore is what the archive functions need of a content store. `@stratum/image`'s `Store`
 * fits; it is declared structurally so that any store with these members works.
 */
export interface ArchiveStore {
  /** The store's root directory (temporary files go to `<root>/tmp/`). */
  readonly root: string;
  blobs: {
    /** Writes a blob, verified against `expected`, atomically. */
    put(source: Readable | AsyncIterable<Uint8Array> | Uint8Array, expected?: { digest?: Digest; size?: number; mediaType?: string }): Promise<Descriptor>;
    /** A new stream of a blob. */
    get(digest: Digest, opts?: { signal?: AbortSignal }): Readable;
    has(digest: Digest): Promise<boolean>;
  };
  /** Points `ref` at `desc` (atomic). */
  tag(ref: string, desc: Descriptor): Promise<unknown>;
  /** The descriptor a ref (or a manifest digest) names; rejects with NotFoundError. */
  resolve(ref: string): Promise<Descriptor>;
  /** Every ref of the store. */
  list(): Promise<Array<{ ref: string; descriptor: Descriptor }>>;
  /** The image a ref names (an index ref selects the platform). */
  image(ref: string, opts?: { platform?: Platform | string }): Promise<Image>;
  /** A Layer over a blob already in the store. */
  layer(descriptor: Descriptor, diffID: Digest): Layer;
  /** Copies an image or index in (layers first, skipping present blobs, each verified), then tags `ref` if given. */
  write(source: Image | ImageIndex, ref?: string | string[], opts?: { signal?: AbortSignal }): Promise<Descriptor>;
}

/** Compile-time proof that `@stratum/image`'s Store is an {@link ArchiveStore} (never called). */
export function storeFits(store: Store): ArchiveStore {
  return store;
}
