/**
 * BridgeNetwork on the real kernel and the real nftables. The bridge and its NAT rules live on the
 * host (that is what they are for); every container is a namespace the test makes, and the
 * "outside world" is one more namespace joined to the host by a veth, so no packet leaves the
 * machine. Addresses: 10.213.x.0/24 for bridges, 198.18.x.0/24 (benchmarking range) outside.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard } from '@stratum/testing';
import { BridgeNetwork, Netlink, Netns, NetworkError, nftTableName, realizeNetworkMode, type BridgeNetworkOptions } from '../src/index.js';
import { ipJson, ping, sh, startTcpServer, startUdpServer, tcpGetFrom, uid, useNetLeakCheck } from './helpers.js';

useNetLeakCheck({ beforeEach, afterEach });

let forwardBefore: string | undefined;
beforeAll(async () => {
  if (process.getuid?.() !== 0) return;
  forwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  await (await Netns.create(`stratum-warm-${uid()}`)).delete();
});
afterAll(() => {
  // BridgeNetwork turns forwarding on (as Docker does); put the host back as it was.
  if (forwardBefore !== undefined) sh(['sh', '-c', `echo ${forwardBefore} > /proc/sys/net/ipv4/ip_forward`]);
});

const CAPS = ['root', 'netns', 'native', 'nftables', 'tool:busybox'] as const;

/** A fresh network's options: unique name, bridge, /24 and state dir. */
function netOpts(extra: Partial<BridgeNetworkOptions> = {}): BridgeNetworkOptions & { cleanup(): void } {
  const id = uid();
  const x = 1 + (parseInt(id, 16) % 250);
  const stateDir = mkdtempSync(join(tmpdir(), 'stratum-netstate-'));
  return {
    name: `stratum-t${id}`,
    bridge: `stbr${id}`,
    subnet: `10.213.${x}.0/24`,
    stateDir,
    ...extra,
    cleanup: () => rmSync(stateDir, { recursive: true, force: true }),
  };
}

function nftTables(): string {
  return sh(['nft', 'list', 'tables']);
}

/** A free TCP+UDP port on 127.0.0.1 (in the 20000-40000 range). */
async function freePort(): Promise<number> {
  for (;;) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
}

function tcpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, host);
    let d = '';
    c.setTimeout(5000, () => c.destroy(new Error('timeout')));
    c.on('data', (x) => (d += x.toString()));
    c.on('end', () => resolve(d.trim()));
    c.on('error', reject);
  });
}

function udpAsk(host: string, port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error('udp timeout'));
    }, 5000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m.toString());
    });
    s.send(msg, port, host);
  });
}

/** The 'outside' host: a namespace joined to the host by a veth (host end 198.18.X.1, outside .2). */
async function outside(): Promise<{ ns: Netns; hostIp: string; ip: string; close(): Promise<void> }> {
  const id = uid();
  const x = 1 + (parseInt(id, 16) % 250);
  const ns = await Netns.create(`stratum-out-${id}`);
  using host = await Netlink.open();
  const hostIf = `sto${id}`;
  try {
    await host.links.add({ kind: 'veth', name: hostIf, up: true, peer: { name: 'eth0', netns: ns } });
    await host.addresses.add(hostIf, `198.18.${x}.1/24`);
    using nl = await Netlink.open({ netns: ns });
    await nl.addresses.add('eth0', `198.18.${x}.2/24`);
    await nl.links.setUp('eth0');
    await nl.links.setUp('lo');
  } catch (e) {
    await host.links.delete(hostIf).catch(() => undefined);
    await ns.delete();
    throw e;
  }
  return {
    ns,
    hostIp: `198.18.${x}.1`,
    ip: `198.18.${x}.2`,
    close: async () => {
      using h = await Netlink.open();
      await h.links.delete(hostIf).catch(() => undefined);
      await ns.delete();
    },
  };
}

