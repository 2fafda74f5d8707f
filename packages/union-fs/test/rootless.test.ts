/**
 * Rootless, for real: an unprivileged user (setpriv) builds layers and mounts them. Inside a user
 * + mount namespace (`unshare -Urm`) the kernel's overlay works with `userxattr` (Linux ≥ 5.11),
 * through both mount paths, and selectDriver picks it; without a user namespace the kernel
 * refuses, fuse-overlayfs cannot open /dev/fuse on this host, and vfs is chosen with those reasons.
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

function runAsUser(dir: string, mode: 'userns' | 'plain'): Record<string, any> {
  const node = [process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, mode, dir];
  const argv = ['--reuid', USER, '--regid', USER, '--init-groups', '--inh-caps=-all', ...(mode === 'userns' ? ['unshare', '--user', '--map-root-user', '--mount', ...node] : node)];
  const r = spawnSync('setpriv', argv, {
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' },
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Record<string, any>;
}

describe('rootless', () => {
  let ids: { uid: number; gid: number } | undefined;
  beforeAll(() => {
    if (probe('root') === null && probe('tool:setpriv') === null && probe('tool:useradd') === null) ids = testUser(USER);
  });

  it('in a user namespace: overlay with userxattr (both mount paths), chosen by selectDriver; diff reproduces the rootfs', (ctx) => {
    guard(ctx, 'root', 'tool:setpriv', 'tool:useradd', 'unprivileged-userns', 'overlay');
    using t = tempDir('rootless-userns');
    chownSync(t.dir, ids!.uid, ids!.gid);
    const out = runAsUser(t.dir, 'userns');
    expect(out.uid).toBe(0); // root inside, mapped to the user outside
    expect(out.inUserNamespace).toBe(true);
    expect(out.opaqueXattr).toBe('y');
    expect(out.driver).toBe('overlay');
    expect(out.reason).toMatch(/userxattr in a user namespace/);
    for (const method of ['lowerdir+', 'classic']) {
      expect(out[method]).toEqual({ userxattr: true, merged: true, whiteout: '20000 0:0', copyUp: 'changed\n', opaque: 'y', unmounted: true });
    }
    expect(out.prepare).toEqual({ merged: true, change: 'upper user', diffReproduces: true, var: ['fresh'] });
    expect(out.removed).toBe(true);
    expect(out.lowersUnchanged).toBe(true);
  });

  it('without a user namespace: the kernel refuses (EPERM), fuse-overlayfs cannot, vfs is chosen and works', (ctx) => {
    guard(ctx, 'root', 'tool:setpriv', 'tool:useradd');
    using t = tempDir('rootless-plain');
    chownSync(t.dir, ids!.uid, ids!.gid);
    const out = runAsUser(t.dir, 'plain');
    expect(out.uid).toBe(ids!.uid);
    expect(out.inUserNamespace).toBe(false);
    expect(out.mountError).toBe('OVERLAY_MOUNT_FAILED EPERM');
    const rejected = out.rejected as Array<{ name: string; reason: string }>;
    expect(rejected[0]).toMatchObject({ name: 'overlay', reason: expect.stringMatching(/EPERM/) });
    if (out.driver === 'vfs') {
      // This host: /dev/fuse is root's only.
      expect(rejected[1]).toMatchObject({ name: 'fuse-overlayfs', reason: expect.stringMatching(/dev\/fuse|fuse-overlayfs/) });
      expect(out.prepare).toEqual({ merged: true, change: 'from/to', diffReproduces: true, var: ['fresh'] });
    } else {
      expect(out.driver).toBe('fuse-overlayfs');
      expect(out.prepare).toMatchObject({ merged: true, diffReproduces: true, var: ['fresh'] });
    }
    expect(out.removed).toBe(true);
    expect(out.lowersUnchanged).toBe(true);
  });
});
