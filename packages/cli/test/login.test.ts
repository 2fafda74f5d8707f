/**
 * `stratum login` / `logout` against a real docker-registry (htpasswd and bearer-token
 * variants): credentials are checked by the registry, then written to Docker's config.json the
 * way `docker login` writes them, where the registry client finds them.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { guard } from '@stratum/testing';
import { Store } from '@stratum/image';
import { RegistryClient, dockerConfigAuth } from '@stratum/registry-client';
import { memoryImage, memoryLayer, randomTree, tarOf } from '@stratum/testing';
import { registryUnavailable, startRegistry, type RunningRegistry } from '../../registry-client/test/registry-fixture.js';
import { stratum, tempRoot } from './helpers.js';

// No leak check: these tests create no kernel objects, and the registry fixture's watchdog
// (started once for the file) keeps starting `sleep` children the check would blame on each test.

const users = [{ username: 'alice', password: 's3cret:with colon' }];

describe('stratum login/logout', () => {
  let basic: RunningRegistry | undefined;
  let token: RunningRegistry | undefined;
  let t: ReturnType<typeof tempRoot>;
  beforeAll(async () => {
    if (registryUnavailable() !== undefined) return;
    basic = await startRegistry({ htpasswd: users });
    token = await startRegistry({ token: { users } });
  });
  afterAll(async () => {
    await basic?.stop();
    await token?.stop();
  });
  beforeEach(() => {
    t = tempRoot('login');
  });
  afterEach(() => t.cleanup());

  const env = (): Record<string, string> => ({ DOCKER_CONFIG: join(t.root, 'docker') });

  it('htpasswd: --password-stdin, config.json auths entry as docker writes it, usable by the client', async (ctx) => {
    guard(ctx, 'tool:docker-registry', 'tool:htpasswd');
    const r = await stratum(['login', '-u', 'alice', '--password-stdin', basic!.host], { root: t.root, env: env(), stdin: `${users[0]!.password}\n` });
    expect(r).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    const file = join(t.root, 'docker', 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths[basic!.host]!.auth, 'base64').toString()).toBe(`alice:${users[0]!.password}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The registry client (what pull/push use) finds them: listing tags needs auth here.
    await using client = new RegistryClient({ auth: dockerConfigAuth({ configFile: file }), insecure: [basic!.host] });
    await expect(client.catalog(basic!.host)).resolves.toEqual([]);
    // logout removes only that entry and keeps the rest of the file.
    const c2 = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...c2, psFormat: 'x', auths: { ...(c2.auths as object), 'other.example:5000': { auth: 'eDp5' } } }));
    expect((await stratum(['logout', basic!.host], { root: t.root, env: env() })).stdout).toBe(`Removing login credentials for ${basic!.host}\n`);
    const after = JSON.parse(readFileSync(file, 'utf8')) as { auths: Record<string, unknown>; psFormat: string };
    expect(Object.keys(after.auths)).toEqual(['other.example:5000']);
    expect(after.psFormat).toBe('x');
    expect((await stratum(['logout', basic!.host], { root: t.root, env: env() })).stdout).toBe(`Not logged in to ${basic!.host}\n`);
  });

  it('htpasswd: push and pull use what login stored; after logout the registry refuses', async (ctx) => {
    guard(ctx, 'tool:docker-registry', 'tool:htpasswd');
    const root = join(t.root, 'state');
    {
      await using store = await Store.open(root);
      await store.write(await memoryImage([memoryLayer(await tarOf(randomTree({ seed: 9, files: 3 })))]), `${basic!.host}/private/app:1`);
    }
    const denied = await stratum(['push', `${basic!.host}/private/app:1`], { root, env: env() });
    expect(denied.code).toBe(125);
    expect(denied.stderr).toMatch(/^stratum image push: .*(401|UNAUTHORIZED|unauthorized)/);
    expect((await stratum(['login', '-u', 'alice', '--password-stdin', basic!.host], { root, env: env(), stdin: users[0]!.password })).code).toBe(0);
    const pushed = await stratum(['push', `${basic!.host}/private/app:1`], { root, env: env() });
    expect(pushed.code, pushed.stderr).toBe(0);
    const pulled = await stratum(['pull', '-q', `${basic!.host}/private/app:1`], { root: join(t.root, 'other'), env: env() });
    expect(pulled).toEqual({ code: 0, stdout: `${basic!.host}/private/app:1\n`, stderr: '' });
    expect((await stratum(['logout', basic!.host], { root, env: env() })).code).toBe(0);
    expect((await stratum(['pull', '-q', `${basic!.host}/private/app:1`], { root: join(t.root, 'third'), env: env() })).code).toBe(125);
  });

  it('htpasswd: a wrong password is refused, one line on stderr, exit 125, nothing written', async (ctx) => {
    guard(ctx, 'tool:docker-registry', 'tool:htpasswd');
    const r = await stratum(['login', '--username=alice', '--password-stdin', basic!.host], { root: t.root, env: env(), stdin: 'wrong' });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^stratum login: login to 127\.0\.0\.1:\d+ refused: incorrect username or password\n$/);
    expect(() => statSync(join(t.root, 'docker', 'config.json'))).toThrow();
  });

  it('token auth: the credentials go to the token realm; -p warns', async (ctx) => {
    guard(ctx, 'tool:docker-registry');
    const ok = await stratum(['login', '-u', 'alice', '-p', users[0]!.password, token!.host], { root: t.root, env: env() });
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('WARNING! Using --password via the CLI is insecure');
    expect(token!.tokenServer!.requests.some((q) => q.username === 'alice' && q.authenticated)).toBe(true);
    const bad = await stratum(['login', '-u', 'alice', '-p', 'nope', token!.host], { root: t.root, env: env() });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/incorrect username or password/);
  });

  it('usage errors: no TTY to prompt on, exclusive flags', async () => {
    mkdirSync(join(t.root, 'docker'));
    const r = await stratum(['login', '127.0.0.1:1'], { root: t.root, env: env() });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/non-TTY/);
    const x = await stratum(['login', '-u', 'a', '-p', 'b', '--password-stdin', 'h:1'], { root: t.root, env: env() });
    expect(x.code).toBe(125);
    expect(x.stderr).toMatch(/mutually exclusive \(see 'stratum login --help'\)/);
  });
});
