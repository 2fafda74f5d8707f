import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import type { Image, Layer } from '@stratum/oci';
import { UnionPathError } from '../errors.js';
import { DirLayer } from './dir-layer.js';
import type { EntryType, LayerEntry, ViewLayer } from './layer.js';
import { Lru } from './lru.js';
import type { UnionStats } from './stats.js';
import { TarLayer } from './tar-layer.js';

/** UnionLayerSource: a layer of a {@link UnionView}: a directory, a layer tar file (plain, gzip or zstd), or an image `Layer` of @stratum/oci. */
export type UnionLayerSource = string | Layer;

/** UnionViewOptions: the options of {@link UnionView.open}. */
export interface UnionViewOptions {
  /** Aborts the indexing of layer tars. */
  signal?: AbortSignal;
}

/** UnionDirent: one name of {@link UnionView.readdir} with `withFileTypes`, shaped like `fs.Dirent`. */
export interface UnionDirent {
  name: string;
  type: EntryType;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** UnionWalkEntry: what {@link UnionView.walk} yields: an absolute view path and its lstat. */
export interface UnionWalkEntry {
  path: string;
  stats: UnionStats;
}

/** One layer's part of a merged directory. */
interface Part {
  layer: number;
  entry: LayerEntry;
}

/** A resolved name: a directory merged from the layers that have it, or a non-directory of one layer. */
type Node = { kind: 'dir'; parts: Part[] } | { kind: 'leaf'; part: Part };

const MAX_SYMLINKS = 40;

function isLayer(x: unknown): x is Layer {
  return x !== null && typeof x === 'object' && typeof (x as Layer).uncompressed === 'function';
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function dirent(name: string, type: EntryType): UnionDirent {
  return {
    name,
    type,
    isFile: () => type === 'file',
    isDirectory: () => type === 'directory',
    isSymbolicLink: () => type === 'symlink',
  };
}

/**
 * UnionView is a read-only view of a stack of layers — layer directories or layer tars, TOP
 * FIRST (index 0 hides what is below it, as overlay's lowerdir) — merged in userspace the way
 * overlayfs merges them: no mount, no root, no unpacking. A name comes from the topmost layer
 * that has it; directories merge down to the first layer whose copy is opaque or a non-directory;
 * whiteouts (OCI `.wh.NAME` in tars and directories, 0/0 character devices in overlay-form
 * directories) and opaque markers (`.wh..wh..opq`, `trusted.`/`user.overlay.opaque=y`) hide what
 * is below. Symlinks are resolved inside the view as if it were `/` (absolute targets and `..`
 * never leave it), with Linux's limit of 40 links.
 *
 * Methods mirror `fs.promises` (stat, lstat, readdir, readFile, readlink, realpath) plus
 * `createReadStream` and `walk`; failures are {@link UnionPathError}s whose `code` is the errno
 * name Node would use (ENOENT, ENOTDIR, EISDIR, ELOOP, EINVAL). The layers must not change while
 * viewed (directory listings are cached). Use: read `/etc/os-release` of an image without
 * unpacking it (`UnionView.fromImage(image)`).
 */
export class UnionView implements AsyncDisposable {
  readonly #layers: ViewLayer[];
  readonly #dirs = new Lru<string, Node & { kind: 'dir' }>(8192);
  readonly #root: Node & { kind: 'dir' };
  #closed = false;

  private constructor(layers: ViewLayer[]) {
    this.#layers = layers;
    // Every layer's root merges: overlayfs ignores an opaque marker on a layer's root directory.
    this.#root = { kind: 'dir', parts: layers.map((l, i) => ({ layer: i, entry: l.root })) };
  }

  /**
   * open makes a view of `layers`, top first: each a directory, a layer tar file (compression
   * detected from its bytes) or an image Layer. Tars are read once now to index them (their
   * bytes are read again only for file contents); directories are read as needed. Rejects with
   * TypeError for bad arguments, UnionPathError ENOENT for a missing path, and @stratum/layer's
   * CorruptLayerError / InvalidLayerEntryError for a broken tar.
   */
  static async open(layers: readonly UnionLayerSource[], opts: UnionViewOptions = {}): Promise<UnionView> {
    if (!Array.isArray(layers)) throw new TypeError('UnionView.open: layers must be an array (top first) of directories, layer tar files or image Layers');
    const made: ViewLayer[] = [];
    try {
      const opened = await Promise.all(
        layers.map(async (l, i): Promise<ViewLayer> => {
          let v: ViewLayer;
          if (isLayer(l)) v = await TarLayer.index({ layer: l, name: `layer ${i}` }, opts.signal);
          else if (typeof l === 'string' && l !== '') {
            const p = resolvePath(l);
            const st = statSync(p, { throwIfNoEntry: false });
            if (!st) throw new UnionPathError('ENOENT', 'open', l);
            v = st.isDirectory() ? new DirLayer(p) : await TarLayer.index({ path: p }, opts.signal);
          } else throw new TypeError(`UnionView.open: layers[${i}] must be a directory, a tar file path or an image Layer`);
          made.push(v);
          return v;
        }),
      );
      return new UnionView(opened);
    } catch (e) {
      for (const v of made) v.close();
      throw e;
    }
  }

  /** fromImage views an image's layers (an @stratum/oci `Image`: manifest order is bottom first, reversed here). Nothing is unpacked; each layer is read once to index it. */
  static async fromImage(image: Image, opts: UnionViewOptions = {}): Promise<UnionView> {
    const layers = await image.layers();
    return UnionView.open([...layers].reverse(), opts);
  }

  /** The layers, top first: a `directory` (its path) or a `tar` (its path, or `layer N` for an image Layer). */
  get layers(): ReadonlyArray<{ kind: 'directory' | 'tar'; source: string }> {
    return this.#layers.map((l) => ({ kind: l.kind, source: l.source }));
  }

  #check(): void {
    if (this.#closed) throw new Error('UnionView is closed');
  }

  #child(dir: Node & { kind: 'dir' }, name: string): Node | undefined {
    let top: Node | undefined;
    const parts: Part[] = [];
    for (const p of dir.parts) {
      const layer = this.#layers[p.layer]!;
      const listing = layer.list(p.entry);
      const e = listing.entries.get(name);
      if (e === undefined) {
        if (listing.whiteouts.has(name)) break;
        continue;
      }
      if (e.type !== 'directory') {
        // A non-directory on top is the answer; below a directory it ends the merge.
        if (parts.length === 0) top = { kind: 'leaf', part: { layer: p.layer, entry: e } };
        break;
      }
      parts.push({ layer: p.layer, entry: e });
      if (layer.list(e).opaque) break;
    }
    if (parts.length > 0) return { kind: 'dir', parts };
    return top;
  }

  #dirAt(stack: readonly string[]): Node & { kind: 'dir' } {
    let cur = this.#root;
    let path = '';
    for (const c of stack) {
      path += `/${c}`;
      const hit = this.#dirs.get(path);
      if (hit) {
        cur = hit;
        continue;
      }
      const next = this.#child(cur, c);
      if (next?.kind !== 'dir') throw new Error(`union view: ${path} is no longer a directory`);
      this.#dirs.set(path, next);
      cur = next;
    }
    return cur;
  }

