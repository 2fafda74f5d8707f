/** exportBundle: runc and crun start the bundle as it is (interop proof). */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Container } from '../src/index.js';
import { busyboxImage, crunMountNamespace, tempDir, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });


const t = useSuite('bundle', 239, { beforeAll, afterAll }, {
  network: false,
  setup: async (s) => {
    await busyboxImage(s.rt, s.rootfs, 'stratum-test/busybox:1');
  },
});

let n = 0;
function runtimeRun(argv: string[], bundle: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(argv[0]!, [...argv.slice(1), 'run', '--bundle', bundle, `stratum-bundle-${process.pid}-${n++}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('exportBundle', () => {
  it('runc and crun run the exported bundle: command, env, user, workdir, hostname, /etc files, limits, the container\'s changes', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'tool:runc', 'tool:crun', 'tool:nsenter');
    const c = await Container.run(
      {
        image: 'stratum-test/busybox:1',
        network: 'none',
        hostname: 'bundled',
        user: 'app',
        workdir: '/home/app',
        env: { MODE: 'bundle' },
        addHosts: ['db:10.9.8.7'],
        resources: { memory: '48m', pidsLimit: 40 },
        cmd: ['sh', '-c', 'echo "$MODE $(id -un) $(pwd) $(hostname)"; cat /etc/changed; grep db /etc/hosts; ls /sys/class/net'],
      },
      { runtime: t.rt },
    );
    await c.wait();
    // A change in the container's layer, made by exec-less means: a second start writes it.
    const writer = await Container.run({ image: 'stratum-test/busybox:1', network: 'none', user: 'root', cmd: ['sh', '-c', 'echo from-layer > /etc/changed'] }, { runtime: t.rt });
    await writer.wait();
    const dir = tempDir('bundle-out');
    try {
      // The writer's change, exported with the first container's process config: export the writer.
      await writer.exportBundle(join(dir, 'w'));
      expect(readFileSync(join(dir, 'w', 'rootfs', 'etc', 'changed'), 'utf8')).toBe('from-layer\n');
      await c.exportBundle(join(dir, 'c'));
      const cfg = JSON.parse(readFileSync(join(dir, 'c', 'config.json'), 'utf8')) as { process: { args: string[]; user: { uid: number } }; hostname: string; linux: { resources: unknown; namespaces: Array<{ type: string }> } };
      expect(cfg.process.user.uid).toBe(1000);
      expect(cfg.hostname).toBe('bundled');
      expect(cfg.linux.resources).toEqual({ memory: { limit: 48 * 1024 * 1024 }, pids: { limit: 40 } });
      expect(cfg.linux.namespaces.map((x) => x.type)).toContain('network');
      // Give c's bundle the writer's file so both show: the rootfs is a plain directory tree.
      spawnSync('cp', [join(dir, 'w', 'rootfs', 'etc', 'changed'), join(dir, 'c', 'rootfs', 'etc', 'changed')]);

      const runc = runtimeRun(['runc'], join(dir, 'c'));
      expect(runc.err).toBe('');
      expect(runc.code).toBe(0);
      expect(runc.out).toBe('bundle app /home/app bundled\nfrom-layer\n10.9.8.7\tdb\nlo\n');

      // crun 1.8 refuses this hybrid host while the v2 tree is mounted: run it in a private mount
      // namespace without /sys/fs/cgroup/unified.
      {
        await using mnt = await crunMountNamespace();
        const crun = runtimeRun(['nsenter', `--mount=${mnt.path}`, 'crun'], join(dir, 'c'));
        expect(crun.err).toBe('');
        expect(crun.code).toBe(0);
        expect(crun.out).toBe(runc.out);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await c.remove();
      await writer.remove();
    }
  });
});
