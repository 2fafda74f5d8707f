/**
 * Volumes, the seeds' three kinds and --volumes-from:
 *
 *   docker run --name writer -v /tmp/…/b2:/host -v appdata:/srv -v /data busybox sh -c '…'
 *       a bind mount (a host directory), a named volume (filled from the image's /srv on first use)
 *       and an anonymous, docker-managed volume
 *   docker run --rm --volumes-from writer:ro busybox sh -c '…'
 *       the same mounts in another container, read-only
 *   docker volume ls; docker rm -v writer; docker volume rm appdata
 *
 *   npx tsx --conditions=stratum-source examples/volumes.ts      (as root)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from '@stratum/container';
import { VolumeStore } from '@stratum/volume';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { exampleRuntime } from './lib/runtime.js';

await using ex = await exampleRuntime('vol', '10.178.7.0/24');
const { rt, store } = ex;

// An image with content at /srv, which a new named volume mounted there receives (copy-up).
const rootfs = busyboxTree(join(ex.dir, 'rootfs'));
mkdirSync(join(rootfs, 'srv'));
writeFileSync(join(rootfs, 'srv', 'index.html'), 'page from the image\n');
await imageFromTree(store, rootfs, 'busybox:latest', { Cmd: ['sh'] });
const hostDir = join(ex.dir, 'b2');
mkdirSync(hostDir);

/** label shortens an anonymous volume's name (64 hex digits, like Docker's) for printing. */
const label = (name: string): string => (/^[0-9a-f]{64}$/.test(name) ? `${name.slice(0, 12)}… (anonymous)` : name);

async function output(c: Container): Promise<string[]> {
  await c.wait();
  const lines: string[] = [];
  for await (const l of c.logs()) lines.push(l.text.trimEnd());
  return lines;
}

// docker run --name writer -v HOSTDIR:/host -v appdata:/srv -v /data busybox sh -c '…'
await using writer = await Container.run(
  {
    image: 'busybox:latest',
    name: 'writer',
    network: 'none',
    volumes: [`${hostDir}:/host`, 'appdata:/srv', '/data'],
    cmd: ['sh', '-c', 'exec 2>&1; echo "writer: /srv/index.html says: $(cat /srv/index.html)"; echo "note from writer" > /data/note.txt; echo "file from the container" > /host/from-container.txt; echo "added by writer" >> /srv/index.html'],
  },
  { runtime: rt },
);
for (const line of await output(writer)) console.log(line);
console.log(`host sees ${join(hostDir, 'from-container.txt')}: ${readFileSync(join(hostDir, 'from-container.txt'), 'utf8').trim()}`);
for (const m of (await writer.inspect()).Mounts) console.log(`mount: ${m.Type.padEnd(6)} ${m.Destination.padEnd(5)} ← ${m.Name ? `volume ${label(m.Name)}` : m.Source} (${m.RW ? 'rw' : 'ro'})`);

// docker run --rm --volumes-from writer:ro busybox sh -c '…'
{
  await using reader = await Container.run(
    {
      image: 'busybox:latest',
      name: 'reader',
      network: 'none',
      volumesFrom: ['writer:ro'],
      cmd: ['sh', '-c', 'exec 2>&1; echo "reader: /data/note.txt says: $(cat /data/note.txt)"; echo "reader: /srv/index.html says: $(cat /srv/index.html | tr "\\n" "|")"; echo "reader: /host has $(ls /host)"; echo more > /data/note.txt || echo "reader: write refused (volumes-from :ro)"'],
    },
    { runtime: rt },
  );
  for (const line of await output(reader)) console.log(line);
}

// docker volume ls; docker rm -v writer (its anonymous volume goes, the named one stays); docker volume rm appdata
const volumes = await VolumeStore.open(join(rt.root, 'volumes'));
console.log(`volumes: ${(await volumes.list()).map((v) => label(v.Name)).join(', ')}`);
await writer.remove({ volumes: true });
console.log(`after rm -v writer: ${(await volumes.list()).map((v) => v.Name).join(', ')}`);
console.log(`volume rm appdata: ${await volumes.remove('appdata')}; volumes left: ${(await volumes.list()).length}`);
