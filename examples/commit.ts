/**
 * Commit a container's change with a new CMD and run the result — the seeds' httpd example with
 * busybox's httpd:
 *
 *   docker run --name b1 busybox sh -c 'echo "Welcome To My Httpd" > /var/www/index.html'
 *   docker commit -p -a me -m 'a home page' -c 'CMD ["/bin/httpd","-f","-p","80","-h","/var/www"]' b1 httpd:1.1
 *   docker run -d --name web -p 127.0.0.1:PORT:80 httpd:1.1
 *   curl 127.0.0.1:PORT; curl $(docker inspect -f '{{.NetworkSettings.IPAddress}}' web)
 *
 *   npx tsx --conditions=stratum-source examples/commit.ts      (as root)
 */
import { join } from 'node:path';
import { Container } from '@stratum/container';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { freePort, httpGet } from './lib/net.js';
import { exampleRuntime } from './lib/runtime.js';

await using ex = await exampleRuntime('commit', '10.178.2.0/24');
const { rt, store } = ex;
await imageFromTree(store, busyboxTree(join(ex.dir, 'rootfs')), 'busybox:latest', { Cmd: ['sh'] });

// The container's change: a home page in its writable layer.
await using b1 = await Container.run({ image: 'busybox:latest', name: 'b1', cmd: ['sh', '-c', 'echo "Welcome To My Httpd" > /var/www/index.html'] }, { runtime: rt });
console.log(`b1 exited with ${(await b1.wait()).exitCode}; its CMD was ${JSON.stringify((await b1.inspect()).Config.Cmd)}`);

// docker commit -p -a me -m 'a home page' -c 'CMD […]' b1 httpd:1.1
const committed = await b1.commit({ ref: 'httpd:1.1', author: 'me', message: 'a home page', changes: ['CMD ["/bin/httpd","-f","-p","80","-h","/var/www"]'] });
console.log(`committed httpd:1.1: id ${committed.id}, new layer ${committed.layer.digest} (${committed.layer.size} bytes)`);
const image = await store.inspect('httpd:1.1');
console.log(`httpd:1.1 Cmd ${JSON.stringify(image.Config.Cmd)}, layers ${image.RootFS.Layers.length}, author ${image.Author}, comment ${image.Comment}`);
for (const h of await store.history('httpd:1.1')) console.log(`  history: ${h.CreatedBy}${h.Comment ? ` (${h.Comment})` : ''}`);

// docker run -d --name web -p 127.0.0.1:PORT:80 httpd:1.1 — its CMD is now httpd.
const port = await freePort();
await using web = await Container.run({ image: 'httpd:1.1', name: 'web', ports: [`127.0.0.1:${port}:80`], init: true }, { runtime: rt });
await web.waitForPort(80);
const ip = (await web.inspect()).NetworkSettings.IPAddress;
console.log(`web runs ${JSON.stringify([web.record.Path, ...web.record.Args])} at ${ip}`);
const viaIp = await httpGet(`http://${ip}/`);
console.log(`GET http://${ip}/ → ${viaIp.status} ${viaIp.body.trim()}`);
const viaPort = await httpGet(`http://127.0.0.1:${port}/`);
console.log(`GET http://127.0.0.1:${port}/ → ${viaPort.status} ${viaPort.body.trim()}`);
