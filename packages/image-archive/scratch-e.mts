import { memoryImage, memoryLayer, randomTree, tarOf } from '@stratum/testing';
import { exportOciLayout, saveDockerArchive } from '@stratum/image-archive';
import { rmSync } from 'node:fs';
const base = memoryLayer(await tarOf(randomTree({ seed: 1, files: 3 })));
const img = await memoryImage([base]);
rmSync('/tmp/stratum-ia-scratch/lay', { recursive: true, force: true });
console.log(await exportOciLayout([{ image: img, tags: ['foo/bar:1'] }], '/tmp/stratum-ia-scratch/lay'));
await exportOciLayout([{ image: img, tags: ['foo/bar:1'] }], '/tmp/stratum-ia-scratch/lay.tar');
await saveDockerArchive(undefined, [{ image: img, tags: ['foo/bar:1'] }], '/tmp/stratum-ia-scratch/d.tar');
