import type { Readable } from 'node:stream';
import { decompressLayer, detectCompression as detectLayerCompression, UnsupportedLayerError, type Compression } from '@stratum/layer';
import { InvalidArchiveError } from './errors.js';
import { translateStreamError } from './stream-errors.js';

export type { Compression };

/** ArchiveInput: an archive given as a file path, a `Readable`, or any async iterable of bytes. */
export type ArchiveInput = string | Readable | AsyncIterable<Uint8Array>;

/** The read size for archive files. */
export const readChunk = 256 * 1024;

/**
 * detectCompression names the compression of an archive (or a layer member) from its first
 * bytes; xz, bzip2 and lz4 are refused with {@link InvalidArchiveError} `UNSUPPORTED_COMPRESSION`.
 */
export function detectCompression(head: Uint8Array, path?: string): Compression {
  try {
    return detectLayerCompression(head);
  } catch (err) {
    if (err instanceof UnsupportedLayerError) {
      throw new InvalidArchiveError('UNSUPPORTED_COMPRESSION', `${path ?? 'archive'} is ${err.feature}-compressed; only plain, gzip and zstd tars are read`, {
        ...(path ? { path } : {}),
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * openArchiveStream opens an archive input as the bytes of the (uncompressed) tar: gzip (what
 * `docker save | gzip` and `docker load` accept) and zstd are decompressed on the fly, detected
 * by magic bytes; xz and bzip2 are refused ({@link InvalidArchiveError}
 * `UNSUPPORTED_COMPRESSION`). A broken compressed stream errors with `InvalidArchiveError`
 * (`TRUNCATED`, `NOT_A_TAR`) once translated by the consumer ({@link translateStreamError}).
 * Destroying the stream closes the input.
 */
export async function openArchiveStream(input: ArchiveInput, signal?: AbortSignal): Promise<Readable> {
  try {
    return await decompressLayer(input, { signal });
  } catch (err) {
    throw translateStreamError(err);
  }
}
