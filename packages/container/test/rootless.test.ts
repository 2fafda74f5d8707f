/**
 * Rootless: an unprivileged user runs containers — a user namespace (uid 0 inside is the user
 * outside), mount/pid/uts/ipc/network namespaces, the vfs storage driver, init, hostname, logs,
 * exec, stop, commit of its changes and a run of the committed image, volumes, tmpfs and a
 * read-only root, `await using` — and gets FeatureUnavailableError, before anything is made, for
 * what needs root (a bridge network, published ports, cgroup limits on this host) and for what
 * needs a cgroup (pause, stats, top).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, testSubordinateIds, testUser, useLeakCheck } from '@stratum/testing';
import { Runtime } from '../src/index.js';
import { busyboxImage, busyboxRootfs, tarListing, tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/rootless.ts', import.meta.url));

/** A TCP port free on 127.0.0.1 now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const failed = (feature: string): Record<string, unknown> => ({ name: 'FeatureUnavailableError', code: 'FEATURE_UNAVAILABLE', feature });

describe('rootless', () => {
  it('an unprivileged user runs, execs into, stops, commits and removes containers; what needs root is refused up front', async (ctx) => {
    guard(ctx, 'root', 'native', 'unprivileged-userns', 'tool:setpriv', 'tool:useradd', 'tool:usermod', 'tool:newuidmap', 'tool:newgidmap', 'tool:slirp4netns');
    const user = testUser();
    testSubordinateIds(user.name, user.uid);
    // slirp4netns opens /dev/net/tun as the user: 0666 as Debian's udev makes it (this VM has no udev).
    if ((statSync('/dev/net/tun').mode & 0o006) !== 0o006) chmodSync('/dev/net/tun', 0o666);
    const dir = tempDir('rootless');
    try {
      const root = join(dir, 'state');
      // The image is written by root (its files are root's in the layer), then the state dir is
      // handed to the user, as if the user had pulled it.
      const rt = await Runtime.open({ root });
      await busyboxImage(rt, busyboxRootfs(join(dir, 'rootfs')), 'busybox:rootless');
      await rt.close();
      const port = await freePort();
      const bind = join(dir, 'bind');
      mkdirSync(bind);
      writeFileSync(join(bind, 'file'), 'bound\n');
      execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
      const r = spawnSync(
        'setpriv',
        [`--reuid=${user.name}`, `--regid=${user.name}`, '--init-groups', '--inh-caps=-all', process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, JSON.stringify({ root, bind, export: join(dir, 'export.tar'), port })],
        { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, timeout: 120_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as Record<string, any>;
      expect(out.uid).toBe(user.uid);
      // Outside, the container's process is the user; inside it is root, in a user namespace
      // mapping 0 to the user (and 1… to its /etc/subuid range).
      expect(out.hostUid).toBe(user.uid);
      expect(out.exec).toBe(`0\n0\nrootless-box\n 0 ${user.uid} 1\n`);
      expect(out.network).toBe('slirp4netns');
      expect(out.driver).toBe('vfs');
      // lo is up, tap0 has slirp4netns's address; SIGTERM reached sleep through the init.
      expect(out.logs).toBe('ready\nunknown\ninet 10.0.2.100/24\n'.repeat(2));
      expect(out.restartedGreeting).toBe('hello\n');
      // docker export, read inside the user namespace too: the container's ids.
      expect(out.export).toBe(true);
      const exported = await tarListing(join(dir, 'export.tar'));
      expect(exported.get('greeting')).toMatchObject({ uid: 0, gid: 0, data: 'hello\n' });
      expect(exported.get('bin/busybox')).toMatchObject({ uid: 0, gid: 0 });
      expect(exported.get('home/app/d/f')).toMatchObject({ uid: 1000, gid: 1000 });
      expect(out.stop).toEqual({ exitCode: 143, oomKilled: false });
      expect(out.shared).toMatchObject({ exit: 0, same: true, link: expect.stringMatching(/^net:\[\d+\]\n$/) });
      expect(out.pause).toEqual(failed('pause of a container without a cgroup'));
      expect(out.stats).toEqual(failed('stats of a container without a cgroup'));
      expect(out.top).toEqual(failed('top of a container without a cgroup'));
      // The commit's layer holds the change, owned by the container's root (not the user's uid).
      expect(out.committed).toBe(true);
      const layer = await tarListing(gunzipSync(readFileSync(join(root, 'blobs', 'sha256', String(out.layer).slice(7)))));
      expect(layer.get('greeting')).toMatchObject({ uid: 0, gid: 0, data: 'hello\n' });
      expect(layer.get('home/app/d/f')).toMatchObject({ uid: 1000, gid: 1000, data: 'x\n' });
      expect(out.committedRun).toEqual({ exit: 0, logs: 'hello\n' });
      expect(out.afterUsing).toBe(0);
      expect(out.volumes).toEqual({ exit: 0, logs: 'lo\nro\ntmpfs-ok\nbound\nv\n' });
      expect(out.published).toEqual({ page: 'page\n', ports: [{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: port, Type: 'tcp' }] });
      expect(out.host.exit).toBe(0);
      expect(out.host.logs.split('\n')[0]).toBe(execFileSync('hostname', { encoding: 'utf8' }).trim());
      expect(out.autoRemove).toEqual({ exit: 0, left: 0 });
      expect(out.detached).toEqual({ exit: 0, logs: 'detached\n0\n' });
      expect(out.bridge).toEqual(failed('the bridge network "bridge" without root'));
      expect(out.ports).toEqual(failed('the bridge network "bridge" without root'));
      expect(out.memory).toEqual(failed('cgroup limits without root'));
      expect(out.left).toBe(0);
      expect(out.gc).toEqual({ mounts: [], killed: [], layers: true });
      // Nothing of the refused ones and nothing of the removed ones is left in the state dir.
      expect(readdirSync(join(root, 'containers')).filter((n) => !n.startsWith('.'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
