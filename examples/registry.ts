/**
 * A private registry round trip — the seeds' docker-distribution registry, here Debian's
 * docker-registry on the loopback interface with a temp storage dir:
 *
 *   docker-registry serve config.yml                 (127.0.0.1:PORT, plain HTTP)
 *   docker tag hello:1 127.0.0.1:PORT/demo/hello:1
 *   docker push 127.0.0.1:PORT/demo/hello:1
 *   docker rmi hello:1 127.0.0.1:PORT/demo/hello:1
 *   docker pull 127.0.0.1:PORT/demo/hello:1
 *   docker run --rm 127.0.0.1:PORT/demo/hello:1
 *
 *   npx tsx --conditions=stratum-source examples/registry.ts      (as root; docker-registry installed)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from '@stratum/container';
import { mutate } from '@stratum/image';
import { RegistryClient } from '@stratum/registry-client';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { freePort, httpGet } from './lib/net.js';
import { exampleRuntime } from './lib/runtime.js';

await using ex = await exampleRuntime('reg', '10.178.4.0/24');
const { rt, store } = ex;

/** startRegistry runs docker-registry on 127.0.0.1:PORT with its storage under `dir`; disposing it stops it. */
async function startRegistry(dir: string): Promise<{ host: string } & AsyncDisposable> {
  const host = `127.0.0.1:${await freePort()}`;
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1',
    'log: { level: error, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${JSON.stringify(join(dir, 'storage'))} }, delete: { enabled: true } }`,
    `http: { addr: ${JSON.stringify(host)} }`,
    '',
  ].join('\n'));
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } });
  // It logs every 404 of a HEAD (a push asking "have you got this blob?") as an error: kept for failures only.
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log}`);
    const up = await httpGet(`http://${host}/v2/`, 1000).then((r) => r.status === 200, () => false);
    if (up) break;
    if (i === 200) {
      await stop();
      throw new Error(`docker-registry did not answer on ${host}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, [Symbol.asyncDispose]: stop };
}

await using registry = await startRegistry(join(ex.dir, 'registry'));
console.log(`registry: docker-registry on http://${registry.host}`);

// An image to push: busybox plus a CMD.
await imageFromTree(store, busyboxTree(join(ex.dir, 'rootfs')), 'busybox:latest', { Cmd: ['sh'] });
await store.write(mutate(await store.image('busybox:latest'), { config: { Cmd: ['echo', 'hello from the private registry'] } }), 'hello:1');

// docker push (loopback registries speak plain HTTP: `insecure`, as dockerd treats them)
const remote = `${registry.host}/demo/hello:1`;
await using client = new RegistryClient({ insecure: [registry.host] });
const states = new Map<string, string>();
const pushed = await client.push(await store.image('hello:1'), remote, { onProgress: (e) => states.set(e.digest, e.state) });
console.log(`pushed ${pushed.reference} (blobs: ${[...states.values()].join(', ')})`);
console.log(`registry catalog: ${JSON.stringify(await client.catalog(registry.host))}, tags of demo/hello: ${JSON.stringify(await client.tags(`${registry.host}/demo/hello`))}`);

// docker rmi: nothing of the image is left locally.
await store.untag('hello:1');
await store.untag('busybox:latest');
const { removed } = await store.gc();
console.log(`local images removed (${removed.length} blobs deleted); local images now: ${(await store.list()).length}`);

// docker pull
const pulled = await client.pull(remote, { store });
console.log(`pulled ${pulled.tag}: ${pulled.downloaded.length} blobs downloaded, manifest ${pulled.descriptor.digest} ${pulled.descriptor.digest === pushed.descriptor.digest ? '(the one pushed)' : '(differs from the one pushed!)'}`);

// docker run --rm --network none 127.0.0.1:PORT/demo/hello:1
await using c = await Container.run({ image: remote, network: 'none' }, { runtime: rt });
const { exitCode } = await c.wait();
let text = '';
for await (const line of c.logs()) text += line.text;
console.log(`run ${remote} → exit ${exitCode}: ${text.trim()}`);
