import { DigestMismatchError, type Digest } from '@stratum/oci';
import { RegistryError } from './errors.js';
import { chunksOf, discard } from './http/body.js';
import { Backoff, type ResolvedRetryPolicy, wait } from './http/retry.js';
import { type Transport, contentLength, headerOf, isTransportError } from './http/transport.js';
import { scopeFor } from './auth/authenticator.js';

/** BlobLocation: where a blob is fetched from. */
export interface BlobLocation {
  registry: string;
  repository: string;
  digest: Digest;
  /** Expected size, when a descriptor gave it (checked against what the registry declares). */
  size?: number | undefined;
  /** Registries tried first, in order, for the first response (mirrors); `registry` is last. */
  mirrors?: string[] | undefined;
}

/** BlobFetchOptions: how {@link blobChunks} fetches. */
export interface BlobFetchOptions {
  /** Start at this byte (resume); bytes before it are not produced. */
  offset?: number;
  signal?: AbortSignal | undefined;
  /** Called once with the total size when the first response tells it. */
  onTotal?: (total: number) => void;
}

/** Bytes of a body held while the consumer is busy before the connection is paused. */
const bodyBuffer = 1024 * 1024;

/** Thrown inside the loop when a body ended before its declared length (never escapes). */
class ShortBody extends Error {}

function parseContentRange(v: string | undefined): { start: number; end: number; total?: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(v);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), ...(m[3] !== '*' ? { total: Number(m[3]) } : {}) };
}

/**
 * blobChunks yields the bytes of a blob from `offset` on, surviving broken transfers: when the
 * body stops short (reset, truncated, wrong `Content-Length`), it asks again with
 * `Range: bytes=N-` and continues where it stopped; a registry that ignores `Range` (200
 * instead of 206) is read from the start and the bytes already produced are skipped. Retries
 * follow the client's policy (bounded in count and time). It does NOT verify the digest: the
 * consumer hashes what it receives (a store `put`, a {@link DigestingStream}), which covers
 * every resumed segment because the bytes arrive in order exactly once.
 */
export async function* blobChunks(transport: Transport, retry: ResolvedRetryPolicy, loc: BlobLocation, options: BlobFetchOptions = {}): AsyncGenerator<Buffer> {
  let offset = options.offset ?? 0;
  let total = loc.size;
  let announced = false;
  const backoff = new Backoff(retry);
  const path = `/v2/${loc.repository}/blobs/${loc.digest}`;
  let endpoints = [...(loc.mirrors ?? []), loc.registry];
  for (;;) {
    const signal = options.signal;
    const headers: Record<string, string> = { accept: '*/*' };
    if (offset > 0) headers['range'] = `bytes=${offset}-`;
    const res = await firstAnswer(endpoints, signal, (registry) =>
      transport.send({
        registry,
        repository: loc.repository,
        method: 'GET',
        path,
        headers,
        scopes: [scopeFor(loc.repository, ['pull'])],
        expect: offset > 0 ? [200, 206] : [200],
        signal,
      }).then((r) => {
        endpoints = [registry]; // resume where the bytes came from
        return r;
      }),
    );
    let skip = 0;
    const declared = contentLength(res.headers);
    if (res.status === 206) {
      const range = parseContentRange(headerOf(res.headers, 'content-range'));
      if (!range || range.start !== offset || (total !== undefined && range.total !== undefined && range.total !== total)) {
        discard(res.body);
        // A range we did not ask for: start over rather than splice bytes that may not fit.
        throw new RegistryError(206, 'GET', res.url, {
          errors: [{ code: 'RANGE_INVALID', message: `asked for bytes ${offset}- and got ${headerOf(res.headers, 'content-range') ?? 'no Content-Range'}` }],
          temporary: false,
        });
      }
      total ??= range.total;
    } else {
      skip = offset; // the whole blob again: drop what was already produced
      if (declared !== undefined) {
        if (total !== undefined && declared !== total) {
          // The registry announces other bytes than the descriptor: refused before reading them.
          discard(res.body);
          throw new DigestMismatchError({ digest: loc.digest, size: total }, { size: declared });
        }
        total ??= declared;
      }
    }
    if (!announced && total !== undefined) {
      announced = true;
      options.onTotal?.(total);
    }
    try {
      for await (const chunk of chunksOf(res.body, bodyBuffer)) {
        let c = chunk;
        if (skip > 0) {
          if (c.byteLength <= skip) {
            skip -= c.byteLength;
            continue;
          }
          c = c.subarray(skip);
          skip = 0;
        }
        if (total !== undefined && offset + c.byteLength > total) {
          // More than declared: the consumer's size check fails the blob; stop reading now.
          yield c.subarray(0, total - offset + 1);
          return;
        }
        offset += c.byteLength;
        yield c;
      }
      if (total !== undefined && offset < total) throw new ShortBody(`body ended at byte ${offset} of ${total}`);
      return;
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (!(err instanceof ShortBody) && !isTransportError(err)) throw err;
      const delay = backoff.next();
      if (delay === undefined) {
        throw new RegistryError(res.status, 'GET', res.url, {
          errors: [{ code: 'BODY_INCOMPLETE', message: `the transfer of ${loc.digest} broke at byte ${offset}${total !== undefined ? ` of ${total}` : ''} and could not be resumed` }],
          temporary: true,
          cause: err,
        });
      }
      await wait(delay, signal);
    }
  }
}

/**
 * firstAnswer tries `fn` on each endpoint in order (mirrors first, the registry last) and
 * returns the first success; an abort stops at once; otherwise the last endpoint's error wins.
 */
export async function firstAnswer<T>(endpoints: string[], signal: AbortSignal | undefined, fn: (endpoint: string) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const [i, e] of endpoints.entries()) {
    try {
      return await fn(e);
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      last = err;
      if (i === endpoints.length - 1) throw err;
    }
  }
  throw last;
}
