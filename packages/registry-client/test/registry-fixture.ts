/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, with a
 * free port and a temp storage dir, in four variants — plain HTTP, TLS with a self-signed CA,
 * htpasswd basic auth, and bearer-token auth with a small token server in this process that
 * signs RS256 JWTs (the registry trusts the signing certificate through `rootcertbundle`; the
 * token names it in `x5c`). Everything it creates is removed by `stop()`.
 *
 * Generic: no Stratum import, so @stratum/testing can take it as is.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A user of a registry variant with auth. */
export interface FixtureUser {
  username: string;
  password: string;
}

/** Token-auth variant: who may do what. */
export interface TokenOptions {
  /** Users the token server accepts (HTTP Basic at the realm). */
  users: FixtureUser[];
  /**
   * Actions granted without credentials (default `[]`: anonymous gets a token with no access,
   * which the registry then refuses, like a private registry).
   */
  anonymous?: ('pull' | 'push')[];
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
}

/** RegistryOptions: which variant to start. */
export interface RegistryOptions {
  /** Serve HTTPS with a certificate signed by a fresh test CA (returned as `ca`). */
  tls?: boolean;
  /** htpasswd basic auth for these users (bcrypt, made with `htpasswd -B`). */
  htpasswd?: FixtureUser[];
  /** Bearer-token auth with a token server on another port of 127.0.0.1. */
  token?: TokenOptions;
  /** Allow DELETE (storage.delete.enabled; default true). */
  delete?: boolean;
}

/** One request the token server answered, for assertions. */
export interface TokenRequest {
  /** The user the Basic credentials named, or undefined for anonymous. */
  username: string | undefined;
  /** Whether the password was right. */
  authenticated: boolean;
  service: string | undefined;
  scopes: string[];
}

/** The token server of a token-auth registry. */
export interface TokenServer {
  /** Realm URL (`http://127.0.0.1:PORT/token`). */
  realm: string;
  /** `host:port` of the token server. */
  host: string;
  /** Every token request so far. */
  requests: TokenRequest[];
}

/** A running registry. */
export interface RunningRegistry {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`: the registry part of references. */
  host: string;
  /** PEM of the CA that signed the TLS certificate (TLS variant). */
  ca?: string;
  /** Storage root (for tests that look at or tamper with stored data). */
  storage: string;
  /** The token server (token variant). */
  tokenServer?: TokenServer;
  /** Stops the registry (and token server) and deletes every file it made. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const registryBin = '/usr/bin/docker-registry';

/** registryAvailable: why the fixture can't run here, or undefined when it can. */
export function registryUnavailable(): string | undefined {
  if (!existsSync(registryBin)) return `${registryBin} is not installed (Debian package docker-registry)`;
  return undefined;
}

/** freePort asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** makeCertificates writes a CA and a server certificate for 127.0.0.1/localhost into `dir`. */
function makeTls(dir: string): { ca: string; cert: string; key: string } {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=stratum test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** The token server: GET /token?service=&scope=… with optional Basic auth → a signed JWT. */
async function startTokenServer(dir: string, opts: TokenOptions, service: string, issuer: string): Promise<{ server: Server; info: TokenServer; bundle: string }> {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.pem', '-days', '2', '-subj', '/CN=stratum token signer'], dir);
  const key = createPrivateKey(readFileSync(join(dir, 'token.key')));
  const certPem = readFileSync(join(dir, 'token.pem'), 'utf8');
  const x5c = [new X509Certificate(certPem).raw.toString('base64')];
  const requests: TokenRequest[] = [];
  const users = new Map(opts.users.map((u) => [u.username, u.password]));
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let username: string | undefined;
    let authenticated = false;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      username = decoded.slice(0, colon);
      authenticated = users.get(username) === decoded.slice(colon + 1);
      if (!authenticated) {
        requests.push({ username, authenticated, service: url.searchParams.get('service') ?? undefined, scopes: url.searchParams.getAll('scope') });
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    requests.push({ username, authenticated, service: url.searchParams.get('service') ?? undefined, scopes });
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const scope of scopes) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || last === first) continue;
      const type = scope.slice(0, first);
      const name = scope.slice(first + 1, last);
      const asked = scope.slice(last + 1).split(',');
      const allowed = authenticated ? asked : asked.filter((a) => (opts.anonymous ?? []).includes(a as 'pull' | 'push'));
      access.push({ type, name, actions: allowed });
    }
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 300;
    const header = { typ: 'JWT', alg: 'RS256', x5c };
    const claims = { iss: issuer, sub: username ?? '', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomBytes(12).toString('hex'), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), key);
    const token = `${signingInput}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, info: { realm: `http://127.0.0.1:${port}/token`, host: `127.0.0.1:${port}`, requests }, bundle: join(dir, 'token.pem') };
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

