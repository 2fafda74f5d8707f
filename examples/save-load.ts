/**
 * Save several images to one archive, remove them, load them back, run one — the seeds'
 *
 *   docker save -o myimages.gz busybox:latest hello:1 motd:1
 *   docker rmi busybox:latest hello:1 motd:1
 *   docker load -i myimages.gz
 *   docker run --rm hello:1
 *
 * The archive is Docker's (manifest.json + an OCI index, as Docker 25 writes it), gzip-compressed
 * afterwards as the tutorials do; loading reads the gzip as is.
 *
 *   npx tsx --conditions=stratum-source examples/save-load.ts      (as root)
 */
import { createReadStream, createWriteStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Container } from '@stratum/container';
import { mutate } from '@stratum/image';
import { loadDockerArchive, saveDockerArchive } from '@stratum/image-archive';
import { createLayer } from '@stratum/layer';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { exampleRuntime } from './lib/runtime.js';

await using ex = await exampleRuntime('save', '10.178.3.0/24');
const { rt, store } = ex;

// Three images: busybox, and two made from it with one more layer each (a file and a CMD).
await imageFromTree(store, busyboxTree(join(ex.dir, 'rootfs')), 'busybox:latest', { Cmd: ['sh'] });
async function derive(ref: string, file: string, text: string, cmd: string[]): Promise<void> {
  const dir = join(ex.dir, ref.replace(/\W/g, '-'));
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, file), text);
  const layer = createLayer({ from: undefined, to: dir }, { compression: 'gzip' });
  const blob = await store.blobs.put(layer.stream, { mediaType: layer.mediaType });
  const image = mutate(await store.image('busybox:latest'), { append: [{ layer: store.layer(blob, await layer.diffID), history: { created_by: `COPY ${file} /${file}` } }], config: { Cmd: cmd } });
  await store.write(image, ref);
}
await derive('hello:1', 'etc/hello.txt', 'hello from a loaded image\n', ['cat', '/etc/hello.txt']);
await derive('motd:1', 'etc/motd', 'message of the day\n', ['cat', '/etc/motd']);
const refs = ['busybox:latest', 'hello:1', 'motd:1'];
const before = new Map<string, string>();
for (const ref of refs) before.set(ref, (await store.inspect(ref)).Id);
console.log(`images: ${refs.map((r) => `${r} ${before.get(r)!.slice(7, 19)}`).join(', ')}`);

// docker save -o myimages.tar …; gzip
const tar = join(ex.dir, 'myimages.tar');
const saved = await saveDockerArchive(store, refs, tar);
await pipeline(createReadStream(tar), createGzip(), createWriteStream(`${tar}.gz`));
console.log(`saved ${saved.length} images to myimages.tar (${statSync(tar).size} bytes), gzip: myimages.tar.gz (${statSync(`${tar}.gz`).size} bytes)`);

// docker rmi …: untag, then the blobs no tag reaches go.
for (const ref of refs) await store.untag(ref);
const { removed } = await store.gc();
console.log(`removed the images: ${removed.length} blobs deleted, ${(await store.list()).length} images left`);

// docker load -i myimages.tar.gz
const loaded = await loadDockerArchive(`${tar}.gz`, store);
for (const l of loaded) console.log(`loaded ${l.tags.join(', ')} id ${l.id?.slice(7, 19)}${[...before.values()].includes(l.id!) ? ' (the id it had before the save)' : ''}`);
console.log(`images now: ${(await store.list()).map((e) => e.ref).sort().join(', ')}`);

// docker run --rm --network none hello:1
await using c = await Container.run({ image: 'hello:1', network: 'none' }, { runtime: rt });
const { exitCode } = await c.wait();
let text = '';
for await (const line of c.logs()) text += line.text;
console.log(`run hello:1 → exit ${exitCode}: ${text.trim()}`);
