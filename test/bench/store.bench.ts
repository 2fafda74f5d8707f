/**
 * store.blobs.put of a 256 MiB file (hash while writing, fsync, rename) against the two-pass way
 * with coreutils: `cp` then `sha256sum` of the copy — and the same with the copy fsynced
 * (`sync FILE`), the durability put gives. Each run writes into a fresh directory; all of them
 * are removed at the end.
 */
import { createReadStream, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Store } from '@stratum/image';
import { benchDir, lastCommand, runCommand, type Benchmark } from './harness.js';
import { bigFile } from './digest.bench.js';

const MiB = 1024 * 1024;

export default async function benchmarks(): Promise<Benchmark[]> {
  let file = '';
  let root = '';
  let n = 0;
  let out = '';
  const fresh = async (): Promise<void> => {
    out = join(root, `run-${n++}`);
    await mkdir(out, { recursive: true });
  };
  const drop = (): void => rmSync(out, { recursive: true, force: true });
  const twoPass = async (sync: boolean): Promise<void> => {
    const copy = join(out, 'blob');
    await runCommand(['cp', file, copy]);
    let peak = lastCommand.peakRssKiB;
    if (sync) {
      await runCommand(['sync', copy]);
      peak = Math.max(peak, lastCommand.peakRssKiB);
    }
    await runCommand(['sha256sum', copy]);
    lastCommand.peakRssKiB = Math.max(peak, lastCommand.peakRssKiB);
  };
  return [
    {
      group: 'image',
      name: 'store.blobs.put of a 256 MiB file',
      setup: () => {
        file = bigFile();
        root = join(benchDir('store'), `${process.pid}`);
      },
      teardown: () => rmSync(root, { recursive: true, force: true }),
      runs: 5,
      memory: true,
      target: 'ours ≤ 0.8× the time of cp + sha256sum',
      ours: {
        name: 'stratum store.blobs.put (one pass, fsync)',
        before: fresh,
        run: async () => {
          const store = await Store.open(out);
          await store.blobs.put(createReadStream(file, { highWaterMark: MiB }));
          await store.close();
        },
        after: drop,
      },
      peers: [
        { name: 'cp + sha256sum', before: fresh, run: () => twoPass(false), after: drop },
        { name: 'cp + sync FILE + sha256sum', before: fresh, run: () => twoPass(true), after: drop },
      ],
    },
  ];
}
