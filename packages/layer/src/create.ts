import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { AT, O, S, fstat, openat, resolveInRoot, type Fd } from '@stratum/native';
import { DigestingStream, MediaType, type Digest, type MediaTypeString } from '@stratum/oci';
import { PAUSE, tarName, walkTrees, walkUpper, type Change, type Step } from './changes.js';
import { compressor, type Compression } from './compression.js';
import { InvalidLayerEntryError } from './errors.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeaderInput } from './tar/writer.js';
import type { OverlayXattrPrefix } from './whiteout.js';

/** LayerChange: what {@link createLayer} turns into a layer: an overlay upper directory, or the difference between two trees. */
export type LayerChange =
  | {
      /** An overlay upper directory (not mounted, or the overlay quiescent): every entry in it is a change. */
      upper: string;
      /** The overlay xattr namespace it was mounted with: `'trusted'` (default as root) or `'user'` (userxattr; default rootless). */
      xattrPrefix?: OverlayXattrPrefix;
    }
  | {
      /** The old tree; undefined: the layer holds all of `to` (a base layer). */
      from: string | undefined;
      /** The new tree. */
      to: string;
    };

/** CreateOptions: the options of {@link createLayer}. */
export interface CreateOptions {
  /** Compression of the blob (default `'gzip'`). zstd uses node:zlib where it has zstd, else the `zstd` executable. */
  compression?: Compression;
  /** Compression level: gzip 0–9 (default 6, Docker's), zstd 1–22 (default 3, the zstd CLI's). */
  level?: number;
  /**
   * Reproducible output, the SOURCE_DATE_EPOCH convention: mtimes later than `mtime` are clamped
   * to it (a number is seconds since the epoch). The tar is always sorted and free of user and
   * group names, atime and ctime, and gzip headers carry no time, so the same tree gives the same bytes.
   */
  reproducible?: { mtime: Date | number };
  /** Aborts: the stream is destroyed with the signal's reason and the promises reject with it. */
  signal?: AbortSignal;
}

/** CreatedLayer: a one-shot layer blob and what is known about it once it has been read. */
export interface CreatedLayer {
  /** The blob (compressed tar). Read it once, to the end: the promises settle then. */
  stream: Readable;
  /** Digest of the blob, computed as it streams; rejects if the stream fails or is destroyed before its end. */
  digest: Promise<Digest>;
  /** Digest of the uncompressed tar (the image config's `rootfs.diff_ids` entry), computed as it streams. */
  diffID: Promise<Digest>;
  /** Size of the blob in bytes. */
  size: Promise<number>;
  /** `application/vnd.oci.image.layer.v1.tar(+gzip|+zstd)`. */
  mediaType: MediaTypeString;
  /** The compression used. */
  compression: Compression;
}

/** The tar stream is handed on in chunks of this size (the parallel gzip's block size). */
const BATCH = 1024 * 1024;

const NS = 1_000_000_000n;

function seconds(ns: bigint): number {
  const s = ns / NS;
  return Number(ns < 0n && s * NS !== ns ? s - 1n : s);
}

/**
 * Slabs cuts the tar stream into chunks of exactly BATCH bytes (the last may be shorter): data
 * is copied, or read from files, straight into the current slab, and a full slab is handed on.
 * One allocation per MiB of tar, and the compressor gets block-aligned chunks it needs not copy.
 */
class Slabs {
  slab = Buffer.allocUnsafe(BATCH);
  pos = 0;
  readonly full: Buffer[] = [];

  #next(): void {
    this.full.push(this.slab);
    this.slab = Buffer.allocUnsafe(BATCH);
    this.pos = 0;
  }

  put(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      const n = Math.min(bytes.length - i, BATCH - this.pos);
      this.slab.set(bytes.subarray(i, i + n), this.pos);
      this.pos += n;
      i += n;
      if (this.pos === BATCH) this.#next();
    }
  }

  /** Reads `size` bytes of `fd` into the slabs; yields between slabs (a full one is in `full`). */
  *read(fd: Fd, size: number, path: string, offset: number): Generator<void, void> {
    let done = 0;
    while (done < size) {
      const n = Math.min(size - done, BATCH - this.pos);
      readFull(fd, this.slab, this.pos, n, done, path, offset);
      this.pos += n;
      done += n;
      if (this.pos === BATCH) {
        this.#next();
        yield;
      }
    }
  }

  end(): Buffer {
    return this.slab.subarray(0, this.pos);
  }
}

