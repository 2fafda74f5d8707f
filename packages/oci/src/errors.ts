/**
 * StratumError is the base of every error Stratum throws on purpose. Callers match `code`
 * (stable across versions) or `instanceof`, never the message.
 */
export class StratumError extends Error {
  /** Stable machine-readable code, e.g. `DIGEST_MISMATCH`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** InvalidDigestError: a string is not a valid `algorithm:hex` digest. */
export class InvalidDigestError extends StratumError {
  readonly input: string;
  readonly reason: string;
  constructor(input: string, reason: string) {
    super('INVALID_DIGEST', `invalid digest ${JSON.stringify(truncate(input))}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** DigestMismatchError: bytes did not hash (or count) to what was expected. Nothing was kept. */
export class DigestMismatchError extends StratumError {
  readonly expected: { digest?: string; size?: number };
  readonly actual: { digest?: string; size?: number };
  constructor(expected: { digest?: string; size?: number }, actual: { digest?: string; size?: number }) {
    const what =
      expected.size !== undefined && actual.size !== undefined && expected.size !== actual.size
        ? `size ${actual.size}, expected ${expected.size}`
        : `digest ${actual.digest ?? '?'}, expected ${expected.digest ?? '?'}`;
    super('DIGEST_MISMATCH', `content mismatch: ${what}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** InvalidReferenceError: an image reference does not follow Docker's grammar. */
export class InvalidReferenceError extends StratumError {
  readonly input: string;
  readonly reason: string;
  constructor(input: string, reason: string) {
    super('INVALID_REFERENCE', `invalid reference ${JSON.stringify(truncate(input))}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** InvalidPlatformError: a platform string is not `os/arch[/variant]`. */
export class InvalidPlatformError extends StratumError {
  readonly input: string;
  constructor(input: string, reason: string) {
    super('INVALID_PLATFORM', `invalid platform ${JSON.stringify(truncate(input))}: ${reason}`);
    this.input = input;
  }
}

/** InvalidManifestError: a manifest, index or config is not what its media type promises. */
export class InvalidManifestError extends StratumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_MANIFEST', message, options);
  }
}

/** NotFoundError: a blob, manifest or ref does not exist in the source asked. */
export class NotFoundError extends StratumError {
  readonly what: string;
  constructor(what: string, message?: string) {
    super('NOT_FOUND', message ?? `not found: ${what}`);
    this.what = what;
  }
}

function truncate(s: string): string {
  return typeof s === 'string' && s.length > 300 ? `${s.slice(0, 300)}…` : s;
}
