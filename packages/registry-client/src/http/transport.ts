import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher, EnvHttpProxyAgent, ProxyAgent, request } from 'undici';
import { StratumError, dockerHubHost, dockerHubRegistry } from '@stratum/oci';
import { Authenticator } from '../auth/authenticator.js';
import { parseChallenges } from '../auth/challenge.js';
import type { AuthProvider } from '../auth/credentials.js';
import { RegistryError, parseErrorBody } from '../errors.js';
import { type RateLimit, parseRateLimit, parseRetryAfter } from '../rate-limit.js';
import { discard, readLimited } from './body.js';
import { Backoff, type ResolvedRetryPolicy, wait } from './retry.js';

/** HTTP methods the registry protocol uses. */
export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** A request body: bytes (replayable), or an opener that makes a new stream each try. */
export type RequestBody = Uint8Array | string | (() => Readable | Promise<Readable>);

/** RegistryRequest: one registry API call as the client's operations describe it. */
export interface RegistryRequest {
  /** Registry name as in a reference (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Repository the call is about (credential lookup by namespace); none for `/v2/_catalog`. */
  repository?: string | undefined;
  method: Method;
  /** Path and query below the registry origin (`/v2/…`), or… */
  path?: string;
  /** …an absolute URL (an upload `Location`). */
  url?: string;
  headers?: Record<string, string>;
  body?: RequestBody | undefined;
  /** Token scopes the call needs (`repository:NAME:pull`). */
  scopes?: string[];
  /** Statuses that mean success; any other becomes a {@link RegistryError}. */
  expect: number[];
  signal?: AbortSignal | undefined;
  /** Retry temporary failures (default: true for GET/HEAD/DELETE and for replayable bodies). */
  retry?: boolean;
  /** Follow redirects (default true for GET and HEAD). Authorization never crosses origins. */
  followRedirects?: boolean;
  /** Buffer size of the response body stream (default 1 MiB). */
  highWaterMark?: number;
}

/** RegistryResponse: a successful response; the caller must consume or discard `body`. */
export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
  /** The URL that answered (after redirects). */
  url: string;
}

/** TransportOptions: what the client hands its transport. */
export interface TransportOptions {
  auth: AuthProvider;
  insecure: Set<string>;
  ca: string[] | undefined;
  userAgent: string;
  proxy: string | false | undefined;
  retry: ResolvedRetryPolicy;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  onRateLimit: ((r: RateLimit) => void) | undefined;
}

const retryableCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'HPE_INVALID_CONSTANT',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_CONTENT_LENGTH',
]);

