import { createHash } from 'node:crypto';
import { createReadStream, existsSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createDigester } from '@stratum/oci';
import { benchDir, runCommand, type Benchmark } from './harness.js';

const MiB = 1024 * 1024;

/** bigFile makes (once) a 256 MiB file of pseudo-random bytes, shared by the digest and store benchmarks. */
export function bigFile(): string {
  const path = join(benchDir('data'), 'blob-256m.bin');
  if (existsSync(path) && statSync(path).size === 256 * MiB) return path;
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(MiB);
  let x = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    for (let j = 0; j < MiB; j += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      chunk.writeUInt32LE(x >>> 0, j);
    }
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return path;
}

export default async function benchmarks(): Promise<Benchmark[]> {
  let file = '';
  return [
    {
      group: 'oci',
      name: 'sha256 digest of a 256 MiB file',
      setup: () => {
        file = bigFile();
      },
      runs: 5,
      memory: true,
      target: 'ours ≥ 0.9× the throughput of the raw Node hash (ratio ≤ 1.11)',
      ours: {
        name: 'stratum createDigester (stream)',
        run: async () => {
          const d = createDigester('sha256');
          for await (const chunk of createReadStream(file, { highWaterMark: MiB })) d.update(chunk as Buffer);
          d.digest();
        },
      },
      peers: [
        { name: 'sha256sum', run: () => runCommand(['sha256sum', file]) },
        {
          name: 'node crypto, one stream (floor)',
          run: async () => {
            const h = createHash('sha256');
            for await (const chunk of createReadStream(file, { highWaterMark: MiB })) h.update(chunk as Buffer);
            h.digest('hex');
          },
        },
      ],
    },
  ];
}
