/**
 * Two containers on a user-defined bridge network talking to each other:
 *
 *   docker network create --subnet 10.178.50.0/24 -o com.docker.network.bridge.name=stratum-xappnet stratum-appnet
 *   docker run -d --name web --network stratum-appnet -h web busybox sh -c 'echo … > /var/www/index.html; exec httpd -f -p 80 -h /var/www'
 *   docker run --rm --network stratum-appnet --add-host web:$(docker inspect -f '{{.NetworkSettings.IPAddress}}' web) busybox sh -c 'ping -c 2 web; wget -qO- http://web/'
 *   docker network rm stratum-appnet
 *
 * Stratum's bridge networks have no embedded DNS server, so the client finds `web` through an
 * /etc/hosts entry (`--add-host`), with the address `inspect` reports. The network's name says
 * `stratum` because @stratum/netns names its nft table after it (`inet stratum_stratum_appnet`):
 * a plain `appnet` would share the table of any other state dir's `appnet`.
 *
 *   npx tsx --conditions=stratum-source examples/user-bridge.ts      (as root)
 */
import { join } from 'node:path';
import { Container } from '@stratum/container';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { exampleRuntime } from './lib/runtime.js';

await using ex = await exampleRuntime('bridge', '10.178.5.0/24');
const { rt, store } = ex;
await imageFromTree(store, busyboxTree(join(ex.dir, 'rootfs')), 'busybox:latest', { Cmd: ['sh'] });

// docker network create
const net = await rt.networks.create({ name: 'stratum-appnet', bridge: 'stratum-xappnet', subnet: '10.178.50.0/24' });
const ipam = net.inspect().IPAM.Config[0]!;
console.log(`network stratum-appnet: bridge stratum-xappnet, subnet ${ipam.Subnet}, gateway ${ipam.Gateway}`);

// The server: busybox httpd with a page that names its host.
await using web = await Container.run(
  { image: 'busybox:latest', name: 'web', hostname: 'web', network: 'stratum-appnet', init: true, cmd: ['sh', '-c', 'echo "hello from $(hostname)" > /var/www/index.html; exec httpd -f -p 80 -h /var/www'] },
  { runtime: rt },
);
await web.waitForPort(80);
const webIp = (await web.inspect()).NetworkSettings.IPAddress;
console.log(`web: ${webIp}`);

// The client: ping, then an HTTP request, by name.
await using client = await Container.run(
  { image: 'busybox:latest', name: 'client', hostname: 'client', network: 'stratum-appnet', addHosts: [`web:${webIp}`], cmd: ['sh', '-c', 'echo "client: $(hostname -i)"; ping -c 2 -W 2 web; echo "wget: $(wget -qO- http://web/)"'] },
  { runtime: rt },
);
const { exitCode } = await client.wait();
for await (const line of client.logs()) console.log(`  ${line.text.trimEnd()}`);
console.log(`client exited with ${exitCode}`);

// docker rm -f web client; docker network rm stratum-appnet
await client.remove({ force: true });
await web.remove({ force: true });
await rt.networks.remove('stratum-appnet');
console.log(`network stratum-appnet removed; networks left: ${rt.networks.names().filter((n) => n !== rt.networks.defaultName).length}`);
