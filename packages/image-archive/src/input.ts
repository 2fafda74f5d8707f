import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidArchiveError } from './errors.js';

/** ArchiveInput: an archive given as a file path, a `Readable`, or any async iterable of bytes. */
export type ArchiveInput = string | Readable | AsyncIterable<Uint8Array>;

/** Compression: what the magic bytes of a stream say it is. */
export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

/** detectCompression reads the magic bytes at the start of `head`. */
export function detectCompression(head: Uint8Array): Compression {
  const is = (...m: number[]): boolean => head.length >= m.length && m.every((b, i) => head[i] === b);
  if (is(0x1f, 0x8b)) return 'gzip';
  if (is(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (is(0x42, 0x5a, 0x68)) return 'bzip2';
  return 'none';
}

export const readChunk = 1 << 20;

/** unsupportedCompression is the error for an xz, bzip2 or zstd archive. */
export function unsupportedCompression(c: Compression): InvalidArchiveError {
  return new InvalidArchiveError('UNSUPPORTED_COMPRESSION', `archive is ${c}-compressed; only plain and gzip-compressed tars are read (decompress it first)`);
}

function asIterable(input: ArchiveInput, signal?: AbortSignal): AsyncIterable<Uint8Array> {
  if (typeof input === 'string') return createReadStream(input, { highWaterMark: readChunk, ...(signal ? { signal } : {}) });
  return input;
}

/**
 * openArchiveStream opens an archive input as the bytes of the (uncompressed) tar: a gzip input
 * is decompressed on the fly (what `docker load` accepts besides plain tar); xz, bzip2 and zstd
 * are refused with {@link InvalidArchiveError} `UNSUPPORTED_COMPRESSION`. The returned stream
 * owns the input: destroying it closes the file.
 */
export async function openArchiveStream(input: ArchiveInput, signal?: AbortSignal): Promise<{ stream: Readable; compression: Compression }> {
  const it = asIterable(input, signal)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
    head.push(b);
    have += b.length;
  }
  const first = Buffer.concat(head);
  const compression = detectCompression(first);
  async function* all(): AsyncGenerator<Uint8Array> {
    try {
      yield* head;
      if (!done) for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return?.();
    }
  }
  const raw = Readable.from(all(), { objectMode: false, highWaterMark: readChunk });
  if (compression === 'none') return { stream: raw, compression };
  if (compression !== 'gzip') {
    raw.destroy();
    throw unsupportedCompression(compression);
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  raw.on('error', (err) => gunzip.destroy(err));
  gunzip.on('close', () => raw.destroy());
  raw.pipe(gunzip);
  return { stream: gunzip, compression };
}