describe('BridgeNetwork', () => {
  it('two namespaces on a bridge ping each other; delete leaves no link, rule, lease or state', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    const net = await BridgeNetwork.create(o);
    const a = await Netns.create(`stratum-a-${uid()}`);
    const b = await Netns.create(`stratum-b-${uid()}`);
    try {
      const ea = await net.attach(a, { name: 'a' });
      const eb = await net.attach(b, { name: 'b' });
      expect(ea.ip).toBe(o.subnet.replace('.0/24', '.2'));
      expect(eb.ip).toBe(o.subnet.replace('.0/24', '.3'));
      expect(ea.mac).toBe(`02:42:0a:d5:${Number(ea.ip.split('.')[2]).toString(16).padStart(2, '0')}:02`);
      // Inside: lo + eth0 up, addressed, default route via the gateway.
      const links = ipJson(a.name, ['link', 'show']);
      expect(links.map((l) => [l.ifname, l.operstate === 'UP' || (l.flags as string[]).includes('UP')]).sort()).toEqual([
        ['eth0', true],
        ['lo', true],
      ]);
      expect(ipJson(a.name, ['route', 'show', 'default'])).toEqual([expect.objectContaining({ gateway: net.gateway, dev: 'eth0' })]);
      // Host: both veths are ports of the bridge.
      const ports = ipJson(undefined, ['link', 'show', 'master', o.bridge!]).map((l) => l.ifname).sort();
      expect(ports).toEqual([ea.hostIfname, eb.hostIfname].sort());
      expect(ping(a.path, eb.ip)).toBe(true);
      expect(ping(b.path, ea.ip)).toBe(true);
      expect(ping(a.path, net.gateway)).toBe(true);

      const info = net.inspect();
      expect(info).toMatchObject({ Name: o.name, Driver: 'bridge', IPAM: { Config: [{ Subnet: o.subnet, Gateway: net.gateway }] }, Firewall: { Backend: 'nftables', Location: `inet ${nftTableName(o.bridge!)}` } });
      expect(Object.values(info.Containers).map((c) => [c.Name, c.IPv4Address]).sort()).toEqual([
        ['a', `${ea.ip}/24`],
        ['b', `${eb.ip}/24`],
      ]);
      expect(nftTables()).toContain(nftTableName(o.bridge!));
      expect(net.leases().map((l) => l.ip)).toEqual([ea.ip, eb.ip]);
    } finally {
      await net.delete();
      await a.delete();
      await b.delete();
      o.cleanup();
    }
    expect(sh(['ip', 'link', 'show', o.bridge!], { allowFail: true })).toBe('');
    expect(sh(['ip', '-o', 'link', 'show'])).not.toMatch(/stv[0-9a-f]{10}/);
    expect(nftTables()).not.toContain(nftTableName(o.bridge!));
    expect(existsSync(join(o.stateDir!, o.name))).toBe(false);
  });

  it('a namespace reaches an outside host through NAT, with the host\'s address as source', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    const out = await outside();
    const net = await BridgeNetwork.create(o);
    const c = await Netns.create(`stratum-c-${uid()}`);
    const server = await startTcpServer(out.ns.path, 7000, 'outside');
    try {
      await net.attach(c);
      expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
      // The outside host has no route to the bridge subnet: only a masqueraded source can be answered.
      expect(tcpGetFrom(c.path, out.ip, 7000)).toBe(`outside ${out.hostIp}`);
    } finally {
      await server.stop();
      await net.delete();
      await c.delete();
      await out.close();
      o.cleanup();
    }
  });

  it('published ports answer on 127.0.0.1 (userland proxy, TCP and UDP) and through DNAT from another namespace', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    const out = await outside();
    const net = await BridgeNetwork.create(o);
    const c = await Netns.create(`stratum-p-${uid()}`);
    const [tp, up] = [await freePort(), await freePort()];
    const tcp = await startTcpServer(c.path, 8000, 'web');
    const udp = await startUdpServer(c.path, 5300, 'dns');
    try {
      const e = await net.attach(c, { ports: [`${tp}:8000`, { host: up, container: 5300, protocol: 'udp' }] });
      expect(e.ports).toEqual([
        { host: tp, container: 8000, protocol: 'tcp', hostIp: '0.0.0.0' },
        { host: up, container: 5300, protocol: 'udp', hostIp: '0.0.0.0' },
      ]);
      // Loopback: through the proxy in this process, which connects from the gateway.
      expect(await tcpGet('127.0.0.1', tp)).toBe(`web ${net.gateway}`);
      expect(await udpAsk('127.0.0.1', up, 'hello')).toBe('dns hello');
      // Another namespace: DNAT on the host's address, the client's own address preserved.
      expect(tcpGetFrom(out.ns.path, out.hostIp, tp)).toBe(`web ${out.ip}`);
      const rules = sh(['nft', 'list', 'table', 'inet', nftTableName(o.bridge!)]);
      expect(rules).toContain(`tcp dport ${tp} dnat ip to ${e.ip}:8000`);
      expect(rules).toContain(`udp dport ${up} dnat ip to ${e.ip}:5300`);
      // Detach removes rules and proxies; the port is free again.
      await net.detach(e);
      expect(sh(['nft', 'list', 'table', 'inet', nftTableName(o.bridge!)])).not.toContain(`dport ${tp}`);
      await expect(tcpGet('127.0.0.1', tp)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(net.leases()).toEqual([]);
    } finally {
      await tcp.stop();
      await udp.stop();
      await net.delete();
      await c.delete();
      await out.close();
      o.cleanup();
    }
  });

  it('a port clash fails the attach and undoes it', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    const net = await BridgeNetwork.create(o);
    const c = await Netns.create(`stratum-k-${uid()}`);
    const p = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(p, '127.0.0.1', () => r()));
    try {
      await expect(net.attach(c, { ports: [{ host: p, container: 80 }] })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(net.leases()).toEqual([]);
      expect(ipJson(c.name, ['link', 'show']).map((l) => l.ifname)).toEqual(['lo']);
      expect(sh(['nft', 'list', 'table', 'inet', nftTableName(o.bridge!)])).not.toContain(`dport ${p}`);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
      await net.delete();
      await c.delete();
      o.cleanup();
    }
  });

  it('IPAM: leases persist across handles (restart), next-fit, requested and taken addresses', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => Netns.create()));
    let net = await BridgeNetwork.create(o);
    try {
      const ea = await net.attach(a!);
      await net.close(); // a restart: kernel objects and state stay
      expect(sh(['ip', 'link', 'show', ea.hostIfname])).toContain(ea.hostIfname);
      net = await BridgeNetwork.create(o);
      expect(net.attachments().map((x) => x.id)).toEqual([ea.id]);
      const eb = await net.attach(b!);
      expect(eb.ip.endsWith('.3')).toBe(true);
      await net.detach(ea);
      const ec = await net.attach(c!);
      expect(ec.ip.endsWith('.4')).toBe(true); // not the just-freed .2
      await expect(net.attach(d!, { ip: eb.ip })).rejects.toMatchObject({ code: 'NETWORK_ADDRESS_IN_USE' });
      await expect(net.attach(d!, { ip: net.gateway })).rejects.toBeInstanceOf(NetworkError);
      await expect(net.attach(d!, { ip: '192.0.2.9' })).rejects.toMatchObject({ code: 'NETWORK_ADDRESS_OUT_OF_RANGE' });
      const ed = await net.attach(d!, { ip: o.subnet.replace('.0/24', '.200') });
      expect(ed.ip.endsWith('.200')).toBe(true);
      expect(net.leases().map((l) => l.ip.split('.')[3])).toEqual(['3', '4', '200']);
      await expect(BridgeNetwork.create({ ...o, subnet: '10.214.0.0/24' })).rejects.toMatchObject({ code: 'NETWORK_CONFLICT' });
    } finally {
      await net.delete();
      for (const n of [a, b, c, d]) await n!.delete();
      o.cleanup();
    }
  });

  it('a restarted network releases attachments whose namespace died meanwhile', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    let net = await BridgeNetwork.create(o);
    const a = await Netns.create();
    try {
      const ea = await net.attach(a);
      await net.close();
      await a.delete(); // the namespace (and with it the veth pair) goes away
      using host = await Netlink.open();
      for (let i = 0; i < 100 && (await host.links.find(ea.hostIfname)); i++) await new Promise((r) => setTimeout(r, 20));
      net = await BridgeNetwork.create(o);
      expect(net.attachments()).toEqual([]);
      expect(net.leases()).toEqual([]);
    } finally {
      await net.delete();
      await a.delete();
      o.cleanup();
    }
  });

  it('detach with namespaceReleased frees the address at once and leaves the veth pair to the kernel\'s teardown of the namespace', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    const net = await BridgeNetwork.create(o);
    try {
      const ns = await Netns.create();
      const ea = await net.attach(ns);
      using host = await Netlink.open();
      expect(await host.links.find(ea.hostIfname)).toBeDefined();
      // Detached while the namespace is still held (which the option says must not be): the
      // pair is not deleted by detach — it is the kernel's to delete with the namespace.
      await net.detach(ea, { namespaceReleased: true });
      expect(net.leases()).toEqual([]);
      expect(net.attachments()).toEqual([]);
      expect(existsSync(join(net.dir, 'attachments', `${ea.id}.json`))).toBe(false);
      expect(await host.links.find(ea.hostIfname)).toBeDefined();
      await ns.delete(); // the last hold on the namespace: the kernel deletes the pair with it
      for (let i = 0; i < 200 && (await host.links.find(ea.hostIfname)); i++) await new Promise((r) => setTimeout(r, 10));
      expect(await host.links.find(ea.hostIfname)).toBeUndefined();
    } finally {
      await net.delete();
      o.cleanup();
    }
  });

  it('records torn by a power loss (written without fsync) read as gone endpoints when the network opens again', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    let net = await BridgeNetwork.create(o);
    try {
      await net.close();
      // What a power loss can leave of records written without fsync: the reboot took their veths.
      writeFileSync(join(net.dir, 'attachments', 'stratum-torn.json'), '');
      writeFileSync(join(net.dir, 'ipam.json'), '{"leases": {"10.');
      net = await BridgeNetwork.create(o);
      expect(net.attachments()).toEqual([]);
      expect(net.leases()).toEqual([]);
      expect(existsSync(join(net.dir, 'attachments', 'stratum-torn.json'))).toBe(false);
    } finally {
      await net.delete();
      o.cleanup();
    }
  });

  it('IPv6 on the bridge: two namespaces reach each other over IPv6', async (ctx) => {
    guard(ctx, ...CAPS);
    const id = uid(2);
    const o = netOpts({ ipv6: { subnet: `fd00:${id}::/64` }, nat: false, ipForward: false });
    const net = await BridgeNetwork.create(o);
    const [a, b] = [await Netns.create(`stratum-6a-${id}`), await Netns.create(`stratum-6b-${id}`)];
    try {
      const ea = await net.attach(a);
      const eb = await net.attach(b);
      // The address comes back in canonical form: no leading zeros in a group (fd00:f62::, not fd00:0f62::).
      expect(ea.cidr6).toBe(`fd00:${id.replace(/^0+(?=.)/, '')}::2/64`);
      expect(net.inspect().EnableIPv6).toBe(true);
      expect(ping(a.path, eb.ipv6!, 1) || ping(a.path, eb.ipv6!, 2)).toBe(true);
    } finally {
      await net.delete();
      await a.delete();
      await b.delete();
      o.cleanup();
    }
  });
});

