/** Network modes: bridge (default network made on first use), host, none, container:, slirp4netns, user-defined bridges, published ports. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Container, NetworkNotFoundError } from '../src/index.js';
import { collect, httpGet, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const userNet = `stratum-u${process.pid % 1000}`;

const t = useSuite('net', 232, { beforeAll, afterAll }, {
  setup: async (s) => {
    await s.rt.networks.create({ name: userNet, subnet: `10.233.${process.pid % 200}.0/24` });
  },
});


async function out(spec: Parameters<typeof Container.run>[0]): Promise<string> {
  const c = await Container.run({ rootfs: t.rootfs, ...spec }, { runtime: t.rt });
  await c.wait();
  const text = await collect(c.logs());
  await c.remove();
  return text;
}

describe('network modes', () => {
  it('none: only lo', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns');
    expect(await out({ network: 'none', cmd: ['sh', '-c', 'ls /sys/class/net'] })).toBe('lo\n');
  });

  it('slirp4netns (as root too): tap0 with slirp\'s address and DNS, lo up, a port published on loopback', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'tool:slirp4netns');
    expect(await out({ network: 'slirp4netns', cmd: ['sh', '-c', 'ls /sys/class/net; ip -4 addr show tap0 | grep -o "inet [0-9./]*"; grep nameserver /etc/resolv.conf; cat /sys/class/net/lo/operstate'] })).toBe(
      'lo\ntap0\ninet 10.0.2.100/24\nnameserver 10.0.2.3\nunknown\n',
    );
    const port = 42000 + (process.pid % 1000);
    const web = await Container.run({ rootfs: t.rootfs, network: 'slirp4netns', init: true, ports: [`127.0.0.1:${port}:80`], cmd: ['sh', '-c', 'mkdir -p /www && echo slirp > /www/index.html && exec httpd -f -p 80 -h /www'] }, { runtime: t.rt });
    try {
      await web.waitForPort(80);
      expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe('slirp\n');
      expect((await web.inspect()).HostConfig.NetworkMode).toBe('slirp4netns');
    } finally {
      await web.remove({ force: true });
    }
  });

  it('gc removes slirp4netns API sockets nobody listens on, and keeps live ones', async (ctx) => {
    guard(ctx, 'root', 'tool:python3');
    const name = (n: string): string => join(tmpdir(), `stratum-slirp-${n.repeat(12)}-${randomBytes(4).toString('hex')}.sock`);
    const stale = name('a');
    const live = name('b');
    // A socket file left by a process that is gone: bound, never listened on, closed.
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale]);
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(live, r));
    try {
      const report = await t.rt.gc();
      expect(report.leftovers).toContain(stale);
      expect(report.leftovers).not.toContain(live);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
      rmSync(stale, { force: true });
      rmSync(live, { force: true });
    }
  });

  it('host: the host interfaces and hostname', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const text = await out({ network: 'host', cmd: ['sh', '-c', 'hostname; ls /sys/class/net | grep -c .'] });
    const [h, n] = text.trim().split('\n');
    expect(h).toBe(osHostname());
    expect(Number(n)).toBeGreaterThan(1);
  });

  it('bridge: eth0 with an address of the default network, gateway reachable; published port via loopback and the bridge', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'nftables');
    await using web = await Container.run(
      {
        rootfs: t.rootfs,
        init: true,
        ports: ['127.0.0.1:18080:80'],
        cmd: ['sh', '-c', 'mkdir -p /www && echo hello-from-httpd > /www/index.html && exec httpd -f -p 80 -h /www'],
      },
      { runtime: t.rt },
    );
    await web.waitForPort(80);
    const i = await web.inspect();
    expect(i.NetworkSettings.IPAddress).toMatch(/^10\.232\./);
    expect(i.NetworkSettings.Ports['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: '18080' }]);
    expect(i.HostConfig.PortBindings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] });
    expect(await httpGet(`http://${i.NetworkSettings.IPAddress}/`)).toBe('hello-from-httpd\n');
    expect(await httpGet('http://127.0.0.1:18080/')).toBe('hello-from-httpd\n');
    const list = await Container.list({ runtime: t.rt });
    expect(list[0]!.Ports).toEqual([{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' }]);
    const gw = i.NetworkSettings.Gateway;
    const e = await web.exec(['ping', '-c', '1', '-W', '2', gw]);
    expect((await e.wait()).code).toBe(0);
  });

  it('container:NAME shares the other container\'s network namespace; user-defined networks connect containers', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'nftables');
    await using a = await Container.run({ rootfs: t.rootfs, init: true, network: userNet, name: 'stratum-a', cmd: ['sh', '-c', 'echo up > /tmp/i; exec httpd -f -p 8000 -h /tmp'] }, { runtime: t.rt });
    await a.waitForPort(8000);
    const ipA = (await a.inspect()).NetworkSettings.IPAddress;
    expect(ipA).toMatch(/^10\.233\./);
    expect((await a.inspect()).NetworkSettings.Networks[userNet]?.IPAddress).toBe(ipA);
    // Another container on the same user-defined network reaches it by address.
    expect(await out({ network: userNet, cmd: ['wget', '-q', '-O', '-', `http://${ipA}:8000/i`] })).toBe('up\n');
    // container:stratum-a: localhost is a's.
    expect(await out({ network: 'container:stratum-a', cmd: ['wget', '-q', '-O', '-', 'http://127.0.0.1:8000/i'] })).toBe('up\n');
    expect(await out({ network: { container: a }, cmd: ['sh', '-c', 'ip -4 -o addr show eth0 | grep -o "inet [0-9.]*"'] })).toBe(`inet ${ipA}\n`);
  });

  it('a container that exits while another shares its network namespace takes its endpoint with it', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'nftables');
    // Alone, its veth is left to the kernel's teardown of the namespace; shared, the namespace
    // lives on, so the veth is deleted at its exit as before.
    const a = await Container.run({ rootfs: t.rootfs, init: true, network: userNet, cmd: ['sleep', '600'] }, { runtime: t.rt });
    const state = JSON.parse(readFileSync(join(t.options.root, 'containers', a.id, 'state.json'), 'utf8')) as { held: { endpoint: { hostIfname: string } } };
    const veth = `/sys/class/net/${state.held.endpoint.hostIfname}`;
    await using b = await Container.run({ rootfs: t.rootfs, init: true, network: { container: a }, cmd: ['sleep', '600'] }, { runtime: t.rt });
    expect(existsSync(veth)).toBe(true);
    await a.stop({ timeout: 0 });
    await a.wait();
    expect(existsSync(veth)).toBe(false);
    expect((await b.inspect()).State.Running).toBe(true);
    await a.remove();
  });

  it('an unknown network is NetworkNotFoundError', async (ctx) => {
    guard(ctx, 'root');
    await expect(Container.create({ rootfs: t.rootfs, network: 'stratum-nope', cmd: ['true'] }, { runtime: t.rt })).rejects.toBeInstanceOf(NetworkNotFoundError);
  });
});
