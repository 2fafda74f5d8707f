/**
 * Rootless: applyLayer and createLayer run as a real unprivileged user (setpriv): no chown,
 * devices skipped with a warning, trusted.* xattrs skipped with a warning, overlay whiteouts
 * with the user.overlay.* xattrs and 0/0 character devices (allowed unprivileged since Linux 5.8).
 */
import { spawnSync } from 'node:child_process';
import { chownSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, probe, testUser, useLeakCheck } from '@stratum/testing';
import { tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const USER = 'stratum-rootless';
const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/rootless.ts', import.meta.url));


describe('rootless apply and create', () => {
  let ids: { uid: number; gid: number } | undefined;
  beforeAll(() => {
    if (probe('root') === null && probe('tool:setpriv') === null && probe('tool:useradd') === null) ids = testUser(USER);
  });

  it('as an unprivileged user: files are the user’s, devices and trusted.* skipped with warnings, overlay form with user.* xattrs', (ctx) => {
    guard(ctx, 'root', 'tool:setpriv', 'tool:useradd');
    using t = tempDir('rootless');
    chownSync(t.dir, ids!.uid, ids!.gid);
    const r = spawnSync(
      'setpriv',
      [`--reuid=${USER}`, `--regid=${USER}`, '--init-groups', '--inh-caps=-all', process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, t.dir],
      { encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' }, cwd: fileURLToPath(new URL('..', import.meta.url)) },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      uid: number;
      flatWarnings: string[];
      overlayWarnings: string[];
      flat: Record<string, { type: string; mode: number; uid: number; gid: number; xattrs?: Record<string, string> }>;
      upper: Record<string, { type: string; what?: string }>;
      opaque: string;
      names: string[];
      diffID: string;
    };
    expect(out.uid).toBe(ids!.uid);
    expect(out.flatWarnings).toEqual(['XATTR_SKIPPED usr/bin/su', 'DEVICE_SKIPPED dev/null']);
    expect(out.overlayWarnings).toEqual(['XATTR_SKIPPED usr/bin/su', 'DEVICE_SKIPPED dev/null']);
    for (const s of Object.values(out.flat)) expect([s.uid, s.gid]).toEqual([ids!.uid, ids!.gid]);
    expect(out.flat['etc/shadow']).toMatchObject({ type: 'file', mode: 0o640 });
    expect(out.flat['usr/bin/su']).toMatchObject({ mode: 0o4755, xattrs: { 'user.ok': '32' } });
    expect(out.flat['dev/fifo']).toMatchObject({ type: 'fifo', mode: 0o600 });
    expect(out.flat['dev/null']).toBeUndefined();
    expect(out.upper['etc/gone']).toMatchObject({ type: 'char', what: '0:0' });
    expect(out.opaque).toBe('y');
    expect(out.names).toContain(`etc/shadow ${ids!.uid}`);
    expect(out.diffID).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('as uid 0 of a new user namespace (unshare -Ur): the rootless defaults apply, user.* overlay xattrs', (ctx) => {
    guard(ctx, 'root', 'userns', 'tool:unshare');
    using t = tempDir('userns-root');
    const r = spawnSync('unshare', ['-Ur', process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, t.dir], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' },
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { uid: number; overlayWarnings: string[]; opaque: string; upper: Record<string, { type: string; what?: string }> };
    // geteuid() is 0 here, yet trusted.* xattrs and mknod of devices are the host's to grant.
    expect(out.uid).toBe(0);
    expect(out.overlayWarnings).toEqual(['XATTR_SKIPPED usr/bin/su', 'DEVICE_SKIPPED dev/null']);
    expect(out.opaque).toBe('y');
    expect(out.upper['etc/gone']).toMatchObject({ type: 'char', what: '0:0' });
  });
});
