import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, probe, testSubordinateIds, testUser, useLeakCheck } from '@stratum/testing';
import { busyboxRootfs, tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const USER = 'stratum-rootless';
const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/rootless.ts', import.meta.url));

/** Creates the unprivileged test user (with /etc/subuid and /etc/subgid ranges) once. */
function ensureUser(): { uid: number; gid: number } {
  const u = testUser(USER);
  testSubordinateIds(USER, u.uid);
  return u;
}

/** Runs the fixture as the unprivileged user and returns what it printed. */
function asUser(rootfs: string, mode: string): Record<string, unknown> {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${USER}`, `--regid=${USER}`, '--init-groups', '--inh-caps=-all', process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, rootfs, mode],
    { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' }, cwd: '/' },
  );
  if (r.status !== 0) throw new Error(`fixture failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('rootless: spawn as an unprivileged user', () => {
  let ids: { uid: number; gid: number } | undefined;
  beforeAll(() => {
    if (probe('root') === null && probe('tool:setpriv') === null && probe('tool:useradd') === null) ids = ensureUser();
  });

  it('uid 0 maps to the caller; mount, uts, ipc, pid and net namespaces inside; proc mounted; pivot_root', async (ctx) => {
    guard(ctx, 'root', 'native', 'unprivileged-userns', 'tool:setpriv', 'tool:useradd');
    using t = tempDir('rootless');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    // A rootless image is unpacked as the user: its files are the user's (root inside).
    execFileSync('chown', ['-R', `${ids!.uid}:${ids!.gid}`, rootfs]);
    const r = asUser(rootfs, 'container');
    expect(r.error).toBeUndefined();
    expect(r.uid).toBe(ids!.uid);
    expect(r.stderr).toBe('');
    expect(r.status).toEqual({ code: 0, signal: null });
    const lines = String(r.stdout).split('\n');
    expect(lines[0]).toBe('0');
    expect(lines[1]).toBe('0');
    expect(lines[2]!.trim().split(/\s+/)).toEqual(['0', String(ids!.uid), '1']);
    expect(lines[3]).toBe('rootless-box');
    expect(lines[4]).toBe('pid=1');
    expect(lines[5]).toBe('procs=1');
    expect(lines[6]).toBe('null-ok');
    expect(lines[7]).toBe('null-writable');
    expect(lines[8]).toBe('1');
    expect(lines[9]).toBe('lo');
    expect(lines[10]).toBe('0');
    expect(lines[11]).toBe('rootfs-writable');
    // On the host the container process is the unprivileged user.
    expect(readFileSync(join(rootfs, 'rootfs-write')).length).toBe(0);
  });

  it('loopback: lo is up in the new network namespace; readonlyRootfs: the root is read-only, its mounts are not', async (ctx) => {
    guard(ctx, 'root', 'native', 'unprivileged-userns', 'tool:setpriv', 'tool:useradd');
    using t = tempDir('rootless-lo-ro');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    execFileSync('chown', ['-R', `${ids!.uid}:${ids!.gid}`, rootfs]);
    const r = asUser(rootfs, 'loopback-ro');
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toEqual({ code: 0, signal: null });
    // IFF_UP | IFF_LOOPBACK | IFF_RUNNING (0x49) once up; 0x8 while down.
    expect(Number(String(r.stdout).split('\n')[0]) & 1).toBe(1);
    expect(String(r.stdout).split('\n').slice(1)).toEqual(['ro', 'shm-rw', '']);
  });

  it('enter() joins the user namespace first, as root of it', async (ctx) => {
    guard(ctx, 'root', 'native', 'unprivileged-userns', 'tool:setpriv', 'tool:useradd');
    using t = tempDir('rootless-enter');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    execFileSync('chown', ['-R', `${ids!.uid}:${ids!.gid}`, rootfs]);
    const r = asUser(rootfs, 'enter');
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0\nrootless-box\n/bin/sh -c echo ready; read x \n');
  });

  it('init: true as PID 1, and namespace() of its (non-dumpable) init still opens', async (ctx) => {
    guard(ctx, 'root', 'native', 'unprivileged-userns', 'tool:setpriv', 'tool:useradd');
    using t = tempDir('rootless-init');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    execFileSync('chown', ['-R', `${ids!.uid}:${ids!.gid}`, rootfs]);
    const r = asUser(rootfs, 'init');
    expect(r.error).toBeUndefined();
    expect(r.status).toEqual({ code: 0, signal: null });
    expect(r.link).toBe(`net:[${String(r.inode)}]`);
  });

  it('without a user namespace, or mapping ids it does not own, the caller gets EPERM naming the step', async (ctx) => {
    guard(ctx, 'root', 'native', 'unprivileged-userns', 'tool:setpriv', 'tool:useradd');
    using t = tempDir('rootless-errors');
    const r = asUser(t.dir, 'errors');
    expect(r.noUserns).toEqual({ step: 'unshare', code: 'EPERM' });
    expect(r.foreignMap).toMatchObject({ step: 'id-map' });
  });

  it('maps ranges from /etc/subuid through newuidmap/newgidmap', async (ctx) => {
    guard(ctx, 'root', 'native', 'unprivileged-userns', 'tool:setpriv', 'tool:useradd', 'tool:newuidmap', 'tool:newgidmap');
    using t = tempDir('rootless-ranges');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    execFileSync('chown', ['-R', `${ids!.uid}:${ids!.gid}`, rootfs]);
    const r = asUser(rootfs, 'ranges');
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    const map = String(r.stdout).trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(map[0]).toEqual(['0', String(ids!.uid), '1']);
    expect(map[1]).toEqual(['1', String(r.sub), '1000']);
    expect(map[2]).toEqual(['5:6']);
  });
});
