/**
 * Credentials for one registry, in one of the forms Docker's credential stores hold:
 * - `{ username, password }`: HTTP Basic, or sent to a bearer-token realm;
 * - `{ identityToken }`: an OAuth2 refresh token (`docker login` to a registry with OAuth, a
 *   helper answering `Username: "<token>"`), exchanged at the token realm;
 * - `{ registryToken }`: a bearer token sent to the registry as is.
 */
export type Credentials =
  | { username: string; password: string }
  | { identityToken: string; username?: string }
  | { registryToken: string };

/**
 * AuthProvider finds the credentials for a registry (`host[:port]` as in a reference, with
 * `docker.io` for Docker Hub) and, when the store keys by namespace (podman's auth.json allows
 * `quay.io/org`), the repository. Resolves `undefined` for anonymous access. The client calls
 * it once per registry and repository and keeps the answer for the client's lifetime.
 */
export type AuthProvider = (registry: string, repository?: string) => Promise<Credentials | undefined> | Credentials | undefined;

/**
 * AuthOption is what `RegistryClient`'s `auth` option takes: a provider (like
 * {@link dockerConfigAuth}'s), or a map from registry (`host[:port]`) to credentials.
 */
export type AuthOption = AuthProvider | Record<string, Credentials>;

/** toProvider turns an {@link AuthOption} into an {@link AuthProvider}; validates the map's shape. */
export function toProvider(auth: AuthOption | undefined): AuthProvider {
  if (auth === undefined) return () => undefined;
  if (typeof auth === 'function') return auth;
  if (typeof auth !== 'object' || auth === null) throw new TypeError('auth must be a function or an object mapping registries to credentials');
  const map = new Map<string, Credentials>();
  for (const [key, creds] of Object.entries(auth)) {
    checkCredentials(creds, `auth[${JSON.stringify(key)}]`);
    map.set(normalizeRegistryKey(key), creds);
  }
  return (registry) => map.get(normalizeRegistryKey(registry));
}

/** checkCredentials throws a precise TypeError unless `c` is one of the {@link Credentials} forms. */
export function checkCredentials(c: unknown, what = 'credentials'): asserts c is Credentials {
  if (typeof c !== 'object' || c === null) throw new TypeError(`${what} must be an object`);
  const o = c as Record<string, unknown>;
  if ('registryToken' in o) {
    if (typeof o['registryToken'] !== 'string' || o['registryToken'] === '') throw new TypeError(`${what}.registryToken must be a non-empty string`);
    return;
  }
  if ('identityToken' in o) {
    if (typeof o['identityToken'] !== 'string' || o['identityToken'] === '') throw new TypeError(`${what}.identityToken must be a non-empty string`);
    return;
  }
  if (typeof o['username'] !== 'string') throw new TypeError(`${what}.username must be a string`);
  if (typeof o['password'] !== 'string') throw new TypeError(`${what}.password must be a string`);
}

/**
 * normalizeRegistryKey reduces the many spellings of a registry in credential files to
 * `host[:port]`: `https://index.docker.io/v1/`, `index.docker.io`, `registry-1.docker.io` and
 * `docker.io` all become `docker.io`; a scheme and a trailing `/` or `/v1/`, `/v2/` are dropped.
 * Keys with a repository path (`quay.io/org`) keep it.
 */
export function normalizeRegistryKey(key: string): string {
  let k = key.trim();
  k = k.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  k = k.replace(/\/+$/, '').replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  const host = (slash < 0 ? k : k.slice(0, slash)).toLowerCase();
  const rest = slash < 0 ? '' : k.slice(slash);
  const h = host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com' ? 'docker.io' : host;
  return h + rest;
}

/** basicHeader is the `Authorization` value for HTTP Basic with these credentials. */
export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
