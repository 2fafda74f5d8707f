import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '@stratum/oci';

/**
 * PullStore is what `pull` needs of a content store: `@stratum/image`'s `Store` fits (its
 * `blobs.put` verifies digest and size before a blob becomes visible, atomically). Declared
 * structurally so that any store with these members works.
 */
export interface PullStore {
  blobs: {
    has(digest: Digest): Promise<boolean>;
    put(stream: Readable | AsyncIterable<Uint8Array>, expected?: { digest?: Digest | string; size?: number; mediaType?: string }): Promise<Descriptor>;
  };
  tag(ref: string, descriptor: Descriptor): Promise<unknown>;
  /** The store's root directory: partial downloads are kept in `<root>/tmp/` for resume. */
  readonly root?: string;
  readonly dir?: string;
  readonly path?: string;
}

/** storeRoot finds the root directory of a store, if it tells one. */
export function storeRoot(store: PullStore): string | undefined {
  for (const k of ['root', 'dir', 'path'] as const) {
    const v = (store as unknown as Record<string, unknown>)[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}
