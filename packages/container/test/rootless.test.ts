/**
 * Rootless: as an unprivileged user the records work (create, get, list, inspect, remove; the
 * storage driver chosen is vfs, a forced overlay is refused with its reason) and starting says
 * clearly that it needs root (FeatureUnavailableError) instead of failing half way.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { busyboxRootfs, tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const USER = 'stratum-rootless';
const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/rootless.ts', import.meta.url));

function ensureUser(): { uid: number; gid: number } {
  if (spawnSync('id', ['-u', USER]).status !== 0) execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', 'Stratum rootless tests', USER]);
  return { uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' })) };
}

describe('rootless', () => {
  it('records work without root; start is FeatureUnavailableError', (ctx) => {
    guard(ctx, 'root', 'tool:setpriv', 'tool:useradd');
    const ids = ensureUser();
    const dir = tempDir('rootless');
    try {
      const rootfs = busyboxRootfs(join(dir, 'rootfs'));
      mkdirSync(join(dir, 'state'));
      execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, dir]);
      const r = spawnSync('setpriv', [`--reuid=${USER}`, `--regid=${USER}`, '--init-groups', '--inh-caps=-all', process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, JSON.stringify({ root: join(dir, 'state'), rootfs })], {
        cwd: join(import.meta.dirname, '..'),
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
        timeout: 60_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        uid: ids.uid,
        created: true,
        listed: ['/stratum-rootless'],
        status: 'created',
        driver: 'vfs',
        forced: { code: 'DRIVER_UNAVAILABLE', driver: 'overlay' },
        start: { name: 'FeatureUnavailableError', code: 'FEATURE_UNAVAILABLE', feature: 'starting a container without root' },
        removed: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