describe('network modes', () => {
  it('none has only lo (up); host keeps the host namespace; container shares the other\'s', async (ctx) => {
    guard(ctx, 'root', 'netns', 'native');
    await using ns = await Netns.create(`stratum-none-${uid()}`);
    const none = await realizeNetworkMode('none', { netns: ns });
    expect(none.netns).toBe(ns);
    const links = ipJson(ns.name, ['link', 'show']);
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect(links[0]!.flags).toContain('UP');
    expect(ipJson(ns.name, ['route', 'show'])).toEqual([]);
    const host = await realizeNetworkMode('host');
    expect(host.netns).toBeUndefined();
    const shared = await realizeNetworkMode({ container: { netns: ns } });
    expect(shared.netns!.inode).toBe(ns.inode);
    await expect(realizeNetworkMode('none')).rejects.toThrow(TypeError);
    await none.release();
  });

  it('bridge mode attaches to the default network and releases', async (ctx) => {
    guard(ctx, ...CAPS);
    const o = netOpts();
    const net = await BridgeNetwork.create(o);
    const ns = await Netns.create();
    try {
      {
        await using r = await realizeNetworkMode('bridge', { netns: ns, defaultNetwork: net, name: 'web' });
        expect(r.attachment!.ip.endsWith('.2')).toBe(true);
        expect(net.inspect().Containers[r.attachment!.id]!.Name).toBe('web');
      }
      expect(net.attachments()).toEqual([]);
    } finally {
      await net.delete();
      await ns.delete();
      o.cleanup();
    }
  });
});