  // Resolves `path` inside the view as openat2(RESOLVE_IN_ROOT) would: `..` stops at the root,
  // absolute symlink targets restart at the root. `follow`: follow a symlink in the last
  // component too. Returns the node and its canonical (symlink-free) path.
  #resolve(path: unknown, follow: boolean, syscall: string): { node: Node; path: string } {
    this.#check();
    if (typeof path !== 'string') throw new TypeError(`UnionView.${syscall}: path must be a string`);
    const given = path;
    let todo = components(path);
    if (path.endsWith('/') && todo.length > 0) follow = true;
    const stack: string[] = [];
    let cur = this.#root;
    let links = 0;
    let i = 0;
    // Fast path: a cached parent directory.
    if (!todo.includes('..') && todo.length > 1) {
      const parent = this.#dirs.get(`/${todo.slice(0, -1).join('/')}`);
      if (parent) {
        cur = parent;
        stack.push(...todo.slice(0, -1));
        i = todo.length - 1;
      }
    }
    while (i < todo.length) {
      const c = todo[i++]!;
      if (c === '..') {
        stack.pop();
        cur = this.#dirAt(stack);
        continue;
      }
      const node = this.#child(cur, c);
      if (node === undefined) throw new UnionPathError('ENOENT', syscall, given);
      const last = i === todo.length;
      if (node.kind === 'leaf' && node.part.entry.type === 'symlink' && (!last || follow)) {
        if (++links > MAX_SYMLINKS) throw new UnionPathError('ELOOP', syscall, given);
        const target = this.#layers[node.part.layer]!.readlink(node.part.entry);
        if (target === '') throw new UnionPathError('ENOENT', syscall, given);
        if (target.startsWith('/')) {
          stack.length = 0;
          cur = this.#root;
        }
        todo = [...components(target), ...todo.slice(i)];
        i = 0;
        continue;
      }
      if (last) {
        if (path.endsWith('/') && node.kind !== 'dir') throw new UnionPathError('ENOTDIR', syscall, given);
        stack.push(c);
        if (node.kind === 'dir') this.#dirs.set(`/${stack.join('/')}`, node);
        return { node, path: `/${stack.join('/')}` };
      }
      if (node.kind !== 'dir') throw new UnionPathError('ENOTDIR', syscall, given);
      stack.push(c);
      this.#dirs.set(`/${stack.join('/')}`, node);
      cur = node;
    }
    return { node: cur, path: `/${stack.join('/')}` };
  }

  #stat(node: Node): UnionStats {
    const p = node.kind === 'dir' ? node.parts[0] : node.part;
    // An empty view's root: no layer at all.
    if (!p) throw new UnionPathError('ENOENT', 'stat', '/');
    return this.#layers[p.layer]!.stat(p.entry, p.layer);
  }

  /** stat returns the metadata of `path`, following symlinks (inside the view). Like `fs.promises.stat`. */
  async stat(path: string): Promise<UnionStats> {
    return this.#stat(this.#resolve(path, true, 'stat').node);
  }

  /** lstat returns the metadata of `path` itself (a symlink is not followed). Like `fs.promises.lstat`. */
  async lstat(path: string): Promise<UnionStats> {
    return this.#stat(this.#resolve(path, false, 'lstat').node);
  }

  /** exists tells whether `path` resolves (following symlinks); false for whited-out names. */
  async exists(path: string): Promise<boolean> {
    try {
      this.#resolve(path, true, 'exists');
      return true;
    } catch (e) {
      if (e instanceof UnionPathError) return false;
      throw e;
    }
  }

  /** realpath returns the canonical view path of `path`: symlinks resolved inside the view, no `.` or `..`. Like `fs.promises.realpath`. */
  async realpath(path: string): Promise<string> {
    return this.#resolve(path, true, 'realpath').path;
  }

  /** readlink returns a symlink's target as stored (EINVAL for a non-symlink). Like `fs.promises.readlink`. */
  async readlink(path: string): Promise<string> {
    const { node } = this.#resolve(path, false, 'readlink');
    if (node.kind !== 'leaf' || node.part.entry.type !== 'symlink') throw new UnionPathError('EINVAL', 'readlink', path);
    return this.#layers[node.part.layer]!.readlink(node.part.entry);
  }

  #names(dir: Node & { kind: 'dir' }): Map<string, EntryType> {
    const seen = new Map<string, EntryType | null>();
    for (const p of dir.parts) {
      const listing = this.#layers[p.layer]!.list(p.entry);
      for (const [name, e] of listing.entries) if (!seen.has(name)) seen.set(name, e.type);
      // A whiteout hides the name below; a name already seen above stays.
      for (const name of listing.whiteouts) if (!seen.has(name)) seen.set(name, null);
    }
    const out = new Map<string, EntryType>();
    for (const name of [...seen.keys()].sort()) {
      const t = seen.get(name);
      if (t) out.set(name, t);
    }
    return out;
  }

  /** readdir lists a directory (following symlinks to it), names sorted, whiteouts applied. Like `fs.promises.readdir`. */
  async readdir(path: string): Promise<string[]>;
  async readdir(path: string, opts: { withFileTypes: true }): Promise<UnionDirent[]>;
  async readdir(path: string, opts: { withFileTypes?: boolean } = {}): Promise<string[] | UnionDirent[]> {
    const { node } = this.#resolve(path, true, 'readdir');
    if (node.kind !== 'dir') throw new UnionPathError('ENOTDIR', 'readdir', path);
    const names = this.#names(node);
    if (opts.withFileTypes) return [...names].map(([n, t]) => dirent(n, t));
    return [...names.keys()];
  }

  #file(path: string, syscall: string): Node & { kind: 'leaf' } {
    const { node } = this.#resolve(path, true, syscall);
    if (node.kind === 'dir') throw new UnionPathError('EISDIR', syscall, path);
    if (node.part.entry.type !== 'file') throw new UnionPathError('EINVAL', syscall, path);
    return node;
  }

  /**
   * createReadStream streams a file's bytes (following symlinks). Path errors are thrown at once
   * (not emitted), as UnionPathError; EINVAL for a device or FIFO. Constant memory; for a
   * compressed tar layer the tar is read again up to the member.
   */
  createReadStream(path: string, opts: { signal?: AbortSignal } = {}): Readable {
    const node = this.#file(path, 'createReadStream');
    return this.#layers[node.part.layer]!.open(node.part.entry, opts.signal);
  }

  /** readFile reads a whole file (following symlinks): a Buffer, or a string with an encoding. Like `fs.promises.readFile`. */
  async readFile(path: string): Promise<Buffer>;
  async readFile(path: string, encoding: BufferEncoding): Promise<string>;
  async readFile(path: string, opts: { encoding?: BufferEncoding; signal?: AbortSignal }): Promise<Buffer | string>;
  async readFile(path: string, opts?: BufferEncoding | { encoding?: BufferEncoding; signal?: AbortSignal }): Promise<Buffer | string> {
    const o = typeof opts === 'string' ? { encoding: opts } : (opts ?? {});
    const node = this.#file(path, 'readFile');
    const chunks: Buffer[] = [];
    for await (const c of this.#layers[node.part.layer]!.open(node.part.entry, o.signal)) chunks.push(Buffer.from(c as Uint8Array));
    const buf = Buffer.concat(chunks);
    return o.encoding ? buf.toString(o.encoding) : buf;
  }

  /**
   * walk yields every entry below `path` (default `/`), depth first, names sorted, a directory
   * before what it holds, without following symlinks: `{ path, stats }` with absolute view paths.
   * The start directory itself is not yielded.
   */
  async *walk(path = '/', opts: { signal?: AbortSignal } = {}): AsyncGenerator<UnionWalkEntry> {
    const start = this.#resolve(path, true, 'walk');
    if (start.node.kind !== 'dir') throw new UnionPathError('ENOTDIR', 'walk', path);
    yield* this.#walkDir(start.node, start.path === '/' ? '' : start.path, opts.signal);
  }

  async *#walkDir(dir: Node & { kind: 'dir' }, at: string, signal: AbortSignal | undefined): AsyncGenerator<UnionWalkEntry> {
    signal?.throwIfAborted();
    for (const name of this.#names(dir).keys()) {
      const node = this.#child(dir, name)!;
      const p = `${at}/${name}`;
      yield { path: p, stats: this.#stat(node) };
      if (node.kind === 'dir') yield* this.#walkDir(node, p, signal);
    }
  }

  /** close releases the directory descriptors; the view cannot be used afterwards. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const l of this.#layers) l.close();
    this.#dirs.clear();
  }

  /** Same as {@link UnionView.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