async function waitReady(url: string, ca: string | undefined, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(`${url}/v2/`, { method: 'GET', ...(ca ? { ca } : {}), timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
      req.end();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${url} within 20 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * startRegistry starts docker-registry on 127.0.0.1 with a free port, a temp storage dir and
 * the asked variant; resolves when `/v2/` answers. `stop()` (or `await using`) ends it and
 * removes its files.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const why = registryUnavailable();
  if (why) throw new Error(why);
  if (opts.htpasswd && opts.token) throw new Error('choose htpasswd or token auth, not both');
  const dir = mkdtempSync(join(tmpdir(), 'stratum-registry-'));
  let child: ChildProcess | undefined;
  let tokenServer: Server | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (tokenServer) {
      tokenServer.closeAllConnections();
      await new Promise<void>((resolve) => tokenServer!.close(() => resolve()));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const storage = join(dir, 'storage');
    const lines = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${yamlString(storage)}`,
      '  delete:',
      `    enabled: ${opts.delete ?? true}`,
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: ${yamlString(host)}`,
      `  secret: ${yamlString(randomBytes(16).toString('hex'))}`,
    ];
    let ca: string | undefined;
    if (opts.tls) {
      const t = makeTls(dir);
      ca = readFileSync(t.ca, 'utf8');
      lines.push('  tls:', `    certificate: ${yamlString(t.cert)}`, `    key: ${yamlString(t.key)}`);
    }
    let info: TokenServer | undefined;
    if (opts.htpasswd) {
      const file = join(dir, 'htpasswd');
      const entries = opts.htpasswd.map((u) => execFileSync('htpasswd', ['-Bbn', u.username, u.password], { encoding: 'utf8' }).trim());
      writeFileSync(file, `${entries.join('\n')}\n`);
      lines.push('auth:', '  htpasswd:', '    realm: stratum-test', `    path: ${yamlString(file)}`);
    } else if (opts.token) {
      const service = `stratum-test-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`;
      const issuer = 'stratum-test-token-issuer';
      const t = await startTokenServer(dir, opts.token, service, issuer);
      tokenServer = t.server;
      info = t.info;
      lines.push('auth:', '  token:', `    realm: ${yamlString(t.info.realm)}`, `    service: ${yamlString(service)}`, `    issuer: ${yamlString(issuer)}`, `    rootcertbundle: ${yamlString(t.bundle)}`);
    }
    const config = join(dir, 'config.yml');
    writeFileSync(config, `${lines.join('\n')}\n`);
    let log = '';
    // A watchdog shell owns the registry: stop() TERMs it and it ends the registry; if this
    // process dies without stop() (a killed test run), it ends the registry and removes the dir.
    const watchdog = [
      'reg="$1"; cfg="$2"; owner="$3"; dir="$4"',
      // The registry logs to the pipe; the shell's own messages ("Terminated") must not hit a
      // closed pipe after the owner died, or SIGPIPE ends it before it cleans up.
      'exec 3>&2 2>/dev/null; trap "" PIPE',
      '"$reg" serve "$cfg" 2>&3 & r=$!',
      'trap \'kill $r 2>/dev/null; wait $r; kill -0 "$owner" 2>/dev/null || rm -rf "$dir"; exit 0\' TERM INT HUP',
      'while kill -0 "$owner" 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.5; done',
      'kill $r 2>/dev/null; wait $r; st=$?',
      'kill -0 "$owner" 2>/dev/null || rm -rf "$dir"',
      'exit $st',
    ].join('\n');
    child = spawn('/bin/sh', ['-c', watchdog, 'stratum-registry-watchdog', registryBin, config, String(process.pid), dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
    });
    const keep = (d: Buffer): void => {
      log = (log + d.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const url = `${opts.tls ? 'https' : 'http'}://${host}`;
    await waitReady(url, ca, child, () => log);
    const running: RunningRegistry = {
      url,
      host,
      storage,
      ...(ca !== undefined ? { ca } : {}),
      ...(info !== undefined ? { tokenServer: info } : {}),
      stop,
      [Symbol.asyncDispose]: stop,
    };
    return running;
  } catch (err) {
    await stop();
    throw err;
  }
}
