import { createReadStream, openSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import {
  DigestMismatchError,
  NotFoundError,
  createDigester,
  digestAlgorithm,
  digestAlgorithms,
  digestHex,
  parseDigest,
  type Descriptor,
  type Digest,
  type DigestAlgorithm,
  type MediaTypeString,
} from '@stratum/oci';
import { isErrno, syncDir } from './fsutil.js';
import { EarlyWriteback } from './writeback.js';
import type { Leases } from './lease.js';
import { tempName } from './owner.js';

/** BlobSource: what `blobs.put` takes — a stream, any async iterable of bytes, or bytes. */
export type BlobSource = Readable | AsyncIterable<Uint8Array> | Uint8Array;

/** BlobExpectation: what the caller knows of a blob before it is written; every field is checked. */
export interface BlobExpectation {
  /** The digest the bytes must have (its algorithm is the one used; default sha256). */
  digest?: Digest | string;
  /** The exact size; a source that runs longer is stopped at once. */
  size?: number;
  /** The media type of the returned descriptor (default `application/octet-stream`). */
  mediaType?: MediaTypeString;
}

/** PutOptions: the options of `blobs.put`. */
export interface PutOptions {
  signal?: AbortSignal;
  /** Called with the number of bytes written so far, about every MiB and at the end. */
  onProgress?: (bytes: number) => void;
}

/** BlobStat: a blob's digest and size, as `blobs.stat` finds it. */
export interface BlobStat {
  digest: Digest;
  size: number;
}

const MiB = 1024 * 1024;
/** Bytes gathered into one `writev` (one write in flight while the next batch is hashed). */
const batchBytes = MiB;
/** A `datasync` is started every this many bytes so that the final one has little left to flush. */
const syncEvery = 32 * MiB;

/**
 * BlobStore is the content-addressed half of a store: the files `blobs/<alg>/<hex>` of an OCI
 * image layout. A blob exists exactly when its digest-named file exists, and only a rename of a
 * fully written, verified and fsynced temp file makes one (umoci's CAS discipline), so a reader
 * never sees a blob half written, whatever happens to the writer. Get it as `store.blobs`.
 */
export class BlobStore {
  /** The layout directory (absolute). */
  readonly root: string;
  readonly #tmp: string;
  readonly #leases: Leases;

  /** @internal Made by `Store.open`. */
  constructor(root: string, tmp: string, leases: Leases) {
    this.root = root;
    this.#tmp = tmp;
    this.#leases = leases;
  }

  /**
   * path returns the absolute path of a blob's file, `<root>/blobs/<alg>/<hex>`, whether or not
   * it exists. Throws `InvalidDigestError` for a malformed digest (no path outside `blobs/`
   * can come out of it).
   */
  path(digest: Digest | string): string {
    const d = parseDigest(digest);
    return join(this.root, 'blobs', digestAlgorithm(d), digestHex(d));
  }

  /**
   * put writes a blob: it hashes (and counts) the bytes while writing them to a temp file in
   * `<root>/tmp/`, checks them against `expected` (a size overrun stops at once), fsyncs, and
   * renames the file to its digest name, then fsyncs the directory. Returns the blob's
   * descriptor. Atomic and idempotent: on any failure — {@link DigestMismatchError}, a source
   * error, an abort — the temp file is removed and nothing appears in `blobs/`; two writers of
   * the same blob (threads or processes) both succeed and leave one good copy (same bytes, last
   * rename wins). Constant memory. Like `umoci`'s blob writes; the store, not the caller,
   * computes the digest.
   */
  async put(source: BlobSource, expected: BlobExpectation = {}, opts: PutOptions = {}): Promise<Descriptor> {
    const want = checkExpectation(expected);
    const algorithm: DigestAlgorithm = want.digest !== undefined ? digestAlgorithm(want.digest) : 'sha256';
    opts.signal?.throwIfAborted();
    const tmp = join(this.#tmp, tempName('put'));
    let fh: FileHandle | undefined;
    let release: (() => void) | undefined;
    let placed = false;
    let src: AsyncIterable<unknown> | Iterable<unknown> | undefined;
    try {
      fh = await open(tmp, 'wx', 0o644);
      const hasher = createDigester(algorithm);
      let position = 0;
      let batch: Uint8Array[] = [];
      let batchLength = 0;
      let pending: Promise<unknown> = Promise.resolve();
      let reported = 0;
      const file = fh;
      // Writeback while the bytes come: the fsync before the rename then has little left to flush.
      const wb = new EarlyWriteback(file, syncEvery);
      const flush = async (): Promise<void> => {
        if (batchLength === 0) return;
        await pending; // one write in flight while the next batch is hashed
        pending = file.writev(batch, position);
        position += batchLength;
        wb.wrote(batchLength, pending);
        batch = [];
        batchLength = 0;
        if (opts.onProgress && position - reported >= MiB) {
          reported = position;
          opts.onProgress(position);
        }
      };
      const input = source instanceof Uint8Array ? [source] : opts.signal ? addAbortSignal(opts.signal, source instanceof Readable ? source : Readable.from(source)) : source;
      src = input;
      for await (const piece of input) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : (piece as Uint8Array);
        if (want.size !== undefined && hasher.size + chunk.byteLength > want.size) {
          throw new DigestMismatchError({ ...want }, { size: hasher.size + chunk.byteLength });
        }
        hasher.update(chunk);
        batch.push(chunk);
        batchLength += chunk.byteLength;
        if (batchLength >= batchBytes) await flush();
      }
      await flush();
      await pending;
      await wb.settle();
      const digest = hasher.digest();
      const size = hasher.size;
      if ((want.size !== undefined && want.size !== size) || (want.digest !== undefined && want.digest !== digest)) {
        throw new DigestMismatchError({ ...want }, { digest, size });
      }
      opts.signal?.throwIfAborted();
      await fh.datasync();
      await fh.close();
      fh = undefined;
      // Leased before it becomes visible: a gc of another process that lists it sees the lease.
      release = await this.#leases.hold([digest]);
      const dir = join(this.root, 'blobs', algorithm);
      await mkdir(dir, { recursive: true });
      // Renamed even over an existing copy: identical bytes, and the file is surely there now.
      await rename(tmp, join(dir, digestHex(digest)));
      placed = true;
      await syncDir(dir);
      if (opts.onProgress && reported !== size) opts.onProgress(size);
      return { mediaType: expected.mediaType ?? 'application/octet-stream', digest, size };
    } catch (err) {
      if (src instanceof Readable && !src.destroyed) src.destroy();
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      throw err;
    } finally {
      release?.();
      await fh?.close().catch(() => {});
      if (!placed) await unlink(tmp).catch(() => {});
    }
  }

  /**
   * get opens a blob for reading and returns its stream. Throws {@link NotFoundError} at once
   * (synchronously) when the blob is absent. The store trusts its own digest-named files (only
   * a verified rename makes one); `store.verify()` re-hashes them. Like `skopeo`'s blob reads
   * from an `oci:` layout.
   */
  get(digest: Digest | string, opts: { signal?: AbortSignal } = {}): Readable {
    const path = this.path(digest);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) throw new NotFoundError(String(digest), `blob ${digest} is not in the store at ${this.root}`);
      throw err;
    }
    return createReadStream(path, { fd, highWaterMark: 256 * 1024, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /**
   * bytes reads a small blob whole (a manifest, a config). Throws {@link NotFoundError} when
   * absent, and a `RangeError` when it is larger than `maxSize` (checked before reading).
   */
  async bytes(digest: Digest | string, maxSize: number): Promise<Uint8Array> {
    const path = this.path(digest);
    try {
      const s = await stat(path);
      if (s.size > maxSize) throw new RangeError(`blob ${digest} is ${s.size} bytes, more than the ${maxSize} allowed here`);
      return await readFile(path);
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) throw new NotFoundError(String(digest), `blob ${digest} is not in the store at ${this.root}`);
      throw err;
    }
  }

  /** has tells whether the blob exists (its digest-named file does). */
  async has(digest: Digest | string): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  /** stat returns the blob's digest and size, or undefined when it is absent. */
  async stat(digest: Digest | string): Promise<BlobStat | undefined> {
    const path = this.path(digest);
    try {
      const s = await stat(path);
      return s.isFile() ? { digest: digest as Digest, size: s.size } : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  /**
   * delete removes a blob; true when it existed. Idempotent. It does not look at refs: a blob
   * a tagged image needs is gone afterwards (`gc()` is the safe way to free space).
   */
  async delete(digest: Digest | string): Promise<boolean> {
    try {
      await unlink(this.path(digest));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return false;
      throw err;
    }
  }

  /** list yields the digest of every blob in the store (files with a valid digest name), in no order. */
  async *list(): AsyncGenerator<Digest> {
    for (const algorithm of Object.keys(digestAlgorithms) as DigestAlgorithm[]) {
      let names: string[];
      try {
        names = await readdir(join(this.root, 'blobs', algorithm));
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'ENOTDIR')) continue;
        throw err;
      }
      for (const name of names) {
        const d = `${algorithm}:${name}`;
        if (name.length === digestAlgorithms[algorithm] && /^[0-9a-f]+$/.test(name)) yield d as Digest;
      }
    }
  }
}

function checkExpectation(e: BlobExpectation): { digest?: Digest; size?: number } {
  if (typeof e !== 'object' || e === null) throw new TypeError('expected must be an object { digest?, size?, mediaType? }');
  const out: { digest?: Digest; size?: number } = {};
  if (e.digest !== undefined) out.digest = parseDigest(e.digest);
  if (e.size !== undefined) {
    if (!Number.isSafeInteger(e.size) || e.size < 0) throw new TypeError(`expected.size must be a non-negative integer, got ${String(e.size)}`);
    out.size = e.size;
  }
  if (e.mediaType !== undefined && typeof e.mediaType !== 'string') throw new TypeError('expected.mediaType must be a string');
  return out;
}
