import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Layer } from '@stratum/oci';
import {
  InvalidLayerEntryError,
  OPAQUE_WHITEOUT,
  TarParser,
  WHITEOUT_META_PREFIX,
  WHITEOUT_PREFIX,
  cleanName,
  decompressLayer,
  detectCompression,
  readTar,
  type SparseSegment,
  type TarEntry,
} from '@stratum/layer';
import type { EntryType, LayerEntry, Listing, ViewLayer } from './layer.js';
import { UnionStats } from './stats.js';

/** Where a file's bytes are in the (uncompressed) tar. */
interface DataRef {
  /** Offset of the member's first header: how a re-read recognises it. */
  header: number;
  /** Offset of its data (direct reads of an uncompressed tar file). */
  start: number;
  size: number;
  sparse: SparseSegment[] | undefined;
}

interface TarNode extends LayerEntry {
  type: EntryType;
  perm: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  data?: DataRef;
  // directories
  entries?: Map<string, TarNode>;
  whiteouts?: Set<string>;
  opaque?: boolean;
}

const TYPES: Partial<Record<TarEntry['type'], EntryType>> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  char: 'char',
  block: 'block',
  fifo: 'fifo',
};

function implicitDir(): TarNode {
  // What an extractor makes for a parent the archive does not list.
  return { type: 'directory', perm: 0o755, uid: 0, gid: 0, size: 0, mtimeMs: 0, linkname: '', devmajor: 0, devminor: 0, entries: new Map(), whiteouts: new Set(), opaque: false };
}

function metaOf(e: TarEntry, type: EntryType): Omit<TarNode, 'data' | 'entries' | 'whiteouts' | 'opaque'> {
  return {
    type,
    perm: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    size: type === 'file' ? e.size : type === 'symlink' ? Buffer.byteLength(e.linkname) : 0,
    mtimeMs: e.mtime.sec * 1000 + Math.floor(e.mtime.nsec / 1e6),
    linkname: type === 'symlink' ? e.linkname : '',
    devmajor: e.devmajor,
    devminor: e.devminor,
  };
}

/** Where a tar layer's bytes come from: a file (compressed or not) or an image Layer. */
export type TarSource = { path: string } | { layer: Layer; name: string };

/**
 * TarLayer is a layer tar (plain, gzip or zstd; a file or an image `Layer`) indexed in memory:
 * one pass at open records every member's metadata and where its data is, applying OCI
 * whiteouts (`.wh.NAME`: hides NAME of the layers below; `.wh..wh..opq`: hides everything below
 * in that directory) the way an extractor would, hard links as the inode they name, implicit
 * parents as 0755 root directories. Member names are cleaned (`..` clamped at the root), so
 * nothing in the tar can point outside the view. File bytes are read back on demand: straight
 * from an uncompressed tar file, else by reading the tar again up to the member.
 */
export class TarLayer implements ViewLayer {
  readonly kind = 'tar' as const;
  readonly source: string;
  readonly root: TarNode = implicitDir();
  readonly #src: TarSource;
  #plain = false;

  private constructor(src: TarSource) {
    this.#src = src;
    this.source = 'path' in src ? src.path : src.name;
  }

  /** index reads the whole tar once. Rejects with CorruptLayerError/InvalidLayerEntryError of @stratum/layer for a broken tar. */
  static async index(src: TarSource, signal: AbortSignal | undefined): Promise<TarLayer> {
    signal?.throwIfAborted();
    const t = new TarLayer(src);
    if ('path' in src) t.#plain = compressionOf(src.path) === 'none';
    const stream = 'path' in src ? await decompressLayer(src.path, { signal }) : await src.layer.uncompressed({ signal });
    let failed: unknown;
    const parser: TarParser = new TarParser({
      entry: (e) => {
        try {
          t.#add(e, parser.offset);
        } catch (err) {
          failed ??= err;
        }
      },
      data: () => {},
      endEntry: () => {},
    });
    try {
      for await (const chunk of stream) {
        signal?.throwIfAborted();
        parser.write(chunk as Uint8Array);
        if (failed !== undefined) throw failed;
      }
      parser.end();
    } finally {
      stream.destroy();
    }
    return t;
  }

