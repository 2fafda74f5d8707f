/** Pure parts, no root: addresses, published ports, /etc/hosts and resolv.conf, firewall rule text, IPAM. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guard } from '@stratum/testing';
import {
  broadcastOf,
  containsIP,
  formatIP,
  generateHosts,
  generateResolvConf,
  Ipam,
  IptablesFirewall,
  NftablesFirewall,
  networkOf,
  nftTableName,
  parseExtraHost,
  parseIP,
  parsePortSpec,
  parsePrefix,
  parseResolvConf,
} from '../src/index.js';

describe('IP addresses', () => {
  it('parses and prints IPv4 and IPv6 canonically', () => {
    expect(formatIP(parseIP('10.88.0.2').bytes)).toBe('10.88.0.2');
    expect(formatIP(parseIP('FD00:0:0:0::1').bytes)).toBe('fd00::1');
    expect(formatIP(parseIP('2001:db8:0:0:1:0:0:1').bytes)).toBe('2001:db8::1:0:0:1');
    expect(formatIP(parseIP('::').bytes)).toBe('::');
    expect(formatIP(parseIP('::ffff:10.0.0.1').bytes)).toBe('::ffff:10.0.0.1');
    expect(formatIP(parseIP('1:2:3:4:5:6:7:8').bytes)).toBe('1:2:3:4:5:6:7:8');
    for (const bad of ['10.0.0', '10.0.0.256', '01.2.3.4', '1::2::3', '1:2:3:4:5:6:7:8:9', 'x', '', '10.0.0.1 ']) expect(() => parseIP(bad), bad).toThrow(TypeError);
  });

  it('prefixes: network, broadcast, containment', () => {
    const p = parsePrefix('10.88.3.7/16');
    expect(p.prefixLength).toBe(16);
    expect(formatIP(networkOf(p).bytes)).toBe('10.88.0.0');
    expect(formatIP(broadcastOf(p))).toBe('10.88.255.255');
    expect(formatIP(broadcastOf(parsePrefix('192.168.1.0/27')))).toBe('192.168.1.31');
    expect(containsIP(p, parseIP('10.88.200.1'))).toBe(true);
    expect(containsIP(p, parseIP('10.89.0.1'))).toBe(false);
    expect(formatIP(networkOf(parsePrefix('fd00:1:2:3::9/48')).bytes)).toBe('fd00:1:2::');
    expect(parsePrefix('10.0.0.1').prefixLength).toBe(32);
    expect(() => parsePrefix('10.0.0.1/33')).toThrow(TypeError);
  });
});

describe('published ports', () => {
  it("parses Docker's -p syntax", () => {
    expect(parsePortSpec('8080:80')).toEqual({ host: 8080, container: 80, protocol: 'tcp', hostIp: '0.0.0.0' });
    expect(parsePortSpec('5353:53/udp')).toEqual({ host: 5353, container: 53, protocol: 'udp', hostIp: '0.0.0.0' });
    expect(parsePortSpec('127.0.0.1:8080:80/tcp')).toEqual({ host: 8080, container: 80, protocol: 'tcp', hostIp: '127.0.0.1' });
    expect(parsePortSpec('[::1]:8080:80')).toEqual({ host: 8080, container: 80, protocol: 'tcp', hostIp: '::1' });
    expect(parsePortSpec({ host: 1, container: 2 })).toEqual({ host: 1, container: 2, protocol: 'tcp', hostIp: '0.0.0.0' });
    for (const bad of ['80', '0:80', '70000:80', '8080:80/sctp', 'x:8080:80', 'a:b']) expect(() => parsePortSpec(bad), bad).toThrow(TypeError);
  });
});

describe('/etc/hosts and /etc/resolv.conf', () => {
  it('generates hosts like Docker, with --add-host entries and host-gateway', () => {
    const text = generateHosts({ hostname: 'web', ips: ['10.88.0.2'], extraHosts: ['db:10.1.2.3', 'v6:[fd00::5]', { host: 'gw', ip: 'host-gateway' }], hostGateway: '10.88.0.1', aliases: ['www'] });
    expect(text).toBe(
      [
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::0\tip6-localnet',
        'ff00::0\tip6-mcastprefix',
        'ff02::1\tip6-allnodes',
        'ff02::2\tip6-allrouters',
        '10.1.2.3\tdb',
        'fd00::5\tv6',
        '10.88.0.1\tgw',
        '10.88.0.2\tweb www',
        '',
      ].join('\n'),
    );
    expect(generateHosts({ hostname: 'a', domainname: 'example.org', ips: ['10.0.0.2'], ipv6: false })).toBe('127.0.0.1\tlocalhost\n10.0.0.2\ta.example.org a\n');
    expect(parseExtraHost('h:2001:db8::1')).toEqual({ host: 'h', ip: '2001:db8::1' });
    expect(() => parseExtraHost('nohost')).toThrow(TypeError);
    expect(() => parseExtraHost('h:not-an-ip')).toThrow(TypeError);
    expect(() => generateHosts({ extraHosts: ['g:host-gateway'] })).toThrow(/hostGateway/);
  });

  it('filters loopback nameservers like Docker, falls back to public DNS, keeps search and options', () => {
    const host = '# comment\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver fd00::53\nsearch corp.example\noptions edns0 trust-ad\n';
    expect(parseResolvConf(host)).toEqual({ nameservers: ['127.0.0.53', '10.255.255.53', 'fd00::53'], search: ['corp.example'], options: ['edns0', 'trust-ad'] });
    expect(generateResolvConf({ hostResolvConf: host })).toBe('nameserver 10.255.255.53\nsearch corp.example\noptions edns0 trust-ad\n');
    expect(generateResolvConf({ hostResolvConf: host, ipv6: true })).toContain('nameserver fd00::53');
    expect(generateResolvConf({ hostResolvConf: 'nameserver 127.0.0.1\nnameserver ::1\n' })).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    expect(generateResolvConf({ hostResolvConf: host, dns: ['1.1.1.1'], search: [], options: ['ndots:2'] })).toBe('nameserver 1.1.1.1\noptions ndots:2\n');
    expect(() => generateResolvConf({ hostResolvConf: '', dns: ['nope'] })).toThrow(TypeError);
  });
});

describe('firewall rules as data', () => {
  const net = { name: 'web net', bridge: 'stratum0', subnet: '10.88.0.0/16', nat: true };
  const ports = [{ id: 'ab12', protocol: 'tcp' as const, hostPort: 8080, targetIp: '10.88.0.2', targetPort: 80 }];

  it('nftables: one inet table per network, replaced atomically, port rules tagged with the endpoint', () => {
    const fw = new NftablesFirewall(net, async () => '');
    expect(nftTableName('web-br0')).toBe('stratum_web_br0');
    // Named after the bridge, unique on the host: two state dirs may both have a network 'web net'.
    expect(fw.location).toBe('inet stratum_stratum0');
    const cmds = fw.commands(ports) as Array<Record<string, Record<string, Record<string, unknown>>>>;
    expect(cmds.slice(0, 3).map((c) => Object.keys(c)[0])).toEqual(['add', 'delete', 'add']);
    const rules = cmds.filter((c) => c.add?.rule).map((c) => c.add!.rule!);
    expect(rules.find((r) => r.chain === 'postrouting' && JSON.stringify(r.expr).includes('"10.88.0.0"'))!.expr).toEqual([
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.88.0.0', len: 16 } } } },
      { match: { op: '!=', left: { meta: { key: 'oifname' } }, right: 'stratum0' } },
      { masquerade: null },
    ]);
    expect(rules.find((r) => r.chain === 'ports')).toEqual({
      family: 'inet',
      table: 'stratum_stratum0',
      chain: 'ports',
      comment: 'stratum:ab12',
      expr: [
        { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 8080 } },
        { dnat: { family: 'ip', addr: '10.88.0.2', port: 80 } },
      ],
    });
    expect(JSON.stringify(new NftablesFirewall({ ...net, nat: false }, async () => '').commands([]))).not.toContain('"saddr"');
  });

  it('iptables: a restore script with our chain, hooks and tagged rules', () => {
    const fw = new IptablesFirewall(net, async () => '');
    const script = fw.script(ports);
    const chain = fw.location.split('/')[1]!;
    expect(chain).toMatch(/^STRATUM-[0-9a-f]{10}$/);
    expect(script).toContain(`:${chain} - [0:0]`);
    expect(script).toContain(`-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment stratum:stratum0 -j ${chain}`);
    expect(script).toContain('-A POSTROUTING -s 10.88.0.0/16 ! -o stratum0 -m comment --comment stratum:stratum0 -j MASQUERADE');
    expect(script).toContain(`-A ${chain} -p tcp -m tcp --dport 8080 -m comment --comment stratum:ab12 -j DNAT --to-destination 10.88.0.2:80`);
    expect(script.split('\n').filter((l) => l === 'COMMIT')).toHaveLength(2);
  });
});

describe('Ipam', () => {
  it('hands out, frees and persists addresses; never the gateway, network or broadcast', async (ctx) => {
    guard(ctx, 'native');
    const dir = mkdtempSync(join(tmpdir(), 'stratum-ipam-'));
    try {
      const mk = (): Ipam => new Ipam({ subnet: '10.9.0.0/29', gateway: '10.9.0.1', file: join(dir, 'ipam.json'), lock: join(dir, 'lock'), network: 't' });
      const ipam = mk();
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await ipam.allocate(`id${i}`));
      expect(got).toEqual(['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
      await expect(ipam.allocate('full')).rejects.toMatchObject({ code: 'NETWORK_SUBNET_FULL', network: 't' });
      await ipam.release({ id: 'id1' });
      // A new instance (another process, a restart) sees the same leases.
      const again = mk();
      expect(again.leases().map((l) => l.ip)).toEqual(['10.9.0.2', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
      expect(await again.allocate('x')).toBe('10.9.0.3');
      await expect(again.allocate('y', '10.9.0.7')).rejects.toMatchObject({ code: 'NETWORK_ADDRESS_OUT_OF_RANGE' });
      await expect(again.allocate('y', '10.9.0.0')).rejects.toMatchObject({ code: 'NETWORK_ADDRESS_OUT_OF_RANGE' });
      await expect(again.allocate('y', '10.9.0.1')).rejects.toMatchObject({ code: 'NETWORK_ADDRESS_IN_USE' });
      await expect(again.allocate('y', '10.9.0.2')).rejects.toMatchObject({ code: 'NETWORK_ADDRESS_IN_USE' });
      expect(await again.allocate('id0', '10.9.0.2')).toBe('10.9.0.2'); // same holder: idempotent
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('durable: false — a torn leases file (only a power loss leaves one) reads as no leases; a durable one is an error', async (ctx) => {
    guard(ctx, 'native');
    const dir = mkdtempSync(join(tmpdir(), 'stratum-ipam-'));
    try {
      const mk = (durable: boolean): Ipam => new Ipam({ subnet: '10.9.0.0/29', gateway: '10.9.0.1', file: join(dir, 'ipam.json'), lock: join(dir, 'lock'), network: 't', durable });
      expect(await mk(false).allocate('a')).toBe('10.9.0.2');
      expect(mk(true).leases().map((l) => l.id)).toEqual(['a']);
      writeFileSync(join(dir, 'ipam.json'), '{"subnet": "10.9.0.0/29", "lea');
      expect(() => mk(true).leases()).toThrow(SyntaxError);
      expect(mk(false).leases()).toEqual([]);
      expect(await mk(false).allocate('b')).toBe('10.9.0.2');
      expect(await mk(false).allocate('c')).toBe('10.9.0.3');
      await mk(false).release({ id: 'b' });
      expect(mk(true).leases().map((l) => l.id)).toEqual(['c']);
      // The replaced contents (exchanged to a temp name) are gone.
      expect(readdirSync(dir).sort()).toEqual(['ipam.json', 'lock']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('concurrent allocations never share an address', async (ctx) => {
    guard(ctx, 'native');
    const dir = mkdtempSync(join(tmpdir(), 'stratum-ipam-'));
    try {
      const mk = (): Ipam => new Ipam({ subnet: '10.9.0.0/24', gateway: '10.9.0.1', file: join(dir, 'ipam.json'), lock: join(dir, 'lock'), network: 't' });
      const ips = await Promise.all(Array.from({ length: 20 }, (_, i) => mk().allocate(`c${i}`)));
      expect(new Set(ips).size).toBe(20);
      expect(mk().leases()).toHaveLength(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
