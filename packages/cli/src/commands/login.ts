/**
 * `stratum login` / `logout`: check credentials against the registry (GET /v2/, then Basic or
 * the bearer-token realm, as `docker login` does) and record them in Docker's client config
 * (`~/.docker/config.json` → `auths` → `{ "auth": base64(user:pass) }`), where `pull`/`push`
 * (and docker, podman, skopeo) find them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { normalizeRegistryKey, parseChallenges } from '@stratum/registry-client';
import { flagBool, flagString, type ParsedArgs } from '../args.js';
import { Context, isLoopbackHost } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { readAll } from './common.js';

/** DOCKER_HUB_KEY: the `auths` key docker uses for Docker Hub. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** LoginError: the registry refused the credentials (or could not be asked). */
export class LoginError extends CliError {
  readonly registry: string;
  readonly status: number | undefined;
  constructor(registry: string, message: string, status?: number) {
    super('LOGIN_FAILED', message);
    this.registry = registry;
    this.status = status;
  }
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
}

function get(url: string, headers: Record<string, string>, insecure: boolean, signal: AbortSignal | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', headers: { 'User-Agent': 'stratum-cli', ...headers }, ...(u.protocol === 'https:' && insecure ? { rejectUnauthorized: false } : {}), ...(signal ? { signal } : {}), timeout: 30_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} within 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** registryHostOf maps a login server argument to the host to contact and the config key. */
export function loginTarget(server: string | undefined): { key: string; host: string } {
  if (server === undefined || server === '') return { key: DOCKER_HUB_KEY, host: 'registry-1.docker.io' };
  const norm = normalizeRegistryKey(server);
  if (norm === 'docker.io') return { key: DOCKER_HUB_KEY, host: 'registry-1.docker.io' };
  const host = norm.split('/')[0]!;
  return { key: host, host };
}

/**
 * verifyLogin asks the registry whether `username`/`password` are good, as `docker login`
 * does: `GET /v2/`; a Basic challenge is answered with the credentials; a Bearer challenge
 * sends them to the token realm. Resolves when the registry accepted them (or needs none);
 * rejects with {@link LoginError} otherwise.
 */
export async function verifyLogin(host: string, username: string, password: string, opts: { insecure: boolean; signal?: AbortSignal }): Promise<void> {
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  let base = `https://${host}`;
  let first: Answer;
  try {
    first = await get(`${base}/v2/`, {}, opts.insecure, opts.signal);
  } catch (e) {
    if (!opts.insecure) throw new LoginError(host, `cannot reach ${host}: ${(e as Error).message}`);
    base = `http://${host}`;
    try {
      first = await get(`${base}/v2/`, {}, true, opts.signal);
    } catch (e2) {
      throw new LoginError(host, `cannot reach ${host}: ${(e2 as Error).message}`);
    }
  }
  if (first.status === 200) return;
  if (first.status !== 401) throw new LoginError(host, `${host} answered ${first.status} to GET /v2/`, first.status);
  const challenges = parseChallenges(first.headers['www-authenticate']);
  const bearer = challenges.find((c) => c.scheme.toLowerCase() === 'bearer');
  if (bearer !== undefined && bearer.params.realm !== undefined) {
    const realm = new URL(bearer.params.realm, base);
    if (realm.protocol === 'http:' && !opts.insecure && !isLoopbackHost(realm.host)) {
      throw new LoginError(host, `refusing to send credentials to the plain-HTTP token realm ${realm.origin} (list it with --insecure-registry)`);
    }
    if (bearer.params.service !== undefined) realm.searchParams.set('service', bearer.params.service);
    realm.searchParams.set('account', username);
    realm.searchParams.set('client_id', 'stratum');
    realm.searchParams.set('offline_token', 'true');
    const tok = await get(realm.toString(), { Authorization: basic }, opts.insecure, opts.signal).catch((e: Error) => {
      throw new LoginError(host, `cannot reach the token service ${realm.origin}: ${e.message}`);
    });
    if (tok.status === 200) return;
    throw new LoginError(host, tok.status === 401 || tok.status === 403 ? `login to ${host} refused: incorrect username or password` : `the token service ${realm.origin} answered ${tok.status}`, tok.status);
  }
  const again = await get(`${base}/v2/`, { Authorization: basic }, opts.insecure, opts.signal);
  if (again.status === 200) return;
  throw new LoginError(host, again.status === 401 || again.status === 403 ? `login to ${host} refused: incorrect username or password` : `${host} answered ${again.status} to GET /v2/ with credentials`, again.status);
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; [k: string]: unknown }>;
  credsStore?: string;
  [k: string]: unknown;
}