function header(c: Change, clamp: number | undefined, offset: number): TarHeaderInput {
  if (c.kind !== 'entry') return { name: tarName(c), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 };
  const st = c.st;
  let mtime = seconds(st.mtimeNs);
  if (clamp !== undefined && mtime > clamp) mtime = clamp;
  const base = { name: c.path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 0, mtime, xattrs: c.xattrs };
  switch (st.mode & S.IFMT) {
    case S.IFDIR:
      return { ...base, type: 'directory' };
    case S.IFREG:
      return c.linkTo !== undefined ? { ...base, type: 'link', linkname: c.linkTo } : { ...base, type: 'file', size: st.size };
    case S.IFLNK:
      return { ...base, type: 'symlink', linkname: c.target ?? '' };
    case S.IFCHR:
      return { ...base, type: 'char', devmajor: st.rdevMajor, devminor: st.rdevMinor };
    case S.IFBLK:
      return { ...base, type: 'block', devmajor: st.rdevMajor, devminor: st.rdevMinor };
    case S.IFIFO:
      return { ...base, type: 'fifo' };
    default:
      throw new InvalidLayerEntryError(c.path, offset, `cannot put a file of mode ${(st.mode >>> 0).toString(8)} into a tar`);
  }
}

// The tar bytes of a change list, with PAUSEs from the walk passed through.
function* tarBytes(change: LayerChange, clamp: number | undefined): Generator<Uint8Array | Step, void> {
  const fds: Fd[] = [];
  const open = (p: string): Fd => {
    const fd = openat(AT.FDCWD, resolve(p), O.RDONLY | O.DIRECTORY);
    fds.push(fd);
    return fd;
  };
  try {
    let root: Fd;
    let changes: Change[];
    if ('upper' in change) {
      root = open(change.upper);
      changes = yield* walkUpper(root, change.xattrPrefix ?? (process.geteuid?.() === 0 ? 'trusted' : 'user'));
    } else {
      const from = change.from === undefined ? undefined : open(change.from);
      root = open(change.to);
      changes = yield* walkTrees(from, root);
    }
    const b = new Slabs();
    let offset = 0;
    for (const c of changes) {
      const h = header(c, clamp, offset);
      const hb = encodeHeader(h);
      b.put(hb);
      offset += hb.length;
      if (h.type === 'file' && h.size > 0) {
        const size = h.size;
        using fd = resolveInRoot(root, c.path, { flags: O.RDONLY | O.NOFOLLOW });
        const st = fstat(fd);
        if (c.kind !== 'entry' || (st.mode & S.IFMT) !== S.IFREG || st.ino !== c.st.ino || st.size !== size) {
          throw new InvalidLayerEntryError(c.path, offset - hb.length, 'the file changed while the layer was being created');
        }
        for (const _ of b.read(fd, size, c.path, offset)) yield* b.full.splice(0);
        offset += size;
        const pad = padding(size);
        b.put(pad);
        offset += pad.length;
      }
      if (b.full.length) yield* b.full.splice(0);
    }
    b.put(END_OF_ARCHIVE);
    yield* b.full.splice(0);
    const last = b.end();
    if (last.length) yield last;
  } finally {
    for (const fd of fds) fd.close();
  }
}

function readFull(fd: Fd, buf: Buffer, at: number, n: number, position: number, path: string, offset: number): void {
  let got = 0;
  while (got < n) {
    const r = readSync(fd.fd, buf, at + got, n - got, position + got);
    if (r === 0) throw new InvalidLayerEntryError(path, offset, 'the file shrank while the layer was being created');
    got += r;
  }
}

function checkChange(change: unknown): asserts change is LayerChange {
  if (change === null || typeof change !== 'object') throw new TypeError('createLayer: change must be { upper } or { from, to }');
  const c = change as Record<string, unknown>;
  if ('upper' in c) {
    if (typeof c.upper !== 'string' || c.upper === '') throw new TypeError('createLayer: change.upper must be a non-empty path');
    if (c.xattrPrefix !== undefined && c.xattrPrefix !== 'trusted' && c.xattrPrefix !== 'user') throw new TypeError("createLayer: change.xattrPrefix must be 'trusted' or 'user'");
    return;
  }
  if (typeof c.to !== 'string' || c.to === '') throw new TypeError('createLayer: change.to must be a non-empty path');
  if (c.from !== undefined && (typeof c.from !== 'string' || c.from === '')) throw new TypeError('createLayer: change.from must be a non-empty path or undefined');
}

function clampOf(r: CreateOptions['reproducible']): number | undefined {
  if (r === undefined) return undefined;
  const m = r?.mtime;
  if (m instanceof Date && Number.isFinite(m.getTime())) return Math.floor(m.getTime() / 1000);
  if (typeof m === 'number' && Number.isSafeInteger(m)) return m;
  throw new TypeError('createLayer: options.reproducible.mtime must be a valid Date or integer seconds since the epoch');
}

const MEDIA: Record<Compression, MediaTypeString> = {
  none: MediaType.OciLayer,
  gzip: MediaType.OciLayerGzip,
  zstd: MediaType.OciLayerZstd,
};

