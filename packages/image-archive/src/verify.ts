import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { createDigester, DigestMismatchError, digestAlgorithm, type Digest, type Digester } from '@stratum/oci';
import { DiffIDMismatchError } from './errors.js';

/**
 * Verifier passes bytes through while hashing them and fails at the end when they do not hash to
 * `expected`: with {@link DiffIDMismatchError} for a layer's uncompressed tar (`layer` given),
 * else with `DigestMismatchError`. Bytes beyond `size`, when given, fail at once.
 */
class Verifier extends Transform {
  readonly #d: Digester;
  readonly #expected: Digest;
  readonly #size: number | undefined;
  readonly #layer: { index: number; path?: string } | undefined;

  constructor(expected: Digest, size: number | undefined, layer: { index: number; path?: string } | undefined) {
    super({ highWaterMark: 256 * 1024 });
    this.#d = createDigester(digestAlgorithm(expected));
    this.#expected = expected;
    this.#size = size;
    this.#layer = layer;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#size !== undefined && this.#d.size + chunk.length > this.#size) {
      cb(new DigestMismatchError({ digest: this.#expected, size: this.#size }, { size: this.#d.size + chunk.length }));
      return;
    }
    this.#d.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const size = this.#d.size;
    const actual = this.#d.digest();
    if (actual === this.#expected && (this.#size === undefined || size === this.#size)) return cb();
    if (this.#layer) return cb(new DiffIDMismatchError(this.#expected, actual, this.#layer));
    cb(new DigestMismatchError({ digest: this.#expected, ...(this.#size !== undefined ? { size: this.#size } : {}) }, { digest: actual, size }));
  }
}

/**
 * verified returns `source` checked against `expected` (and `size`): the returned stream errors
 * at its end when the bytes differ — {@link DiffIDMismatchError} when `layer` says which layer
 * the bytes are the uncompressed tar of. Destroying the result destroys the source.
 */
export function verified(source: Readable, expected: Digest, opts: { size?: number; layer?: { index: number; path?: string } } = {}): Readable {
  const v = new Verifier(expected, opts.size, opts.layer);
  pipeline(source, v, () => {});
  return v;
}
