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

/**
 * ReferenceErrorKind: which rule of the reference grammar an input broke ({@link InvalidReferenceError.kind}); stable,
 * for programs. `reason` says the same in words for people.
 */
export type ReferenceErrorKind =
  | 'INVALID_FORMAT'
  | 'NOT_A_STRING'
  | 'NAME_EMPTY'
  | 'NAME_TOO_LONG'
  | 'NAME_UPPERCASE'
  | 'NAME_IS_IDENTIFIER'
  | 'DOMAIN_INVALID'
  | 'PATH_INVALID'
  | 'TAG_EMPTY'
  | 'TAG_INVALID'
  | 'DIGEST_INVALID'
  | 'TAG_OR_DIGEST_NOT_ALLOWED';

/**
 * InvalidReferenceError: an image reference does not follow Docker's grammar. `input` is what
 * was given, `kind` the rule it broke (stable), `reason` a sentence for people.
 */
export class InvalidReferenceError extends StratumError {
  readonly input: string;
  readonly reason: string;
  readonly kind: ReferenceErrorKind;
  constructor(input: string, reason: string, kind: ReferenceErrorKind = 'INVALID_FORMAT') {
    super('INVALID_REFERENCE', `invalid reference ${JSON.stringify(truncate(input))}: ${reason}`);
    this.input = input;
    this.reason = reason;
    this.kind = kind;
  }
}

/** InvalidPlatformError: a platform string is not `os[(os.version)]/arch[/variant]`. */
export class InvalidPlatformError extends StratumError {
  readonly input: string;
  readonly reason: string;
  constructor(input: string, reason: string) {
    super('INVALID_PLATFORM', `invalid platform ${JSON.stringify(truncate(input))}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/**
 * ManifestErrorKind: what was wrong with a manifest, index or config ({@link InvalidManifestError.kind}): stable,
 * for programs.
 */
export type ManifestErrorKind =
  | 'TOO_LARGE'
  | 'NOT_JSON'
  | 'INVALID_FIELD'
  | 'MEDIA_TYPE_MISMATCH'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNKNOWN_SHAPE'
  | 'LAYER_COUNT_MISMATCH';

/** InvalidManifestErrorOptions: the data an {@link InvalidManifestError} carries besides its message. */
export interface InvalidManifestErrorOptions {
  cause?: unknown;
  /** What was wrong (default `INVALID_FIELD`). */
  kind?: ManifestErrorKind;
  /** JSON path of the offending field, e.g. `layers[2].digest`. */
  field?: string;
  /** The media type the document declared or was expected to have. */
  mediaType?: string;
}

/**
 * InvalidManifestError: a manifest, index or config is not what its media type promises (not
 * JSON, too large, a required field missing or mistyped, a bad digest). `kind` and `field` say
 * which, as data.
 */
export class InvalidManifestError extends StratumError {
  readonly kind: ManifestErrorKind;
  readonly field: string | undefined;
  readonly mediaType: string | undefined;
  constructor(message: string, options?: InvalidManifestErrorOptions) {
    super('INVALID_MANIFEST', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options?.kind ?? 'INVALID_FIELD';
    this.field = options?.field;
    this.mediaType = options?.mediaType;
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
