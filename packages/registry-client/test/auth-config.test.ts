/**
 * Credentials as docker and podman store them: config.json `auths`, `credHelpers`,
 * `credsStore` (real `docker-credential-*` helper scripts on PATH, spoken to with Docker's
 * protocol), podman's auth.json through REGISTRY_AUTH_FILE — and then used against the real
 * registry with htpasswd and token auth.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guard } from '@stratum/testing';
import { CredentialHelperError, RegistryClient, RegistryError, dockerConfigAuth } from '../src/index.js';
import { startRegistry } from './registry-fixture.js';
import { randomImage } from './helpers.js';

let dir: string;
let bin: string;
let log: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stratum-auth-'));
  bin = join(dir, 'bin');
  mkdirSync(bin);
  log = join(dir, 'helper.log');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

/**
 * A credential helper speaking Docker's protocol: `docker-credential-NAME get`, the server URL
 * on stdin, `{ServerURL, Username, Secret}` on stdout, "credentials not found" + exit 1 when it
 * has nothing. It logs what it was asked.
 */
function helper(name: string, entries: Record<string, { Username: string; Secret: string }>, opts: { fail?: boolean } = {}): void {
  const cases = Object.entries(entries)
    .map(([server, e]) => `  ${JSON.stringify(server)}) printf '%s' ${shellQuote(JSON.stringify({ ServerURL: server, ...e }))} ;;`)
    .join('\n');
  const script = `#!/bin/sh
read -r server
echo "$1 $server" >> ${shellQuote(log)}
${opts.fail ? 'echo "keychain locked" >&2; exit 3' : ''}
case "$server" in
${cases}
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
  const path = join(bin, `docker-credential-${name}`);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: `${bin}:${process.env.PATH}`, HOME: dir, ...extra };
}

describe('dockerConfigAuth', () => {
  it('reads auths (base64 user:password, identity and registry tokens) and normalizes Docker Hub keys', async () => {
    const cfg = join(dir, 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
          'registry.example:5000': { auth: b64('alice:pa:ss') },
          'https://oauth.example/': { identitytoken: 'refresh-me' },
          'tok.example': { registrytoken: 'bearer-me' },
          'empty.example': {},
        },
      }),
    );
    const auth = dockerConfigAuth({ configFile: cfg, authFiles: false, env: env() });
    expect(await auth('docker.io', 'library/nginx')).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(await auth('registry.example:5000')).toEqual({ username: 'alice', password: 'pa:ss' });
    expect(await auth('oauth.example')).toEqual({ identityToken: 'refresh-me' });
    expect(await auth('tok.example')).toEqual({ registryToken: 'bearer-me' });
    expect(await auth('empty.example')).toBeUndefined();
    expect(await auth('elsewhere.example')).toBeUndefined();
  });

  it('finds ~/.docker/config.json and $DOCKER_CONFIG by default; a missing file is no error', async () => {
    mkdirSync(join(dir, '.docker'));
    writeFileSync(join(dir, '.docker', 'config.json'), JSON.stringify({ auths: { 'a.example': { auth: b64('u:p') } } }));
    expect(await dockerConfigAuth({ env: env() })('a.example')).toEqual({ username: 'u', password: 'p' });
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', 'config.json'), JSON.stringify({ auths: { 'a.example': { auth: b64('v:q') } } }));
    expect(await dockerConfigAuth({ env: env({ DOCKER_CONFIG: join(dir, 'other') }) })('a.example')).toEqual({ username: 'v', password: 'q' });
    expect(await dockerConfigAuth({ env: { HOME: join(dir, 'nowhere') } })('a.example')).toBeUndefined();
    writeFileSync(join(dir, 'bad.json'), '{not json');
    await expect(dockerConfigAuth({ configFile: join(dir, 'bad.json'), authFiles: false })('a.example')).rejects.toMatchObject({ code: 'INVALID_AUTH_FILE' });
  });

  it("podman's auth.json via REGISTRY_AUTH_FILE comes first, most specific namespace first", async () => {
    const podman = join(dir, 'auth.json');
    writeFileSync(
      podman,
      JSON.stringify({ auths: { 'quay.example': { auth: b64('org-wide:1') }, 'quay.example/team': { auth: b64('team:2') }, 'quay.example/team/app': { auth: b64('app:3') } } }),
    );
    mkdirSync(join(dir, '.docker'));
    writeFileSync(join(dir, '.docker', 'config.json'), JSON.stringify({ auths: { 'quay.example': { auth: b64('docker:0') }, 'only.docker': { auth: b64('d:d') } } }));
    const auth = dockerConfigAuth({ env: env({ REGISTRY_AUTH_FILE: podman }) });
    expect(await auth('quay.example', 'team/app')).toEqual({ username: 'app', password: '3' });
    expect(await auth('quay.example', 'team/other')).toEqual({ username: 'team', password: '2' });
    expect(await auth('quay.example', 'else/x')).toEqual({ username: 'org-wide', password: '1' });
    expect(await auth('only.docker')).toEqual({ username: 'd', password: 'd' });
    // Without REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json is podman's default.
    mkdirSync(join(dir, 'run', 'containers'), { recursive: true });
    writeFileSync(join(dir, 'run', 'containers', 'auth.json'), JSON.stringify({ auths: { 'quay.example': { auth: b64('xdg:4') } } }));
    expect(await dockerConfigAuth({ env: env({ XDG_RUNTIME_DIR: join(dir, 'run') }) })('quay.example')).toEqual({ username: 'xdg', password: '4' });
  });

  it('runs credHelpers and credsStore with Docker’s protocol', async () => {
    helper('stratumtest', {
      'https://index.docker.io/v1/': { Username: 'hub', Secret: 'hubsecret' },
      'reg.example:5000': { Username: 'alice', Secret: 's3cret' },
      'oauth.example': { Username: '<token>', Secret: 'refresh-token' },
    });
    helper('stratumstore', { 'store.example': { Username: 'bob', Secret: 'fromstore' } });
    const cfg = join(dir, 'config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        auths: { 'reg.example:5000': { auth: b64('not:used') } },
        credHelpers: { 'reg.example:5000': 'stratumtest', 'docker.io': 'stratumtest', 'oauth.example': 'stratumtest', 'nothing.example': 'stratumtest' },
        credsStore: 'stratumstore',
      }),
    );
    const auth = dockerConfigAuth({ configFile: cfg, authFiles: false, env: env() });
    expect(await auth('reg.example:5000')).toEqual({ username: 'alice', password: 's3cret' });
    expect(await auth('docker.io', 'library/busybox')).toEqual({ username: 'hub', password: 'hubsecret' });
    expect(await auth('oauth.example')).toEqual({ identityToken: 'refresh-token' });
    expect(await auth('nothing.example')).toBeUndefined();
    expect(await auth('store.example')).toEqual({ username: 'bob', password: 'fromstore' });
    // Asked once per registry: answers are cached.
    expect(await auth('reg.example:5000')).toEqual({ username: 'alice', password: 's3cret' });
    const asked = readFileSync(log, 'utf8').trim().split('\n');
    expect(asked).toEqual(['get reg.example:5000', 'get https://index.docker.io/v1/', 'get oauth.example', 'get nothing.example', 'get store.example']);
  });

  it('a failing helper is a CredentialHelperError; a missing one too', async () => {
    helper('broken', {}, { fail: true });
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ credHelpers: { 'x.example': 'broken', 'y.example': 'not-installed' } }));
    const auth = dockerConfigAuth({ configFile: cfg, authFiles: false, env: env() });
    const err = (await Promise.resolve(auth('x.example')).catch((e: unknown) => e)) as CredentialHelperError;
    expect(err).toBeInstanceOf(CredentialHelperError);
    expect([err.code, err.helper, err.serverUrl, err.exitCode]).toEqual(['CREDENTIAL_HELPER_FAILED', 'broken', 'x.example', 3]);
    expect(err.stderr).toContain('keychain locked');
    await expect(Promise.resolve(auth('y.example'))).rejects.toBeInstanceOf(CredentialHelperError);
  });
});

describe('dockerConfigAuth against the real registry', () => {
  it('htpasswd: pushes with auths from config.json and pulls with a credential helper', async (ctx) => {
    guard(ctx, 'tool:docker-registry', 'tool:htpasswd');
    await using reg = await startRegistry({ htpasswd: [{ username: 'alice', password: 'secret' }] });
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: b64('alice:secret') } } }));
    const img = await randomImage({ seed: 50 });
    await using pusher = new RegistryClient({ insecure: [reg.host], auth: dockerConfigAuth({ configFile: cfg, authFiles: false }) });
    await pusher.push(img, `${reg.host}/cfg/app:1`);

    helper('stratumreg', { [reg.host]: { Username: 'alice', Secret: 'secret' } });
    writeFileSync(cfg, JSON.stringify({ credHelpers: { [reg.host]: 'stratumreg' } }));
    await using reader = new RegistryClient({ insecure: [reg.host], auth: dockerConfigAuth({ configFile: cfg, authFiles: false, env: env() }) });
    expect((await reader.resolve(`${reg.host}/cfg/app:1`)).digest).toBe(await img.digest());
    expect(readFileSync(log, 'utf8').trim()).toBe(`get ${reg.host}`);

    await using nobody = new RegistryClient({ insecure: [reg.host], auth: dockerConfigAuth({ configFile: join(dir, 'none.json'), authFiles: false }) });
    await expect(nobody.resolve(`${reg.host}/cfg/app:1`)).rejects.toBeInstanceOf(RegistryError);
  });

  it('token auth: podman auth.json credentials reach the token realm', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    await using reg = await startRegistry({ token: { users: [{ username: 'carol', password: 'pw' }] } });
    const file = join(dir, 'auth.json');
    writeFileSync(file, JSON.stringify({ auths: { [reg.host]: { auth: b64('carol:pw') } } }));
    await using c = new RegistryClient({ insecure: [reg.host], auth: dockerConfigAuth({ env: env({ REGISTRY_AUTH_FILE: file }) }) });
    const img = await randomImage({ seed: 51 });
    await c.push(img, `${reg.host}/pod/app:1`);
    expect(await c.tags(`${reg.host}/pod/app`)).toEqual(['1']);
    expect(reg.tokenServer!.requests.every((r) => r.username === 'carol' && r.authenticated)).toBe(true);
  });
});