/** isTransportError: a failure of the connection rather than an answer (worth a retry). */
export function isTransportError(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (retryableCodes.has(code) || code.startsWith('HPE_') || code.startsWith('ERR_SSL') || code === 'EPROTO')) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function isLoopback(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** The host an API request goes to for a registry name (`docker.io` → `registry-1.docker.io`). */
export function apiHost(registry: string): string {
  return registry === dockerHubRegistry ? dockerHubHost : registry;
}

function abortReason(signal: AbortSignal | undefined, err: unknown): unknown {
  return signal?.aborted ? (signal.reason ?? err) : undefined;
}

/**
 * Transport is the client's HTTP layer over undici: keep-alive agents (a verifying one with the
 * system and given CAs, an unverified one for `insecure` hosts), proxies from the environment
 * (never for loopback), HTTPS→HTTP fallback only for `insecure` hosts, registry auth (a 401
 * challenge answered once per request), redirects followed without `Authorization` when they
 * leave the registry's origin, and bounded retries with backoff on temporary failures.
 */
export class Transport {
  readonly auth: Authenticator;
  readonly #o: TransportOptions;
  readonly #verified: Dispatcher;
  readonly #unverified: Dispatcher;
  readonly #proxied: Dispatcher | undefined;
  readonly #proxiedUnverified: Dispatcher | undefined;
  readonly #schemes = new Map<string, Promise<'https' | 'http'>>();
  readonly #rateLimits = new Map<string, RateLimit>();
  #closed = false;

  constructor(options: TransportOptions) {
    this.#o = options;
    const agentOpts = {
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
    };
    const tlsVerified = options.ca ? { ca: [...rootCertificates, ...options.ca] } : {};
    const tlsUnverified = { rejectUnauthorized: false };
    this.#verified = new Agent({ ...agentOpts, connect: tlsVerified });
    this.#unverified = new Agent({ ...agentOpts, connect: tlsUnverified });
    const envProxy = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((k) => process.env[k]);
    if (typeof options.proxy === 'string') {
      this.#proxied = new ProxyAgent({ ...agentOpts, uri: options.proxy, requestTls: tlsVerified });
      this.#proxiedUnverified = new ProxyAgent({ ...agentOpts, uri: options.proxy, requestTls: tlsUnverified });
    } else if (options.proxy === undefined && envProxy) {
      this.#proxied = new EnvHttpProxyAgent({ ...agentOpts, connect: tlsVerified, requestTls: tlsVerified });
      this.#proxiedUnverified = new EnvHttpProxyAgent({ ...agentOpts, connect: tlsUnverified, requestTls: tlsUnverified });
    }
    this.auth = new Authenticator(options.auth, (req) => this.#simple(req), {
      cleartextAllowed: (host) => this.isInsecure(host) || isLoopback(host),
      userAgent: options.userAgent,
    });
  }

  /** Whether `host` (`host:port`) was listed as insecure (HTTP or unverified TLS allowed). */
  isInsecure(host: string): boolean {
    return this.#o.insecure.has(host) || this.#o.insecure.has(host.replace(/:\d+$/, ''));
  }

  /** The last rate limit a registry reported, if any. */
  rateLimit(registry: string): RateLimit | undefined {
    return this.#rateLimits.get(apiHost(registry));
  }

  #dispatcher(url: URL): Dispatcher {
    const unverified = this.isInsecure(url.host);
    // Proxies from the environment skip loopback (as Go's ProxyFromEnvironment does); one
    // given explicitly is used for every host.
    if (this.#proxied && (typeof this.#o.proxy === 'string' || !isLoopback(url.host))) return unverified ? this.#proxiedUnverified! : this.#proxied;
    return unverified ? this.#unverified : this.#verified;
  }

  /**
   * origin returns `https://host` or, for an insecure host that does not speak TLS,
   * `http://host` (probed once with `GET /v2/`, as Docker does for insecure registries).
   */
  async origin(registry: string, signal?: AbortSignal): Promise<string> {
    const host = apiHost(registry);
    if (!this.isInsecure(host)) return `https://${host}`;
    let scheme = this.#schemes.get(host);
    if (scheme === undefined) {
      scheme = (async () => {
        try {
          const res = await this.#raw('GET', new URL(`https://${host}/v2/`), { 'user-agent': this.#o.userAgent }, undefined, signal, 16 * 1024);
          discard(res.body);
          return 'https' as const;
        } catch (err) {
          if (signal?.aborted) throw err;
          return 'http' as const;
        }
      })();
      this.#schemes.set(host, scheme);
      scheme.catch(() => this.#schemes.delete(host));
    }
    return `${await scheme}://${host}`;
  }

  async #raw(method: string, url: URL, headers: Record<string, string>, body: RequestBody | undefined, signal: AbortSignal | undefined, highWaterMark: number) {
    let payload: string | Uint8Array | Readable | undefined;
    if (typeof body === 'function') payload = await body();
    else payload = body;
    const res = await request(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body: payload ?? null,
      signal: signal ?? null,
      dispatcher: this.#dispatcher(url),
      highWaterMark,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body as unknown as Readable };
  }

  #noteRateLimit(url: URL, headers: IncomingHttpHeaders): RateLimit | undefined {
    const rl = parseRateLimit(url.host, headers);
    if (rl) {
      this.#rateLimits.set(url.host, rl);
      try {
        this.#o.onRateLimit?.(rl);
      } catch {
        // a reporting callback must not break the transfer
      }
    }
    return rl;
  }

  /**
   * send performs one registry call with auth, redirects and retries, and resolves with the
   * response when its status is in `expect`. Otherwise it reads the (bounded) error body and
   * rejects with {@link RegistryError}; transport failures become a RegistryError with status 0.
   * An abort rejects with the signal's reason at once.
   */
  async send(req: RegistryRequest): Promise<RegistryResponse> {
    if (this.#closed) throw new RegistryError(0, req.method, req.url ?? req.path ?? '', { code: 'CLIENT_CLOSED', message: 'the registry client is closed', temporary: false });
    // Everything but PATCH (which appends to an upload) can be sent again; stream bodies are
    // opened anew for each try.
    const mayRetry = req.retry ?? req.method !== 'PATCH';
    const backoff = new Backoff(this.#o.retry);
    for (;;) {
      req.signal?.throwIfAborted();
      let res: RegistryResponse;
      let target = req.url ?? req.path ?? '';
      try {
        res = await this.#attempt(req);
      } catch (err) {
        const aborted = abortReason(req.signal, err);
        if (aborted !== undefined) throw aborted;
        if (err instanceof RegistryError) {
          if (err.temporary && mayRetry) {
            const delay = backoff.next(err.retryAfterMs);
            if (delay !== undefined) {
              await wait(delay, req.signal);
              continue;
            }
          }
          throw err;
        }
        // Our own errors from a request body (a layer failing its digest) pass through as they are.
        if (err instanceof StratumError || err instanceof TypeError || (err as { code?: unknown })?.code === 'UND_ERR_INVALID_ARG') throw err;
        // Anything else from the connection (reset, refused, TLS verification, DNS) has no
        // response: status 0. Only some of it is worth another try.
        const temporary = isTransportError(err);
        const delay = mayRetry && temporary ? backoff.next() : undefined;
        if (delay === undefined) {
          try {
            target = await this.#urlOf(req);
          } catch {
            // keep the path
          }
          throw new RegistryError(0, req.method, target, { cause: err, temporary });
        }
        await wait(delay, req.signal);
        continue;
      }
      if (req.expect.includes(res.status)) return res;
      const error = await this.errorOf(req.method, res);
      if (error.temporary && mayRetry) {
        const delay = backoff.next(error.retryAfterMs);
        if (delay !== undefined) {
          await wait(delay, req.signal);
          continue;
        }
      }
      throw error;
    }
  }

  /** errorOf turns an unexpected response into a {@link RegistryError} (reads ≤ 64 KiB of its body). */
  async errorOf(method: string, res: RegistryResponse): Promise<RegistryError> {
    let body: Buffer | undefined;
    if (method !== 'HEAD') {
      try {
        body = await readLimited(res.body, 64 * 1024);
      } catch {
        body = undefined;
      }
    } else {
      discard(res.body);
    }
    const url = new URL(res.url);
    const retryAfterMs = parseRetryAfter(headerOf(res.headers, 'retry-after'));
    const rateLimit = parseRateLimit(url.host, res.headers);
    return new RegistryError(res.status, method, res.url, {
      errors: parseErrorBody(body),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(rateLimit !== undefined ? { rateLimit } : {}),
    });
  }

  async #urlOf(req: RegistryRequest): Promise<string> {
    return req.url ?? `${await this.origin(req.registry, req.signal)}${req.path ?? ''}`;
  }

  async #attempt(req: RegistryRequest): Promise<RegistryResponse> {
    const origin = await this.origin(req.registry, req.signal);
    let url = new URL(req.url ?? `${origin}${req.path ?? '/v2/'}`);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`unsupported URL scheme ${url.protocol}`);
    const registryOrigin = new URL(origin).origin;
    const scopes = req.scopes ?? [];
    const base: Record<string, string> = { 'user-agent': this.#o.userAgent, ...req.headers };
    const hwm = req.highWaterMark ?? 1024 * 1024;
    const authFor = async (u: URL): Promise<string | undefined> =>
      u.origin === registryOrigin ? this.auth.header(req.registry, req.repository, scopes, req.signal) : undefined;

    let authorization = await authFor(url);
    let res = await this.#raw(req.method, url, withAuth(base, authorization), req.body, req.signal, hwm);
    this.#noteRateLimit(url, res.headers);
    if (res.status === 401 && url.origin === registryOrigin) {
      const challenges = parseChallenges(res.headers['www-authenticate']);
      const again = await this.auth.challenge(req.registry, req.repository, scopes, challenges, authorization, req.signal);
      if (again) {
        discard(res.body);
        authorization = await authFor(url);
        res = await this.#raw(req.method, url, withAuth(base, authorization), req.body, req.signal, hwm);
        this.#noteRateLimit(url, res.headers);
      }
    }
    const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
    for (let hops = 0; follow && isRedirect(res.status); hops++) {
      const location = headerOf(res.headers, 'location');
      if (!location) break;
      if (hops >= 10) {
        discard(res.body);
        throw new RegistryError(res.status, req.method, url.href, { errors: [{ code: 'TOO_MANY_REDIRECTS', message: 'more than 10 redirects' }], temporary: false });
      }
      discard(res.body);
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new RegistryError(res.status, req.method, url.href, { errors: [{ code: 'UNSUPPORTED', message: `redirect to a ${next.protocol} URL` }], temporary: false });
      }
      if (url.protocol === 'https:' && next.protocol === 'http:' && !this.isInsecure(next.host) && !isLoopback(next.host)) {
        throw new RegistryError(res.status, req.method, url.href, { errors: [{ code: 'DENIED', message: `refusing a redirect from HTTPS to plain HTTP (${next.host})` }], temporary: false });
      }
      url = next;
      // Credentials stay with the registry: a storage backend on another origin gets none.
      authorization = await authFor(url);
      const method = res.status === 303 ? 'GET' : req.method;
      res = await this.#raw(method, url, withAuth(stripOriginBound(base, url.origin === registryOrigin), authorization), method === 'GET' || method === 'HEAD' ? undefined : req.body, req.signal, hwm);
      this.#noteRateLimit(url, res.headers);
    }
    return { ...res, url: url.href };
  }

  /** A small request (token endpoints): redirects without credentials across origins, retries. */
  async #simple(req: { method: 'GET' | 'POST'; url: string; headers: Record<string, string>; body?: string; signal?: AbortSignal | undefined }) {
    const backoff = new Backoff(this.#o.retry);
    for (;;) {
      try {
        let url = new URL(req.url);
        const start = url.origin;
        let method: string = req.method;
        let res = await this.#raw(method, url, req.headers, req.body, req.signal, 64 * 1024);
        for (let hops = 0; isRedirect(res.status) && hops < 10; hops++) {
          const location = headerOf(res.headers, 'location');
          if (!location) break;
          discard(res.body);
          url = new URL(location, url);
          if (res.status === 303 || res.status === 302 || res.status === 301) method = 'GET';
          const headers = url.origin === start ? req.headers : stripOriginBound(req.headers, false);
          res = await this.#raw(method, url, headers, method === 'POST' ? req.body : undefined, req.signal, 64 * 1024);
        }
        const body = await readLimited(res.body, 1024 * 1024, contentLength(res.headers));
        if ((res.status >= 500 || res.status === 429) && body !== undefined) {
          const delay = backoff.next(parseRetryAfter(headerOf(res.headers, 'retry-after')));
          if (delay !== undefined) {
            await wait(delay, req.signal);
            continue;
          }
        }
        return { status: res.status, headers: res.headers, body, url: url.href };
      } catch (err) {
        const aborted = abortReason(req.signal, err);
        if (aborted !== undefined) throw aborted;
        if (!isTransportError(err)) throw err;
        const delay = backoff.next();
        if (delay === undefined) throw new RegistryError(0, req.method, req.url, { cause: err, temporary: true });
        await wait(delay, req.signal);
      }
    }
  }

  /** close ends every keep-alive connection; further calls fail. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([this.#verified, this.#unverified, this.#proxied, this.#proxiedUnverified].filter((d) => d !== undefined).map((d) => d.close()));
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function withAuth(headers: Record<string, string>, authorization: string | undefined): Record<string, string> {
  return authorization === undefined ? headers : { ...headers, authorization };
}

/** Drops headers that must not leave the registry's origin (credentials and cookies). */
function stripOriginBound(headers: Record<string, string>, sameOrigin: boolean): Record<string, string> {
  if (sameOrigin) return headers;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const lk = k.toLowerCase();
    if (lk === 'authorization' || lk === 'cookie' || lk === 'proxy-authorization') continue;
    out[k] = v;
  }
  return out;
}

/** headerOf: one header value (the first if repeated). */
export function headerOf(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** contentLength: the declared `Content-Length`, or undefined when absent or malformed. */
export function contentLength(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): number | undefined {
  const v = headerOf(headers, 'content-length');
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}
