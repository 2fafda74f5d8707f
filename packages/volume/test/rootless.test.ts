import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, testUser, useLeakCheck } from '@stratum/testing';
import { busyboxRootfs, tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

// The same unprivileged user as @stratum/namespace's rootless tests.
const USER = 'stratum-rootless';
const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/rootless.ts', import.meta.url));


describe('rootless', () => {
  it('an unprivileged user keeps a volume store, copies up (owners it cannot set become its own) and mounts into a rootless container', (ctx) => {
    guard(ctx, 'root', 'native', 'unprivileged-userns', 'tool:setpriv', 'tool:useradd');
    const ids = testUser(USER);
    using t = tempDir('rootless');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    mkdirSync(join(rootfs, 'data'));
    mkdirSync(join(t.dir, 'host'));
    execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, t.dir]);
    // An image file the user may read but does not own (root's, as a root-unpacked layer would leave it).
    writeFileSync(join(rootfs, 'data', 'root-owned'), 'image content\n');
    chownSync(join(rootfs, 'data', 'root-owned'), 0, 0);
    chmodSync(join(rootfs, 'data', 'root-owned'), 0o644);
    const r = spawnSync(
      'setpriv',
      [`--reuid=${USER}`, `--regid=${USER}`, '--init-groups', '--inh-caps=-all', process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, t.dir, rootfs],
      { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' }, cwd: '/' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toEqual({
      uid: ids.uid,
      copiedUid: ids.uid,
      copiedMode: 0o644,
      stdout: "image content\n0 644\n/bin/sh: can't create /host/x: Read-only file system\n1\n",
      code: 0,
      users: ['rootless-1'],
      detached: { released: ['data'], removed: [] },
      removed: true,
    });
  });
});
