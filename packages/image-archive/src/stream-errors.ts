import { CorruptLayerError, UnsupportedLayerError } from '@stratum/layer';
import { InvalidArchiveError } from './errors.js';

/**
 * translateStreamError turns an error of decompressing an archive (corrupt or cut-short gzip or
 * zstd, an unsupported compression) into {@link InvalidArchiveError}; other errors pass through.
 */
export function translateStreamError(err: unknown): unknown {
  if (err instanceof UnsupportedLayerError) {
    return new InvalidArchiveError('UNSUPPORTED_COMPRESSION', `archive compression is not supported: ${err.message}`, { cause: err });
  }
  if (err instanceof CorruptLayerError) {
    const cause = (err.cause as { code?: unknown } | undefined)?.code;
    const kind = cause === 'Z_BUF_ERROR' || /unexpected end/i.test(err.reason) ? 'TRUNCATED' : 'NOT_A_TAR';
    return new InvalidArchiveError(kind, `archive's compressed stream is broken: ${err.message}`, { cause: err });
  }
  return err;
}