/**
 * createLayer writes the layer for a change: from an overlay upper directory (its whiteouts, 0/0
 * character devices, become `.wh.NAME`; its opaque directories get `.wh..wh..opq`) or from the
 * difference of two trees (added, modified — content or metadata only —, deleted and
 * type-changed entries; hard link groups stay hard links). Like `docker commit` / `docker diff`
 * turned into a tar, or `umoci repack`.
 *
 * Returns at once; the walk starts when `stream` is first read. The output is deterministic:
 * entries sorted by name (the opaque marker first in its directory), whole-second mtimes
 * (clamped by `reproducible`), no user/group names, gzip without a timestamp. `diffID`,
 * `digest` and `size` are computed while the bytes stream through, in one pass, and settle when
 * `stream` has been read to its end (they reject if it fails or is destroyed before). Memory:
 * the change list (metadata only) plus a few MiB of buffers. Sockets are skipped; sparse files
 * are written in full.
 *
 * @example
 * const c = createLayer({ upper: '/c/upper' }, { compression: 'gzip' });
 * const desc = await store.blobs.put(c.stream, { mediaType: c.mediaType });
 * console.log(await c.diffID);
 */
export function createLayer(change: LayerChange, opts: CreateOptions = {}): CreatedLayer {
  checkChange(change);
  if (opts === null || typeof opts !== 'object') throw new TypeError('createLayer: options must be an object');
  const compression = opts.compression ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'zstd' && compression !== 'none') throw new TypeError("createLayer: options.compression must be 'gzip', 'zstd' or 'none'");
  const level = opts.level;
  if (level !== undefined) {
    const [lo, hi] = compression === 'zstd' ? [1, 22] : [0, 9];
    if (!Number.isInteger(level) || level < lo || level > hi) throw new TypeError(`createLayer: options.level must be an integer in [${lo}, ${hi}] for ${compression}`);
  }
  const clamp = clampOf(opts.reproducible);
  const signal = opts.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('createLayer: options.signal must be an AbortSignal');

  const gen = tarBytes(change, clamp);
  const diff = createHash('sha256');
  let tarSize = 0;
  let running = false; // inside pump
  let inNext = false; // inside gen.next(): the generator is executing
  let genDone = false; // the generator returned or threw (its finally blocks ran)
  const closeGen = (): void => {
    if (genDone) return;
    genDone = true;
    try {
      gen.return(undefined);
    } catch {
      // already failed: its finally ran
    }
  };
  const pump = (): void => {
    if (running || genDone || tar.destroyed) return;
    running = true;
    try {
      for (;;) {
        if (signal?.aborted) {
          tar.destroy(signal.reason as Error);
          return;
        }
        let r: IteratorResult<Uint8Array | Step, void>;
        inNext = true;
        try {
          r = gen.next();
        } catch (e) {
          genDone = true;
          tar.destroy(e as Error);
          return;
        } finally {
          inNext = false;
        }
        if (r.done) {
          genDone = true;
          tar.push(null);
          return;
        }
        if (r.value === PAUSE) {
          setImmediate(pump);
          return;
        }
        if (!(r.value instanceof Uint8Array)) {
          r.value.wait.then(pump, (e: unknown) => tar.destroy(e as Error));
          return;
        }
        diff.update(r.value);
        tarSize += r.value.length;
        if (!tar.push(r.value)) return;
      }
    } finally {
      running = false;
    }
  };
  const tar = new Readable({
    highWaterMark: BATCH,
    read: pump,
    destroy(err, cb) {
      // A generator cannot be returned while it executes (a destroy from inside it): after it yields.
      if (inNext) setImmediate(closeGen);
      else closeGen();
      cb(err);
    },
  });

  let stream: Readable;
  let result: () => { digest: Digest; diffID: Digest; size: number };
  if (compression === 'none') {
    stream = tar;
    result = () => {
      const d = `sha256:${diff.digest('hex')}` as Digest;
      return { digest: d, diffID: d, size: tarSize };
    };
  } else {
    const out = new DigestingStream();
    pipeline(tar, compressor(compression, level), out, () => {});
    stream = out;
    result = () => ({ digest: out.digest, diffID: `sha256:${diff.digest('hex')}` as Digest, size: out.size });
  }
  if (signal) {
    const onAbort = (): void => {
      stream.destroy(signal.reason as Error);
    };
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  const settled = new Promise<{ digest: Digest; diffID: Digest; size: number }>((res, rej) => {
    let ended = false;
    stream.once('end', () => {
      ended = true;
      try {
        res(result());
      } catch (e) {
        rej(e);
      }
    });
    stream.once('error', rej);
    stream.once('close', () => {
      if (!ended) rej(stream.errored ?? new Error('createLayer: the stream was destroyed before it was read to its end'));
    });
  });
  const digest = settled.then((r) => r.digest);
  const diffID = settled.then((r) => r.diffID);
  const size = settled.then((r) => r.size);
  for (const p of [settled, digest, diffID, size]) p.catch(() => {});
  return { stream, digest, diffID, size, mediaType: MEDIA[compression], compression };
}
