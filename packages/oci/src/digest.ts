import { createHash, type Hash } from 'node:crypto';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DigestMismatchError, InvalidDigestError } from './errors.js';

/** Digest is a validated `algorithm:hex` string such as `sha256:e3b0…`. */
export type Digest = string & { readonly __digest?: never };

/** digestAlgorithms: the algorithms the OCI image spec registers, with the hex length of their encoding. */
export const digestAlgorithms = { sha256: 64, sha512: 128 } as const;
/** DigestAlgorithm: `sha256` or `sha512`. */
export type DigestAlgorithm = keyof typeof digestAlgorithms;

/**
 * parseDigest validates `s` as an OCI digest (`sha256:` + 64 lowercase hex, `sha512:` + 128)
 * and returns it typed. Throws {@link InvalidDigestError} for anything else, never another error.
 */
export function parseDigest(s: string): Digest {
  if (typeof s !== 'string') throw new InvalidDigestError(String(s), 'not a string');
  const colon = s.indexOf(':');
  if (colon < 0) throw new InvalidDigestError(s, 'missing algorithm prefix');
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  const length = (digestAlgorithms as Record<string, number>)[algorithm];
  if (!Object.hasOwn(digestAlgorithms, algorithm) || length === undefined) {
    throw new InvalidDigestError(s, `unsupported algorithm ${JSON.stringify(algorithm.slice(0, 40))}`);
  }
  if (hex.length !== length) throw new InvalidDigestError(s, `${algorithm} needs ${length} hex characters`);
  if (!/^[0-9a-f]+$/.test(hex)) throw new InvalidDigestError(s, 'encoded part must be lowercase hex');
  return s as Digest;
}

/** isDigest tells whether `s` parses as a digest, without throwing. */
export function isDigest(s: unknown): s is Digest {
  try {
    parseDigest(s as string);
    return true;
  } catch {
    return false;
  }
}

/** digestAlgorithm returns the algorithm part of a (valid) digest. */
export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

/** digestHex returns the encoded part of a (valid) digest: the file name under `blobs/ALG/`. */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** Digester hashes bytes incrementally; `digest()` may be called once, at the end. */
export interface Digester {
  readonly algorithm: DigestAlgorithm;
  update(chunk: Uint8Array): void;
  /** Bytes seen so far. */
  readonly size: number;
  /** Finishes the hash. Calling it twice throws. */
  digest(): Digest;
}

/** createDigester starts a streaming hash (`sha256` by default). */
export function createDigester(algorithm: DigestAlgorithm = 'sha256'): Digester {
  if (!Object.hasOwn(digestAlgorithms, algorithm)) throw new TypeError(`unsupported digest algorithm ${String(algorithm)}`);
  const hash: Hash = createHash(algorithm);
  let size = 0;
  return {
    algorithm,
    update(chunk) {
      hash.update(chunk);
      size += chunk.byteLength;
    },
    get size() {
      return size;
    },
    digest() {
      return `${algorithm}:${hash.digest('hex')}` as Digest;
    },
  };
}

/** digestBytes hashes a whole buffer or string (UTF-8) at once. */
export function digestBytes(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/** Expectation: the expected content of a stream, a digest, a size, or both. */
export interface Expectation {
  digest?: Digest | string;
  size?: number;
}

/**
 * DigestingStream passes bytes through unchanged while hashing and counting them. When an
 * expectation is given it refuses bytes beyond the expected size at once, and at the end fails
 * with {@link DigestMismatchError} if the digest or size differ — so a consumer that sees `end`
 * has seen verified bytes. `digest`/`size` are final after `end`.
 */
export class DigestingStream extends Transform {
  readonly #digester: Digester;
  readonly #expected: Expectation | undefined;
  #digest: Digest | undefined;

  constructor(expected?: Expectation, algorithm?: DigestAlgorithm) {
    super();
    const alg = algorithm ?? (expected?.digest ? (digestAlgorithm(parseDigest(expected.digest)) as DigestAlgorithm) : 'sha256');
    this.#digester = createDigester(alg);
    this.#expected = expected;
  }

  /** The digest of everything that passed; rejects use before the stream ended. */
  get digest(): Digest {
    if (this.#digest === undefined) throw new Error('DigestingStream: digest read before end of stream');
    return this.#digest;
  }

  /** Bytes passed so far. */
  get size(): number {
    return this.#digester.size;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const limit = this.#expected?.size;
    if (limit !== undefined && this.#digester.size + chunk.byteLength > limit) {
      cb(new DigestMismatchError({ ...this.#expected }, { size: this.#digester.size + chunk.byteLength }));
      return;
    }
    this.#digester.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.#digest = this.#digester.digest();
    const e = this.#expected;
    if (e?.size !== undefined && e.size !== this.#digester.size) {
      cb(new DigestMismatchError({ ...e }, { digest: this.#digest, size: this.#digester.size }));
      return;
    }
    if (e?.digest !== undefined && e.digest !== this.#digest) {
      cb(new DigestMismatchError({ ...e }, { digest: this.#digest, size: this.#digester.size }));
      return;
    }
    cb();
  }
}

/**
 * verifyStream wraps `source` so that the returned stream errors with
 * {@link DigestMismatchError} when its bytes do not match `expected` (checked at the end, and
 * at once for bytes beyond the expected size). The two are joined with `pipeline`: an error of
 * `source` reaches the returned stream, and destroying the returned stream destroys `source`
 * (no leaked file descriptor or socket). Consumers that stop reading early (a tar reader at the
 * end-of-archive blocks) call {@link drainAndVerify} to check the rest.
 */
export function verifyStream(source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, expected: Expectation): DigestingStream {
  const v = new DigestingStream(expected);
  // Errors travel through `v` itself; the callback only keeps pipeline from reporting them twice.
  pipeline(source as AsyncIterable<Uint8Array>, v, () => {});
  return v;
}

/**
 * drainAndVerify reads whatever is left of a {@link DigestingStream} (discarding it), waits for
 * its end and returns the final digest and size; rejects with {@link DigestMismatchError} when
 * the content does not match. Use it after a consumer stopped early, so that trailing bytes are
 * verified too. Idempotent once the stream ended.
 */
export async function drainAndVerify(stream: DigestingStream): Promise<{ digest: Digest; size: number }> {
  if (stream.errored) throw stream.errored;
  if (!stream.readableEnded) {
    const done = finished(stream, { readable: true, writable: false });
    stream.resume();
    await done;
  }
  return { digest: stream.digest, size: stream.size };
}

/** digestStream consumes a stream and returns its digest and size. */
export async function digestStream(
  source: AsyncIterable<Uint8Array>,
  algorithm: DigestAlgorithm = 'sha256',
): Promise<{ digest: Digest; size: number }> {
  const d = createDigester(algorithm);
  for await (const chunk of source) d.update(chunk);
  return { digest: d.digest(), size: d.size };
}
