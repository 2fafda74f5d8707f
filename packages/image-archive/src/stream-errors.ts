import { InvalidArchiveError } from './errors.js';

/**
 * translateStreamError turns a zlib error from decompressing an archive (corrupt or cut-short
 * gzip) into {@link InvalidArchiveError} (`TRUNCATED` or `NOT_A_TAR`); other errors pass through.
 */
export function translateStreamError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    const kind = code === 'Z_BUF_ERROR' ? 'TRUNCATED' : 'NOT_A_TAR';
    return new InvalidArchiveError(kind, `archive's gzip stream is ${kind === 'TRUNCATED' ? 'cut short' : 'corrupt'}: ${(err as Error).message}`, { cause: err });
  }
  return err;
}
