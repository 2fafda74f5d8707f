import { RegistryError } from '../errors.js';
import type { Challenge } from './challenge.js';
import { type AuthProvider, type Credentials, basicHeader, checkCredentials } from './credentials.js';

/** The small HTTP exchange the authenticator needs from the transport (token requests). */
export interface TokenFetch {
  (req: { method: 'GET' | 'POST'; url: string; headers: Record<string, string>; body?: string; signal?: AbortSignal | undefined }): Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
    url: string;
  }>;
}

interface HostState {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** How much earlier than its stated expiry a token is refreshed. */
const expiryMarginMs = 10_000;
const maxTokenResponse = 1024 * 1024;

/**
 * scopeFor is the token scope of a repository action set: `repository:library/nginx:pull,push`.
 */
export function scopeFor(repository: string, actions: ('pull' | 'push' | 'delete' | '*')[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/**
 * Authenticator keeps, per registry, which scheme it asked for (learned from a 401's
 * `WWW-Authenticate`), and caches bearer tokens per realm, service, scope set and credentials
 * until shortly before they expire. Credentials for a registry are looked up by that
 * registry's name only, never by the realm's host, so a realm elsewhere only ever sees the
 * credentials of the registry that sent the client there.
 */
export class Authenticator {
  readonly #provider: AuthProvider;
  readonly #fetch: TokenFetch;
  readonly #cleartextAllowed: (host: string) => boolean;
  readonly #userAgent: string;
  readonly #hosts = new Map<string, HostState>();
  readonly #creds = new Map<string, Promise<Credentials | undefined>>();
  readonly #tokens = new Map<string, Promise<CachedToken>>();
  readonly #credIds = new WeakMap<object, number>();
  #nextCredId = 1;

  constructor(provider: AuthProvider, fetch: TokenFetch, options: { cleartextAllowed: (host: string) => boolean; userAgent: string }) {
    this.#provider = provider;
    this.#fetch = fetch;
    this.#cleartextAllowed = options.cleartextAllowed;
    this.#userAgent = options.userAgent;
  }

  /** The credentials for a registry (and repository, for namespaced auth files), looked up once. */
  credentials(registry: string, repository: string | undefined): Promise<Credentials | undefined> {
    const key = `${registry}\0${repository ?? ''}`;
    let hit = this.#creds.get(key);
    if (hit === undefined) {
      hit = (async () => {
        const c = await this.#provider(registry, repository);
        if (c !== undefined) checkCredentials(c, `credentials for ${registry}`);
        return c;
      })();
      this.#creds.set(key, hit);
      hit.catch(() => this.#creds.delete(key));
    }
    return hit;
  }

  /**
   * header returns the `Authorization` value to send to `registry` for `scopes`, or undefined
   * while the registry has not asked for any (or no credentials apply).
   */
  async header(registry: string, repository: string | undefined, scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const state = this.#hosts.get(registry);
    if (state === undefined) return undefined;
    const creds = await this.credentials(registry, repository);
    if (state.scheme === 'basic') {
      if (creds && 'username' in creds && 'password' in creds) return basicHeader(creds.username, creds.password);
      return undefined;
    }
    if (creds && 'registryToken' in creds) return `Bearer ${creds.registryToken}`;
    const t = await this.#token(registry, state, creds, scopes, false, signal);
    return `Bearer ${t.token}`;
  }

  /**
   * challenge handles a 401: records the scheme the registry asked for and, for bearer, fetches a
   * token (a fresh one if `sent` was a bearer token, which the registry refused). Returns true
   * when a new request with `header()` may succeed, false when retrying is pointless (no
   * credentials for basic, the same credentials refused twice, no usable challenge).
   */
  async challenge(registry: string, repository: string | undefined, scopes: string[], challenges: Challenge[], sent: string | undefined, signal?: AbortSignal): Promise<boolean> {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params['realm']);
    const basic = challenges.find((c) => c.scheme === 'basic');
    const creds = await this.credentials(registry, repository);
    if (bearer) {
      const state: HostState = { scheme: 'bearer', realm: bearer.params['realm']!, ...(bearer.params['service'] !== undefined ? { service: bearer.params['service'] } : {}) };
      const previous = this.#hosts.get(registry);
      this.#hosts.set(registry, state);
      if (creds && 'registryToken' in creds) return sent === undefined;
      const wanted = mergeScopes(scopes, bearer.params['scope']);
      const refresh = sent !== undefined && sent.startsWith('Bearer ') && previous?.realm === state.realm;
      const t = await this.#token(registry, state, creds, wanted, refresh, signal);
      if (refresh && `Bearer ${t.token}` === sent) return false;
      // Requests for these scopes now use the token the challenge asked for.
      if (wanted.length !== scopes.length) this.#tokens.set(this.#tokenKey(registry, state, creds, scopes), Promise.resolve(t));
      return true;
    }
    if (basic) {
      this.#hosts.set(registry, { scheme: 'basic' });
      if (!creds || !('username' in creds) || !('password' in creds)) return false;
      return sent === undefined || !sent.startsWith('Basic ');
    }
    return false;
  }

  #credId(creds: Credentials | undefined): number {
    if (creds === undefined) return 0;
    let id = this.#credIds.get(creds);
    if (id === undefined) {
      id = this.#nextCredId++;
      this.#credIds.set(creds, id);
    }
    return id;
  }

  #tokenKey(registry: string, state: HostState, creds: Credentials | undefined, scopes: string[]): string {
    return [registry, state.realm, state.service ?? '', [...new Set(scopes)].sort().join(' '), this.#credId(creds)].join('\0');
  }

  #token(registry: string, state: HostState, creds: Credentials | undefined, scopes: string[], refresh: boolean, signal?: AbortSignal): Promise<CachedToken> {
    const key = this.#tokenKey(registry, state, creds, scopes);
    const hit = this.#tokens.get(key);
    if (hit !== undefined && !refresh) {
      return hit.then((t) => (t.expiresAt > Date.now() ? t : this.#token(registry, state, creds, scopes, true, signal)));
    }
    const p = this.#fetchToken(registry, state, creds, scopes, signal);
    this.#tokens.set(key, p);
    p.catch(() => {
      if (this.#tokens.get(key) === p) this.#tokens.delete(key);
    });
    return p;
  }

  async #fetchToken(registry: string, state: HostState, creds: Credentials | undefined, scopes: string[], signal?: AbortSignal): Promise<CachedToken> {
    let realm: URL;
    try {
      realm = new URL(state.realm!);
    } catch {
      throw new RegistryError(401, 'GET', state.realm ?? '', { errors: [{ code: 'UNAUTHORIZED', message: `the registry's token realm ${JSON.stringify(state.realm)} is not a URL` }], temporary: false });
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new RegistryError(401, 'GET', realm.href, { errors: [{ code: 'UNAUTHORIZED', message: `token realm scheme ${realm.protocol} is not http(s)` }], temporary: false });
    }
    const sendsSecret = creds !== undefined;
    if (sendsSecret && realm.protocol === 'http:' && !this.#cleartextAllowed(realm.host) && !this.#cleartextAllowed(registry)) {
      throw new RegistryError(401, 'GET', realm.href, {
        errors: [{ code: 'UNAUTHORIZED', message: `refusing to send the credentials of ${registry} to a plain-HTTP token realm (list ${realm.host} in insecure to allow it)` }],
        temporary: false,
      });
    }
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, accept: 'application/json' };
    let res;
    if (creds && 'identityToken' in creds) {
      // OAuth2 refresh-token grant (what `docker login` stores for OAuth registries).
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'stratum' });
      if (state.service !== undefined) form.set('service', state.service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await this.#fetch({ method: 'POST', url: realm.href, headers, body: form.toString(), signal });
    } else {
      const url = new URL(realm.href);
      if (state.service !== undefined) url.searchParams.set('service', state.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds && 'username' in creds && 'password' in creds) headers['authorization'] = basicHeader(creds.username, creds.password);
      res = await this.#fetch({ method: 'GET', url: url.href, headers, signal });
    }
    if (res.status !== 200) {
      let errors = [] as { code: string; message: string }[];
      try {
        const doc = JSON.parse(res.body.toString('utf8')) as { errors?: { code?: string; message?: string }[]; details?: string; error?: string };
        if (Array.isArray(doc.errors)) errors = doc.errors.filter((e) => typeof e?.code === 'string').map((e) => ({ code: e.code!, message: String(e.message ?? '') }));
        else if (typeof doc.details === 'string' || typeof doc.error === 'string') errors = [{ code: res.status === 401 ? 'UNAUTHORIZED' : 'DENIED', message: String(doc.details ?? doc.error) }];
      } catch {
        // not JSON: the status decides
      }
      throw new RegistryError(res.status, creds && 'identityToken' in creds ? 'POST' : 'GET', res.url, { errors });
    }
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      if (res.body.byteLength > maxTokenResponse) throw new Error('token response too large');
      doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
    } catch (cause) {
      throw new RegistryError(200, 'GET', res.url, { errors: [{ code: 'UNAUTHORIZED', message: 'the token server answered something that is not a token document' }], temporary: false, cause });
    }
    const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (token === '' || /[\r\n]/.test(token)) {
      throw new RegistryError(200, 'GET', res.url, { errors: [{ code: 'UNAUTHORIZED', message: 'the token server answered without a token' }], temporary: false });
    }
    // The token spec: expires_in defaults to 60 s, and less than 60 means 60.
    const expiresIn = typeof doc.expires_in === 'number' && Number.isFinite(doc.expires_in) ? Math.max(60, doc.expires_in) : 60;
    return { token, expiresAt: Date.now() + expiresIn * 1000 - expiryMarginMs };
  }
}

function mergeScopes(ours: string[], fromChallenge: string | undefined): string[] {
  const out = [...ours];
  if (fromChallenge) for (const s of fromChallenge.split(' ')) if (s && !out.includes(s)) out.push(s);
  return out;
}
