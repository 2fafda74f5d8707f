/** Process configuration in real containers: env, user, workdir, hostname, /etc files, labels, read-only root. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Container, UserNotFoundError } from '../src/index.js';
import { collect, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });


const t = useSuite('proc', 231, { beforeAll, afterAll });

async function output(spec: Parameters<typeof Container.run>[0]): Promise<{ out: string; code: number; c: Container }> {
  const c = await Container.run({ rootfs: t.rootfs, network: 'none', ...spec }, { runtime: t.rt });
  const r = await c.wait();
  return { out: await collect(c.logs()), code: r.exitCode, c };
}

describe('process configuration', () => {
  it('env, user with supplementary groups, workdir created, default hostname = short id', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const { out, code, c } = await output({
      cmd: ['sh', '-c', 'echo "$FOO|$HOME|$HOSTNAME"; id; pwd; hostname'],
      env: { FOO: 'bar' },
      user: 'app',
      workdir: '/srv/data',
    });
    expect(code).toBe(0);
    expect(out).toBe(`bar|/home/app|${c.shortId}\nuid=1000(app) gid=1000(app) groups=50(staff)\n/srv/data\n${c.shortId}\n`);
    const i = await c.inspect();
    expect(i.Config.User).toBe('app');
    expect(i.Config.Env).toEqual(['FOO=bar']);
    expect(i.Config.WorkingDir).toBe('/srv/data');
    await c.remove();
    // Created in the container's own layer only.
    expect(existsSync(join(t.rootfs, 'srv'))).toBe(false);
  });

  it('uid:gid and unknown users', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const a = await output({ cmd: ['id'], user: '4242:50' });
    expect(a.out).toBe('uid=4242 gid=50(staff)\n');
    await a.c.remove();
    const b = await Container.create({ rootfs: t.rootfs, network: 'none', cmd: ['id'], user: 'ghost' }, { runtime: t.rt });
    await expect(b.start()).rejects.toBeInstanceOf(UserNotFoundError);
    const st = await b.state();
    expect(st.Status).toBe('created');
    expect(st.Error).toMatch(/unable to find user ghost/);
    await b.remove();
  });

  it('-h, --domainname, --add-host, --dns, labels; /etc files are bind mounts', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'nftables');
    const c = await Container.run(
      {
        rootfs: t.rootfs,
        cmd: ['sh', '-c', 'hostname; cat /etc/hostname; cat /proc/sys/kernel/domainname; grep -v "^fe\\|^ff\\|^::1" /etc/hosts; cat /etc/resolv.conf; grep -c " /etc/hosts " /proc/mounts'],
        hostname: 'web1',
        domainname: 'example.org',
        addHosts: ['db.local:10.1.2.3', 'gw:host-gateway'],
        dns: ['192.0.2.53'],
        dnsSearch: ['corp.example'],
        labels: { tier: 'front' },
      },
      { runtime: t.rt },
    );
    expect((await c.wait()).exitCode).toBe(0);
    const out = await collect(c.logs());
    const ip = (await c.inspect()).NetworkSettings.IPAddress; // gone after exit
    expect(ip).toBe('');
    const lines = out.split('\n');
    expect(lines.slice(0, 3)).toEqual(['web1', 'web1', 'example.org']);
    expect(out).toContain('127.0.0.1\tlocalhost\n');
    expect(out).toContain('10.1.2.3\tdb.local\n');
    expect(out).toMatch(/\n10\.231\.\d+\.1\tgw\n/);
    expect(out).toMatch(/\n10\.231\.\d+\.\d+\tweb1\.example\.org web1\n/);
    expect(out).toContain('nameserver 192.0.2.53\nsearch corp.example\n');
    expect(lines.at(-2)).toBe('1');
    expect((await c.inspect()).Config.Labels).toEqual({ tier: 'front' });
    await c.remove();
  });

  it('--read-only: the root is read-only, tmpfs and /etc files still work', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const { out, code, c } = await output({
      cmd: ['sh', '-c', 'touch /x 2>&1; echo ok > /run/y && cat /run/y; cat /etc/hostname'],
      readOnly: true,
      tmpfs: ['/run:size=1m'],
      hostname: 'ro',
    });
    expect(code).toBe(0);
    expect(out).toBe("touch: /x: Read-only file system\nok\nro\n");
    expect((await c.inspect()).HostConfig.ReadonlyRootfs).toBe(true);
    await c.remove();
  });
});
