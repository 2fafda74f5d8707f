import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { CHUNK_SIZE, FilterExitError, decompressor, detectCompression, type Compression } from './compression.js';
import { CorruptLayerError } from './errors.js';

/** LayerSource: where layer bytes come from: a file path, a `Readable`, or any `AsyncIterable<Uint8Array>`. */
export type LayerSource = string | Readable | AsyncIterable<Uint8Array>;

/** The size of reads from a layer file. */
const READ_SIZE = 1024 * 1024;

/** An opened layer: its uncompressed bytes as chunks, and how many compressed bytes were consumed. */
export interface OpenedLayer {
  compression: Compression;
  /** Uncompressed tar bytes. Decompression failures surface here as {@link CorruptLayerError}. Iterate once. */
  chunks: AsyncIterable<Uint8Array>;
  /** Bytes of the source consumed so far (compressed). */
  readonly sourceBytes: number;
}

/** checkSource throws TypeError unless `source` is a path, a Readable or an async iterable. */
export function checkSource(source: unknown, fn: string): asserts source is LayerSource {
  if (typeof source === 'string') {
    if (source === '') throw new TypeError(`${fn}: source path must not be empty`);
    return;
  }
  if (source !== null && typeof source === 'object' && typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return;
  throw new TypeError(`${fn}: source must be a file path, a Readable or an AsyncIterable<Uint8Array>`);
}

function iterate(source: LayerSource): AsyncIterable<Uint8Array> {
  return typeof source === 'string' ? createReadStream(source, { highWaterMark: READ_SIZE }) : source;
}

/**
 * abortable yields what `it` yields until `signal` aborts; then it rejects with the signal's
 * reason at once (even while a read is pending) and closes the iterator.
 */
export async function* abortable<T>(it: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (!signal) {
    yield* it;
    return;
  }
  signal.throwIfAborted();
  const iter = it[Symbol.asyncIterator]();
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  let clean = false;
  try {
    for (;;) {
      const r = await Promise.race([iter.next(), aborted]);
      if (r.done) {
        clean = true;
        return;
      }
      yield r.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // A pending next() of a stalled source would make an awaited return() hang: don't wait.
    if (!clean) void Promise.resolve(iter.return?.()).catch(() => {});
  }
}

/**
 * openLayer reads the first bytes of `source`, names its compression by magic bytes and returns
 * the uncompressed chunks (gzip through node:zlib, zstd through the `zstd` executable or
 * node:zlib where it has zstd). Decompression errors become {@link CorruptLayerError} with the
 * compressed offset reached; errors of the source itself (ENOENT, a network reset) pass through.
 */
export async function openLayer(source: LayerSource, opts: { signal?: AbortSignal } = {}): Promise<OpenedLayer> {
  // Before a path is opened: a file stream made and never read would report its errors to nobody.
  opts.signal?.throwIfAborted();
  const iter = abortable(iterate(source), opts.signal)[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLen = 0;
  let ended = false;
  try {
    while (headLen < 6) {
      const r = await iter.next();
      if (r.done) {
        ended = true;
        break;
      }
      const c = r.value;
      if (!(c instanceof Uint8Array)) throw new TypeError('layer source yielded a chunk that is not a Uint8Array');
      head.push(c);
      headLen += c.length;
    }
  } catch (e) {
    await iter.return?.(undefined);
    throw e;
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  let compression: Compression;
  try {
    compression = detectCompression(first);
  } catch (e) {
    await iter.return?.(undefined);
    throw e;
  }
  let consumed = 0;
  async function* raw(): AsyncGenerator<Uint8Array> {
    try {
      if (first.length) {
        consumed += first.length;
        yield first;
      }
      if (ended) return;
      for (;;) {
        const r = await iter.next();
        if (r.done) return;
        consumed += r.value.length;
        yield r.value;
      }
    } finally {
      await iter.return?.(undefined);
    }
  }
  const opened = (chunks: AsyncIterable<Uint8Array>): OpenedLayer => ({
    compression,
    chunks,
    get sourceBytes() {
      return consumed;
    },
  });
  if (compression === 'none') return opened(raw());
  const z = decompressor(compression);
  const format = compression;
  // Errors of the source reach `z` through pipeline; the callback only keeps them from being reported twice.
  pipeline(raw(), z, () => {});
  async function* decompressed(): AsyncGenerator<Uint8Array> {
    try {
      for await (const c of z) yield c as Uint8Array;
    } catch (e) {
      throw toCorrupt(e, format, consumed);
    } finally {
      z.destroy();
    }
  }
  return opened(decompressed());
}

function toCorrupt(e: unknown, format: 'gzip' | 'zstd', at: number): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new CorruptLayerError(format, at, (e as Error).message, { cause: e });
  }
  if (e instanceof FilterExitError) return new CorruptLayerError(format, at, e.message, { cause: e });
  return e;
}

/**
 * decompressLayer returns the uncompressed tar of a layer as a `Readable`: the compression
 * (gzip, zstd or none) is detected from the first bytes, not from a media type. The stream
 * errors with {@link CorruptLayerError} (`format` 'gzip' or 'zstd', the compressed offset) when
 * the compressed data is broken or truncated; destroying it releases the source (the file is
 * closed, the zstd process ended). Rejects at once with {@link UnsupportedLayerError} for bzip2/xz/lz4.
 * Constant memory. Like `zcat -f`.
 */
export async function decompressLayer(source: LayerSource, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
  checkSource(source, 'decompressLayer');
  const layer = await openLayer(source, opts);
  return Readable.from(layer.chunks, { objectMode: false, highWaterMark: CHUNK_SIZE });
}
