import type { Readable } from 'node:stream';
import type { UnionStats } from './stats.js';

/** EntryType: the kinds of entry a union view shows (Node's fs names them the same way through `isFile()` & co.). */
export type EntryType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One name in one layer, as that layer knows it. */
export interface LayerEntry {
  readonly type: EntryType;
}

/** A directory of one layer: its entries, the names it whites out below it, and whether it hides everything below it. */
export interface Listing {
  readonly entries: ReadonlyMap<string, LayerEntry>;
  readonly whiteouts: ReadonlySet<string>;
  readonly opaque: boolean;
}

/** ViewLayer: what UnionView needs from a layer, whether a directory or a tar. */
export interface ViewLayer {
  readonly kind: 'directory' | 'tar';
  /** The path given (or `oci layer N` for a Layer object). */
  readonly source: string;
  readonly root: LayerEntry;
  /** The listing of a directory entry of this layer. */
  list(dir: LayerEntry): Listing;
  /** Metadata of an entry (`layer` filled in by the caller). */
  stat(e: LayerEntry, layer: number): UnionStats;
  /** The target of a symlink entry. */
  readlink(e: LayerEntry): string;
  /** The bytes of a file entry. */
  open(e: LayerEntry, signal: AbortSignal | undefined): Readable;
  close(): void;
}
