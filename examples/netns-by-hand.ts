/**
 * Network namespaces and a veth pair by hand with @stratum/netns — the seeds' `ip netns` walk:
 *
 *   ip netns add r1; ip netns add r2
 *   ip link add veth1.1 type veth peer name veth1.2
 *   ip link set dev veth1.2 netns r1
 *   ip netns exec r1 ip link set dev veth1.2 name eth0
 *   ip addr add 10.178.6.1/24 dev veth1.1; ip link set veth1.1 up
 *   ip netns exec r1 ip addr add 10.178.6.2/24 dev eth0; ip netns exec r1 ip link set eth0 up
 *   ping 10.178.6.2                                      (host → r1)
 *   ip link set dev veth1.1 netns r2                      (the host's end moves to r2)
 *   ip netns exec r2 ip addr add 10.178.6.1/24 dev veth1.1; … up
 *   ip netns exec r2 ping 10.178.6.2                      (r2 → r1)
 *   ip netns del r1; ip netns del r2
 *
 * The links are named stratum-v1.1/stratum-v1.2 and the namespaces stratum-r1/stratum-r2 (every
 * kernel object Stratum's examples make says `stratum`). No `ip` process runs: rtnetlink is spoken
 * from TypeScript; `ping` is busybox's, started inside a namespace with `nsenter`.
 *
 *   npx tsx --conditions=stratum-source examples/netns-by-hand.ts      (as root)
 */
import { spawnSync } from 'node:child_process';
import { Netlink, Netns } from '@stratum/netns';
import { BUSYBOX } from './lib/busybox.js';

/** ping from the host (`netns` undefined) or inside a named namespace, like `ip netns exec NS ping -c 1 IP`. */
function ping(ip: string, netns?: Netns): string {
  const argv = [...(netns ? ['nsenter', `--net=${netns.path}`] : []), BUSYBOX, 'ping', '-c', '1', '-W', '2', ip];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? `reply (${/time=([\d.]+ ms)/.exec(r.stdout)?.[1] ?? '?'})` : `no reply (exit ${r.status}): ${r.stdout}${r.stderr}`;
}

// ip netns add r1; ip netns add r2
await using r1 = await Netns.create('stratum-r1');
await using r2 = await Netns.create('stratum-r2');
console.log(`ip netns list: ${(await Netns.list()).filter((n) => n.startsWith('stratum-r')).join(', ')}`);
using host = await Netlink.open();
using in1 = await Netlink.open({ netns: r1 });
using in2 = await Netlink.open({ netns: r2 });
console.log(`links in a new namespace: ${(await in1.links.list()).map((l) => `${l.name} ${l.up ? 'up' : 'down'}`).join(', ')}`);

try {
  // ip link add veth1.1 type veth peer name veth1.2; ip link set dev veth1.2 netns r1
  await host.links.add({ kind: 'veth', name: 'stratum-v1.1', peer: { name: 'stratum-v1.2' } });
  await host.links.setNetns('stratum-v1.2', r1);
  // ip netns exec r1 ip link set dev veth1.2 name eth0; addresses; up
  await in1.links.rename('stratum-v1.2', 'eth0');
  await in1.addresses.add('eth0', '10.178.6.2/24');
  await in1.links.setUp('eth0');
  await host.addresses.add('stratum-v1.1', '10.178.6.1/24');
  await host.links.setUp('stratum-v1.1');
  console.log(`r1: ${(await in1.addresses.list({ link: 'eth0', family: 4 })).map((a) => `eth0 ${a.cidr}`).join(', ')}; host: stratum-v1.1 10.178.6.1/24`);
  console.log(`host → r1 ping 10.178.6.2: ${ping('10.178.6.2')}`);

  // ip link set dev veth1.1 netns r2 (an interface loses its addresses when it changes namespace)
  await host.links.setNetns('stratum-v1.1', r2);
  await in2.addresses.add('stratum-v1.1', '10.178.6.1/24');
  await in2.links.setUp('stratum-v1.1');
  console.log(`host still has stratum-v1.1: ${(await host.links.find('stratum-v1.1')) !== undefined}; r2: ${(await in2.links.list()).map((l) => l.name).join(', ')}`);
  console.log(`r2 → r1 ping 10.178.6.2: ${ping('10.178.6.2', r2)}`);
  console.log(`r1 → r2 ping 10.178.6.1: ${ping('10.178.6.1', r1)}`);
} finally {
  // Whatever is still on the host goes; the namespaces (and the veth pair in them) go with `await using`.
  if (await host.links.find('stratum-v1.1')) await host.links.delete('stratum-v1.1');
}