  #dir(parts: readonly string[]): TarNode {
    let cur = this.root;
    for (const p of parts) {
      let next = cur.entries!.get(p);
      if (!next || next.type !== 'directory') {
        next = implicitDir();
        cur.entries!.set(p, next);
      }
      cur = next;
    }
    return cur;
  }

  #find(path: string): TarNode | undefined {
    let cur: TarNode | undefined = this.root;
    for (const p of path.split('/')) {
      if (!cur?.entries) return undefined;
      cur = cur.entries.get(p);
    }
    return cur;
  }

  #add(e: TarEntry, dataStart: number): void {
    const { path } = cleanName(e.name);
    if (path === '') {
      if (e.type === 'directory') Object.assign(this.root, metaOf(e, 'directory'));
      return;
    }
    const parts = path.split('/');
    const base = parts.pop()!;
    const parent = this.#dir(parts);
    if (base === OPAQUE_WHITEOUT) {
      parent.opaque = true;
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // aufs metadata (.wh..wh.plnk …)
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const target = base.slice(WHITEOUT_PREFIX.length);
      if (target !== '' && target !== '.' && target !== '..') parent.whiteouts!.add(target);
      return;
    }
    if (e.type === 'link') {
      const target = this.#find(cleanName(e.linkname).path);
      if (!target || target.type === 'directory') throw new InvalidLayerEntryError(e.name, e.offset, `hard link to ${JSON.stringify(e.linkname)}, which is not a non-directory of this layer`);
      parent.entries!.set(base, { ...target });
      return;
    }
    const type = TYPES[e.type];
    if (type === undefined) return; // 'unsupported' members are skipped, as applyLayer does
    const have = parent.entries!.get(base);
    if (type === 'directory') {
      if (have?.type === 'directory') Object.assign(have, metaOf(e, 'directory'));
      else parent.entries!.set(base, { ...metaOf(e, 'directory'), entries: new Map(), whiteouts: new Set(), opaque: false });
      return;
    }
    const node: TarNode = metaOf(e, type);
    if (type === 'file') node.data = { header: e.offset, start: dataStart, size: e.size, sparse: e.sparse };
    parent.entries!.set(base, node);
  }

  list(dir: LayerEntry): Listing {
    const d = dir as TarNode;
    return { entries: d.entries!, whiteouts: d.whiteouts!, opaque: d.opaque! };
  }

  stat(e: LayerEntry, layer: number): UnionStats {
    const n = e as TarNode;
    return new UnionStats({ type: n.type, perm: n.perm, uid: n.uid, gid: n.gid, size: n.size, mtimeMs: n.mtimeMs, rdevMajor: n.devmajor, rdevMinor: n.devminor, layer });
  }

  readlink(e: LayerEntry): string {
    return (e as TarNode).linkname;
  }

  open(e: LayerEntry, signal: AbortSignal | undefined): Readable {
    const d = (e as TarNode).data!;
    if (d.size === 0) return Readable.from([]);
    if ('path' in this.#src && this.#plain && !d.sparse) {
      return createReadStream(this.#src.path, { start: d.start, end: d.start + d.size - 1, signal });
    }
    return Readable.from(this.#extract(d, signal), { objectMode: false });
  }

  async *#extract(d: DataRef, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    const src = 'path' in this.#src ? this.#src.path : await this.#src.layer.uncompressed({ signal });
    for await (const m of readTar(src, { signal })) {
      if (m.offset !== d.header) continue;
      if (d.sparse) yield* expandSparse(m.data, d.sparse, d.size);
      else yield* m.data as AsyncIterable<Uint8Array>;
      return;
    }
    throw new Error(`${this.source}: the member at offset ${d.header} is gone (the layer changed since it was opened)`);
  }

  close(): void {
    // Nothing held: the tar is reopened for each read.
  }
}

function compressionOf(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const n = readSync(fd, head, 0, 8, 0);
    return detectCompression(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

const ZEROS = new Uint8Array(64 * 1024);

function* zeros(n: number): Generator<Uint8Array> {
  while (n > 0) {
    const k = Math.min(n, ZEROS.length);
    yield ZEROS.subarray(0, k);
    n -= k;
  }
}

/** expandSparse turns the data segments of a sparse member back into the whole file (holes as zeros). */
async function* expandSparse(data: AsyncIterable<Uint8Array>, segments: readonly SparseSegment[], size: number): AsyncGenerator<Uint8Array> {
  const it = data[Symbol.asyncIterator]();
  let buf: Uint8Array = new Uint8Array(0);
  let pos = 0;
  for (const seg of segments) {
    if (seg.offset > pos) {
      yield* zeros(seg.offset - pos);
      pos = seg.offset;
    }
    let need = seg.length;
    while (need > 0) {
      if (buf.length === 0) {
        const r = await it.next();
        if (r.done) throw new Error('sparse member data ended early');
        buf = r.value;
      }
      const k = Math.min(need, buf.length);
      yield buf.subarray(0, k);
      buf = buf.subarray(k);
      need -= k;
      pos += k;
    }
  }
  if (size > pos) yield* zeros(size - pos);
}
