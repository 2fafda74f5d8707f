import { StratumError } from '@stratum/oci';
import type { RateLimit } from './rate-limit.js';

/**
 * RegistryErrorDetail is one entry of the distribution spec's error body
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}`).
 */
export interface RegistryErrorDetail {
  /** The OCI error code: `BLOB_UNKNOWN`, `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, `DENIED`, `UNAUTHORIZED`, `TOOMANYREQUESTS`… */
  code: string;
  message: string;
  detail?: unknown;
}

/** RegistryErrorOptions: the data a {@link RegistryError} carries besides status, method and URL. */
export interface RegistryErrorOptions {
  errors?: RegistryErrorDetail[];
  /** Worth retrying later (5xx, 429, a dropped connection). Default: derived from `status`. */
  temporary?: boolean;
  /** Milliseconds the registry asked to wait (`Retry-After`). */
  retryAfterMs?: number;
  /** The rate limit the registry reported with this response. */
  rateLimit?: RateLimit;
  /** The underlying error (a socket error, an {@link InvalidManifestError}…). */
  cause?: unknown;
  /** Overrides the `code` (default `REGISTRY_ERROR`; `REGISTRY_UNREACHABLE` for transport failures). */
  code?: string;
  /** Overrides the message. */
  message?: string;
}

/**
 * RegistryError: a registry answered with an error, answered something that breaks the
 * distribution spec, or could not be reached. Data, not prose:
 * - `status`: the HTTP status (0 when no response arrived: connection refused, reset, TLS);
 * - `method`, `url`: the request, with no credentials in it (userinfo and tokens are stripped);
 * - `errors`: the OCI error entries of the body (`[{ code: 'MANIFEST_UNKNOWN', … }]`); when the
 *   body had none, one entry derived from the status (`UNAUTHORIZED` for 401, `DENIED` for 403,
 *   `NOT_FOUND` for 404, `TOOMANYREQUESTS` for 429, `UNAVAILABLE` for 5xx);
 * - `temporary`: whether trying again later may succeed (5xx, 429, transport errors);
 * - `ociCode`: the first entry's code, the one to match on.
 * `code` is `REGISTRY_ERROR` (`REGISTRY_UNREACHABLE` when there was no response).
 */
export class RegistryError extends StratumError {
  readonly status: number;
  readonly method: string;
  readonly url: string;
  readonly errors: RegistryErrorDetail[];
  readonly temporary: boolean;
  readonly retryAfterMs: number | undefined;
  readonly rateLimit: RateLimit | undefined;

  constructor(status: number, method: string, url: string, options: RegistryErrorOptions = {}) {
    const cleanUrl = redactUrl(url);
    const errors = options.errors && options.errors.length > 0 ? options.errors : [{ code: codeForStatus(status), message: statusText(status) }];
    const first = errors[0]!;
    const message =
      options.message ??
      `${method} ${cleanUrl}: ${status === 0 ? 'no response' : `HTTP ${status}`} ${first.code}${first.message ? `: ${first.message}` : ''}${options.cause instanceof Error && status === 0 ? ` (${options.cause.message})` : ''}`;
    super(options.code ?? (status === 0 ? 'REGISTRY_UNREACHABLE' : 'REGISTRY_ERROR'), message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.method = method;
    this.url = cleanUrl;
    this.errors = errors;
    this.temporary = options.temporary ?? isTemporaryStatus(status);
    this.retryAfterMs = options.retryAfterMs;
    this.rateLimit = options.rateLimit;
  }

  /** The OCI code of the first error entry (`MANIFEST_UNKNOWN`…): what callers match on. */
  get ociCode(): string {
    return this.errors[0]!.code;
  }

  /** Whether any error entry has OCI code `code`. */
  has(code: string): boolean {
    return this.errors.some((e) => e.code === code);
  }
}

/** isTemporaryStatus: 408, 425, 429 and every 5xx but 501 and 505 are worth retrying. */
export function isTemporaryStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 425 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

function codeForStatus(status: number): string {
  switch (status) {
    case 0:
      return 'UNREACHABLE';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'DENIED';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'UNSUPPORTED';
    case 416:
      return 'RANGE_INVALID';
    case 429:
      return 'TOOMANYREQUESTS';
    default:
      return status >= 500 ? 'UNAVAILABLE' : `HTTP_${status}`;
  }
}

function statusText(status: number): string {
  if (status === 0) return 'no response from the registry';
  return '';
}

/**
 * parseErrorBody reads the distribution spec's error document out of a response body (already
 * read, bounded); anything else gives `[]`.
 */
export function parseErrorBody(body: Uint8Array | undefined): RegistryErrorDetail[] {
  if (!body || body.byteLength === 0) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return [];
  }
  const list = (doc as { errors?: unknown })?.errors;
  if (!Array.isArray(list)) return [];
  const out: RegistryErrorDetail[] = [];
  for (const e of list.slice(0, 50)) {
    if (typeof e !== 'object' || e === null) continue;
    const code = (e as { code?: unknown }).code;
    const msg = (e as { message?: unknown }).message;
    if (typeof code !== 'string' || code.length === 0 || code.length > 100) continue;
    const entry: RegistryErrorDetail = { code: code.toUpperCase(), message: typeof msg === 'string' ? msg.slice(0, 2000) : '' };
    if ((e as { detail?: unknown }).detail !== undefined) entry.detail = (e as { detail?: unknown }).detail;
    out.push(entry);
  }
  return out;
}

/**
 * redactUrl removes what must never be printed from a URL: userinfo, and query parameters that
 * carry secrets on pre-signed storage redirects (signatures, tokens, credentials).
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  u.username = '';
  u.password = '';
  for (const key of [...u.searchParams.keys()]) {
    if (/sig|token|secret|credential|key|auth|password|x-amz-|x-goog-/i.test(key)) u.searchParams.set(key, 'REDACTED');
  }
  return u.toString();
}
