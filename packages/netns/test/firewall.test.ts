/**
 * Both firewall backends, behaviourally, inside namespaces only: a "router" namespace plays the
 * host (its rules are applied with the backend's commands run inside it), a "container" sits on
 * one side and an "outside" host on the other. Masquerade and DNAT must work, and teardown must
 * leave the router's tables without our rules.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, type Capability } from '@stratum/testing';
import { IptablesFirewall, Netlink, Netns, NftablesFirewall, type CommandRunner, type Firewall, type FirewallNetwork } from '../src/index.js';
import { startTcpServer, tcpGetFrom, uid, useNetLeakCheck } from './helpers.js';

useNetLeakCheck({ beforeEach, afterEach });

beforeAll(async () => {
  if (process.getuid?.() === 0) await (await Netns.create(`stratum-warm-${uid()}`)).delete();
});

function runIn(ns: Netns): CommandRunner {
  return async (argv, input) => {
    const r = spawnSync('nsenter', [`--net=${ns.path}`, '--', ...argv], { input: input ?? '', encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
}

const backends: Array<[string, Capability, (n: FirewallNetwork, r: CommandRunner) => Firewall, (ns: Netns) => string]> = [
  ['nftables', 'nftables', (n, r) => new NftablesFirewall(n, r), (ns) => spawnSync('nsenter', [`--net=${ns.path}`, 'nft', 'list', 'ruleset'], { encoding: 'utf8' }).stdout],
  ['iptables', 'tool:iptables', (n, r) => new IptablesFirewall(n, r), (ns) => spawnSync('nsenter', [`--net=${ns.path}`, 'iptables-save'], { encoding: 'utf8' }).stdout],
];

describe.each(backends)('%s backend', (_name, cap, make, dump) => {
  it('masquerades outbound traffic and DNATs a published port; teardown removes our rules', async (ctx) => {
    guard(ctx, 'root', 'netns', 'native', cap, 'tool:nsenter');
    const id = uid();
    await using router = await Netns.create(`stratum-rtr-${id}`);
    await using container = await Netns.create(`stratum-ctr-${id}`);
    await using out = await Netns.create(`stratum-oth-${id}`);
    using r = await Netlink.open({ netns: router });
    await r.links.add({ kind: 'veth', name: 'stin', up: true, peer: { name: 'eth0', netns: container } });
    await r.links.add({ kind: 'veth', name: 'stout', up: true, peer: { name: 'eth0', netns: out } });
    await r.addresses.add('stin', '10.77.0.1/24');
    await r.addresses.add('stout', '198.18.77.1/24');
    await r.links.setUp('lo');
    spawnSync('nsenter', [`--net=${router.path}`, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    using c = await Netlink.open({ netns: container });
    await c.links.setUp('lo');
    await c.addresses.add('eth0', '10.77.0.2/24');
    await c.links.setUp('eth0');
    await c.routes.add({ dst: 'default', gateway: '10.77.0.1' });
    using o = await Netlink.open({ netns: out });
    await o.links.setUp('lo');
    await o.addresses.add('eth0', '198.18.77.2/24');
    await o.links.setUp('eth0');

    const fw = make({ name: `t${id}`, bridge: 'stin', subnet: '10.77.0.0/24', nat: true }, runIn(router));
    const outside = await startTcpServer(out.path, 7100, 'outside');
    const web = await startTcpServer(container.path, 80, 'web');
    try {
      await fw.setup([{ id: 'e1', protocol: 'tcp', hostPort: 8080, targetIp: '10.77.0.2', targetPort: 80 }]);
      expect(tcpGetFrom(container.path, '198.18.77.2', 7100)).toBe('outside 198.18.77.1');
      expect(tcpGetFrom(out.path, '198.18.77.1', 8080)).toBe('web 198.18.77.2');
      await fw.addPorts([{ id: 'e2', protocol: 'tcp', hostPort: 8081, targetIp: '10.77.0.2', targetPort: 80 }]);
      expect(tcpGetFrom(out.path, '198.18.77.1', 8081)).toBe('web 198.18.77.2');
      await fw.removePorts([{ id: 'e1', protocol: 'tcp', hostPort: 8080, targetIp: '10.77.0.2', targetPort: 80 }]);
      expect(dump(router)).not.toMatch(/8080/);
      expect(dump(router)).toMatch(/8081/);
      await fw.teardown();
      await fw.teardown(); // idempotent
      expect(dump(router)).not.toMatch(/stratum/i);
      expect(() => tcpGetFrom(container.path, '198.18.77.2', 7100, 800)).toThrow(); // no NAT, no answer
    } finally {
      await outside.stop();
      await web.stop();
    }
  });
});
