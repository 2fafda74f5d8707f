/**
 * A minimal image FROM scratch with one static binary — the Dockerfile
 *
 *   FROM scratch
 *   COPY busybox /bin/busybox
 *   ENTRYPOINT ["/bin/busybox"]
 *   CMD ["echo", "hello from an image of one file"]
 *
 * done with the library: a directory holding the one file becomes a layer (@stratum/layer's
 * createLayer), the layer goes into the content store, `mutate` puts it on an empty image and sets
 * the config, `store.write` tags it; then a container runs it, once with its CMD and once with
 * another. No shell, no /etc, no applet links: the image is that one file.
 *
 *   npx tsx --conditions=stratum-source examples/scratch-image.ts      (as root)
 */
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Container, scratchImage } from '@stratum/container';
import { mutate } from '@stratum/image';
import { createLayer, readTar } from '@stratum/layer';
import { BUSYBOX } from './lib/busybox.js';
import { exampleRuntime } from './lib/runtime.js';

await using ex = await exampleRuntime('tiny', '10.178.1.0/24');
const { rt, store } = ex;

// The build context: one static executable.
const tree = join(ex.dir, 'context');
mkdirSync(join(tree, 'bin'), { recursive: true });
copyFileSync(BUSYBOX, join(tree, 'bin', 'busybox'));
chmodSync(join(tree, 'bin', 'busybox'), 0o755);

// COPY → a layer: the whole tree as a gzip tar, its digests computed while it streams into the store.
const layer = createLayer({ from: undefined, to: tree }, { compression: 'gzip', reproducible: { mtime: 0 } });
const blob = await store.blobs.put(layer.stream, { mediaType: layer.mediaType });
const diffID = await layer.diffID;
console.log(`layer: ${blob.digest} (${blob.size} bytes gzip, diffID ${diffID})`);
const entries: string[] = [];
for await (const e of readTar(store.blobs.get(blob.digest))) entries.push(`${e.type === 'directory' ? 'd' : '-'} ${e.name}`);
console.log(`layer contents: ${entries.join(', ')}`);

// FROM scratch + the layer + ENTRYPOINT/CMD → an image in the store.
const image = mutate(scratchImage(), {
  append: [{ layer: store.layer(blob, diffID), history: { created_by: 'COPY busybox /bin/busybox' } }],
  config: { Entrypoint: ['/bin/busybox'], Cmd: ['echo', 'hello from an image of one file'] },
});
await store.write(image, 'tiny:1');
const info = await store.inspect('tiny:1');
console.log(`image: tiny:1 id ${info.Id}, ${info.RootFS.Layers.length} layer, Entrypoint ${JSON.stringify(info.Config.Entrypoint)} Cmd ${JSON.stringify(info.Config.Cmd)}`);

// docker run --rm --network none tiny:1
async function run(cmd?: string[]): Promise<string> {
  await using c = await Container.run({ image: 'tiny:1', network: 'none', ...(cmd ? { cmd } : {}) }, { runtime: rt });
  const { exitCode } = await c.wait();
  let text = '';
  for await (const line of c.logs()) text += line.text;
  return `exit ${exitCode}: ${text.trim()}`;
}
console.log(`run tiny:1 → ${await run()}`);
// docker run --rm --network none tiny:1 ls /   (the CMD replaced, the ENTRYPOINT kept)
console.log(`run tiny:1 ls / → ${(await run(['ls', '/'])).replace(/\s+/g, ' ')}`);
