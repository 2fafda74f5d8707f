import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StratumError } from '@stratum/oci';
import { type AuthProvider, type Credentials, normalizeRegistryKey } from './credentials.js';

/** DockerConfigAuthOptions: where {@link dockerConfigAuth} looks for credentials. */
export interface DockerConfigAuthOptions {
  /**
   * Docker's config file. Default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
   * `false` skips it.
   */
  configFile?: string | false;
  /**
   * podman/skopeo/containers auth files, searched before Docker's. Default:
   * `$REGISTRY_AUTH_FILE` when set, else `$XDG_RUNTIME_DIR/containers/auth.json` and
   * `~/.config/containers/auth.json`. `false` skips them.
   */
  authFiles?: string[] | false;
  /** Environment for the lookups above and for credential helpers (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** How long a `docker-credential-*` helper may take (default 30 s). */
  helperTimeoutMs?: number;
}

/**
 * CredentialHelperError: a `docker-credential-NAME` helper failed (not installed, crashed,
 * answered garbage). "Credentials not found" is not an error: the registry is then anonymous.
 */
export class CredentialHelperError extends StratumError {
  readonly helper: string;
  readonly serverUrl: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(helper: string, serverUrl: string, exitCode: number | null, stderr: string, cause?: unknown) {
    super('CREDENTIAL_HELPER_FAILED', `credential helper docker-credential-${helper} failed for ${serverUrl}: ${stderr.trim().slice(0, 500) || `exit ${exitCode}`}`, cause === undefined ? undefined : { cause });
    this.helper = helper;
    this.serverUrl = serverUrl;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface ConfigFile {
  path: string;
  auths: Map<string, AuthEntry>;
  credHelpers: Map<string, string>;
  credsStore?: string;
}

const maxConfigFileSize = 4 * 1024 * 1024;

async function readConfig(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.byteLength > maxConfigFileSize) throw new TypeError(`${path} is larger than ${maxConfigFileSize} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new StratumError('INVALID_AUTH_FILE', `${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== 'object' || doc === null) throw new StratumError('INVALID_AUTH_FILE', `${path} must hold a JSON object`);
  const o = doc as Record<string, unknown>;
  const out: ConfigFile = { path, auths: new Map(), credHelpers: new Map() };
  if (typeof o['auths'] === 'object' && o['auths'] !== null) {
    for (const [k, v] of Object.entries(o['auths'] as Record<string, unknown>)) {
      if (typeof v === 'object' && v !== null) out.auths.set(normalizeRegistryKey(k), v as AuthEntry);
    }
  }
  if (typeof o['credHelpers'] === 'object' && o['credHelpers'] !== null) {
    for (const [k, v] of Object.entries(o['credHelpers'] as Record<string, unknown>)) {
      if (typeof v === 'string' && v !== '') out.credHelpers.set(normalizeRegistryKey(k), v);
    }
  }
  if (typeof o['credsStore'] === 'string' && o['credsStore'] !== '') out.credsStore = o['credsStore'];
  return out;
}

function fromEntry(e: AuthEntry, file: string, key: string): Credentials | undefined {
  if (typeof e.registrytoken === 'string' && e.registrytoken !== '') return { registryToken: e.registrytoken };
  let username = typeof e.username === 'string' ? e.username : undefined;
  let password = typeof e.password === 'string' ? e.password : undefined;
  if (typeof e.auth === 'string' && e.auth !== '') {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new StratumError('INVALID_AUTH_FILE', `${file}: auths[${JSON.stringify(key)}].auth is not base64 of "user:password"`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (typeof e.identitytoken === 'string' && e.identitytoken !== '') {
    return username !== undefined ? { identityToken: e.identitytoken, username } : { identityToken: e.identitytoken };
  }
  if (username !== undefined && password !== undefined && (username !== '' || password !== '')) return { username, password };
  return undefined;
}

/** The server URL Docker hands a credential helper for a registry. */
function helperServerUrl(registry: string): string {
  return registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
}

function runHelper(helper: string, serverUrl: string, env: NodeJS.ProcessEnv, timeout: number): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) return Promise.reject(new CredentialHelperError(helper, serverUrl, null, 'invalid helper name'));
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${helper}`, ['get'], { env, timeout, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const text = `${stdout}\n${stderr}`;
        // Docker's helpers print this (exit 1) when they hold nothing for the server.
        if (/credentials not found|not found in native keychain|no credentials/i.test(text)) {
          resolve(undefined);
          return;
        }
        const code = typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        reject(new CredentialHelperError(helper, serverUrl, code, stderr || stdout || err.message, err));
        return;
      }
      let doc: { Username?: unknown; Secret?: unknown };
      try {
        doc = JSON.parse(stdout) as typeof doc;
      } catch (cause) {
        reject(new CredentialHelperError(helper, serverUrl, 0, `answer is not JSON: ${stdout.slice(0, 200)}`, cause));
        return;
      }
      if (typeof doc.Secret !== 'string' || doc.Secret === '') {
        resolve(undefined);
        return;
      }
      const username = typeof doc.Username === 'string' ? doc.Username : '';
      // Docker's convention: the user name "<token>" marks an identity (refresh) token.
      resolve(username === '<token>' ? { identityToken: doc.Secret } : { username, password: doc.Secret });
    });
    child.stdin?.on('error', () => {}); // a helper that exits without reading stdin
    child.stdin?.end(serverUrl);
  });
}

/** Candidate keys for a registry and repository, most specific first (`host/a/b`, `host/a`, `host`). */
function candidateKeys(registry: string, repository: string | undefined): string[] {
  const host = normalizeRegistryKey(registry);
  const keys: string[] = [];
  if (repository) {
    const parts = repository.split('/');
    for (let i = parts.length; i > 0; i--) keys.push(`${host}/${parts.slice(0, i).join('/')}`);
  }
  keys.push(host);
  return keys;
}

/**
 * dockerConfigAuth returns an {@link AuthProvider} that finds credentials the way `docker`,
 * `podman` and `skopeo` do, for the `auth` option of `RegistryClient`:
 * 1. podman's `auth.json` (`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`,
 *    `~/.config/containers/auth.json`), then Docker's `~/.docker/config.json` (`$DOCKER_CONFIG`);
 * 2. in each file: `credHelpers[registry]` (runs `docker-credential-NAME get` with the server
 *    URL on stdin, as Docker does — `https://index.docker.io/v1/` for Docker Hub), then
 *    `auths` (most specific `host/namespace` key first; `auth` is base64 `user:password`;
 *    `identitytoken` and `registrytoken` are honoured), then `credsStore`.
 * Files are read on first use and answers cached per registry and repository; a missing file is
 * skipped. A helper that fails throws {@link CredentialHelperError}; one that holds nothing
 * gives anonymous access. Like `docker login`'s storage, read-only: nothing is ever written.
 */
export function dockerConfigAuth(options: DockerConfigAuthOptions = {}): AuthProvider {
  if (typeof options !== 'object' || options === null) throw new TypeError('dockerConfigAuth options must be an object');
  const env = options.env ?? process.env;
  const timeout = options.helperTimeoutMs ?? 30_000;
  if (!Number.isFinite(timeout) || timeout <= 0) throw new TypeError('helperTimeoutMs must be a positive number');
  const home = env['HOME'] ?? homedir();
  const files: string[] = [];
  if (options.authFiles !== false) {
    if (options.authFiles !== undefined) {
      if (!Array.isArray(options.authFiles) || !options.authFiles.every((f) => typeof f === 'string')) throw new TypeError('authFiles must be an array of paths or false');
      files.push(...options.authFiles);
    } else if (env['REGISTRY_AUTH_FILE']) {
      files.push(env['REGISTRY_AUTH_FILE']);
    } else {
      if (env['XDG_RUNTIME_DIR']) files.push(join(env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
      files.push(join(home, '.config', 'containers', 'auth.json'));
    }
  }
  if (options.configFile !== false) {
    if (options.configFile !== undefined && typeof options.configFile !== 'string') throw new TypeError('configFile must be a path or false');
    files.push(options.configFile ?? join(env['DOCKER_CONFIG'] ?? join(home, '.docker'), 'config.json'));
  }
  let loaded: Promise<ConfigFile[]> | undefined;
  const load = (): Promise<ConfigFile[]> => {
    loaded ??= Promise.all(files.map(readConfig)).then((all) => all.filter((c): c is ConfigFile => c !== undefined));
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
  const cache = new Map<string, Promise<Credentials | undefined>>();
  const lookup = async (registry: string, repository: string | undefined): Promise<Credentials | undefined> => {
    const keys = candidateKeys(registry, repository);
    const host = keys[keys.length - 1]!;
    for (const cfg of await load()) {
      const helper = cfg.credHelpers.get(host);
      if (helper !== undefined) return runHelper(helper, helperServerUrl(host), env, timeout);
      for (const key of keys) {
        const entry = cfg.auths.get(key);
        if (entry === undefined) continue;
        const creds = fromEntry(entry, cfg.path, key);
        if (creds !== undefined) return creds;
      }
      if (cfg.credsStore !== undefined) {
        const creds = await runHelper(cfg.credsStore, helperServerUrl(host), env, timeout);
        if (creds !== undefined) return creds;
      }
    }
    return undefined;
  };
  return (registry, repository) => {
    if (typeof registry !== 'string' || registry === '') throw new TypeError('registry must be a non-empty string');
    const key = `${registry}\0${repository ?? ''}`;
    let hit = cache.get(key);
    if (hit === undefined) {
      hit = lookup(registry, repository);
      cache.set(key, hit);
      hit.catch(() => cache.delete(key));
    }
    return hit;
  };
}