function readConfig(file: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as DockerConfig;
  } catch (e) {
    throw new CliError('CONFIG_INVALID', `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** writeConfig replaces the config file atomically (temp file in the same directory, rename), mode 0600. */
function writeConfig(file: string, dir: string, config: DockerConfig): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.config.json.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** findKey finds the `auths` entry for a registry however it was spelled (`https://host/`, `host`). */
function findKey(auths: Record<string, unknown>, key: string): string | undefined {
  if (Object.hasOwn(auths, key)) return key;
  const want = normalizeRegistryKey(key);
  return Object.keys(auths).find((k) => normalizeRegistryKey(k) === want);
}

async function prompt(ctx: Context, question: string, hidden: boolean): Promise<string> {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  ctx.out(question);
  const raw = hidden && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode(true);
  try {
    return await new Promise<string>((resolve, reject) => {
      let s = '';
      const onData = (b: Buffer): void => {
        for (const ch of b.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            done();
            resolve(s);
            return;
          }
          if (ch === '\x03') {
            done();
            reject(new CliError('INTERRUPTED', 'login interrupted'));
            return;
          }
          if (ch === '\x7f') s = s.slice(0, -1);
          else s += ch;
        }
      };
      const onEnd = (): void => {
        done();
        resolve(s);
      };
      const done = (): void => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      };
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.resume();
    });
  } finally {
    if (raw) {
      stdin.setRawMode(false);
      ctx.out('\n');
    }
  }
}

/**
 * login is `stratum login [-u USER] [-p PASS | --password-stdin] [SERVER]`: verifies the
 * credentials with the registry, then stores them in config.json (`Login Succeeded`).
 */
export async function login(ctx: Context, p: ParsedArgs): Promise<number> {
  const { key, host } = loginTarget(p.args[0]);
  let username = flagString(p, 'username');
  let password = flagString(p, 'password');
  const fromStdin = flagBool(p, 'password-stdin');
  if (fromStdin && password !== undefined) throw new UsageError(ctx.command, '--password and --password-stdin are mutually exclusive');
  if (fromStdin && username === undefined) throw new UsageError(ctx.command, 'must provide --username with --password-stdin');
  if (password !== undefined) ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (fromStdin) password = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
  const interactive = Context.isTTY(ctx.stdin);
  if (username === undefined) {
    if (!interactive) throw new CliError('NOT_A_TTY', 'cannot perform an interactive login from a non-TTY device: give --username and --password-stdin');
    username = (await prompt(ctx, 'Username: ', false)).trim();
  }
  if (password === undefined) {
    if (!interactive) throw new CliError('NOT_A_TTY', 'cannot perform an interactive login from a non-TTY device: give --password-stdin');
    password = await prompt(ctx, 'Password: ', true);
  }
  if (username === '') throw new CliError('LOGIN_FAILED', 'username is empty');
  if (password === '') throw new CliError('LOGIN_FAILED', 'password is empty');
  if (username.includes(':')) throw new CliError('LOGIN_FAILED', 'username must not contain ":" (it separates user and password in config.json)');
  const insecure = isLoopbackHost(host) || ctx.insecureRegistries.includes(host);
  await verifyLogin(host, username, password, { insecure, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  const file = join(ctx.configDir, 'config.json');
  const config = readConfig(file);
  const auths = { ...(config.auths ?? {}) };
  const old = findKey(auths, key);
  if (old !== undefined) delete auths[old];
  auths[key] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  writeConfig(file, ctx.configDir, { ...config, auths });
  ctx.err(`WARNING! Your password will be stored unencrypted in ${file}.\n`);
  if (config.credsStore !== undefined) ctx.err(`WARNING! credsStore "${config.credsStore}" is configured; stratum stored the credentials in the file instead.\n`);
  ctx.out('Login Succeeded\n');
  return 0;
}

/** logout is `stratum logout [SERVER]`: removes the stored credentials from config.json. */
export async function logout(ctx: Context, p: ParsedArgs): Promise<number> {
  const { key } = loginTarget(p.args[0]);
  const file = join(ctx.configDir, 'config.json');
  const config = readConfig(file);
  const auths = { ...(config.auths ?? {}) };
  const old = findKey(auths, key);
  if (old === undefined) {
    ctx.out(`Not logged in to ${key}\n`);
    return 0;
  }
  ctx.out(`Removing login credentials for ${key}\n`);
  delete auths[old];
  writeConfig(file, ctx.configDir, { ...config, auths });
  return 0;
}
