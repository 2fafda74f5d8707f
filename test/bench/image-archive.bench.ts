/**
 * @stratum/image-archive against skopeo on one 256 MiB "mixed" image (4 layers of 64 MiB, half
 * pseudo-random bytes, half text; gzip layers in an OCI layout store, as a pull leaves them):
 * - save: `saveDockerArchive(store, [ref], out)` vs `skopeo copy oci:STORE:REF docker-archive:OUT`
 *   (both decompress every layer into the archive, as `docker save` writes them);
 * - load: `loadDockerArchive(archive, freshStore)` vs `skopeo copy docker-archive:… oci:FRESH`,
 *   once with `--dest-oci-accept-uncompressed-layers` (layers kept as they come, as we do) and
 *   once as skopeo does by default (it gzips them on the way).
 * Each run writes into a fresh directory; everything is deleted at the end. Target (issue 3):
 * peak RSS < 150 MiB; times are reported beside skopeo's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Store } from '@stratum/image';
import { encodeHeader, END_OF_ARCHIVE, padding } from '@stratum/layer';
import { createDigester, MediaType, canonicalJson, type Descriptor, type Digest } from '@stratum/oci';
import { saveDockerArchive } from '@stratum/image-archive';
import { benchDir, lastCommand, runCommand, type Benchmark } from './harness.js';

const MiB = 1024 * 1024;
const ref = 'docker.io/bench/archive:1';
const skopeoCache = '/var/lib/containers/cache/blob-info-cache-v1.boltdb';

/** One layer's uncompressed tar: files of 64 KiB–8 MiB, alternately pseudo-random and text. */
function* layerTar(seed: number, total: number): Generator<Uint8Array> {
  let x = (0x9e3779b9 ^ seed) >>> 0;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(1200));
  let written = 0;
  for (let i = 0; written < total; i++) {
    const size = Math.min(total - written, 64 * 1024 + (next() % (8 * MiB)));
    yield encodeHeader({ name: `data/l${seed}/f${i}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 });
    let left = size;
    while (left > 0) {
      const n = Math.min(left, MiB);
      const chunk = Buffer.allocUnsafe(n);
      if (i % 2 === 0) for (let j = 0; j + 4 <= n; j += 4) chunk.writeUInt32LE(next(), j);
      else for (let j = 0; j < n; j += text.length) text.copy(chunk, j, 0, Math.min(text.length, n - j));
      yield chunk;
      left -= n;
    }
    yield padding(size);
    written += size;
  }
  yield END_OF_ARCHIVE;
}

/** The store with the 256 MiB image, made once under .bench/data. */
async function benchStore(): Promise<string> {
  const dir = join(benchDir('data'), 'archive-store-256m');
  if (existsSync(join(dir, '.done'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  await using store = await Store.open(dir);
  const layers: Descriptor[] = [];
  const diffIDs: Digest[] = [];
  for (let i = 0; i < 4; i++) {
    const diff = createDigester();
    const tar = Readable.from(
      (function* () {
        for (const c of layerTar(i, 64 * MiB)) {
          diff.update(c);
          yield c;
        }
      })(),
      { objectMode: false },
    );
    const gz = join(dir, 'tmp', `layer${i}.gz`);
    await pipeline(tar, createGzip({ level: 6 }), createWriteStream(gz));
    layers.push(await store.blobs.put(createReadStream(gz), { mediaType: MediaType.OciLayerGzip }));
    rmSync(gz);
    diffIDs.push(diff.digest());
  }
  const config = canonicalJson({
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIDs },
    history: diffIDs.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'bench' })),
  });
  const cfg = await store.blobs.put(config, { mediaType: MediaType.OciConfig });
  const manifest = canonicalJson({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: cfg, layers });
  const m = await store.blobs.put(manifest, { mediaType: MediaType.OciManifest });
  await store.tag(ref, m);
  writeFileSync(join(dir, '.done'), '');
  return dir;
}

/**
 * Worker runs ours in a child process started once per benchmark (not timed) and told what to do
 * over IPC: the harness would otherwise measure the RSS of the whole bench runner, every bench
 * module it loaded included. Its peak RSS (VmHWM, reset before each run through
 * /proc/PID/clear_refs) is handed to the harness like a peer command's.
 */
class Worker {
  readonly #child: ChildProcess;
  readonly #ready: Promise<void>;

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./image-archive-worker.ts', import.meta.url)), [], {
      execArgv: ['--conditions=stratum-source', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#ready = new Promise((resolve) => this.#child.once('message', () => resolve()));
  }

  async run(job: { op: 'save' | 'load'; store: string; ref: string; path: string }): Promise<void> {
    await this.#ready;
    writeFileSync(`/proc/${this.#child.pid}/clear_refs`, '5');
    const reply = await new Promise<{ ok: boolean; error?: string }>((resolve) => {
      this.#child.once('message', resolve);
      this.#child.send(job);
    });
    if (!reply.ok) throw new Error(reply.error);
    lastCommand.peakRssKiB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.#child.pid}/status`, 'utf8'))?.[1] ?? 0);
  }

  stop(): void {
    this.#child.kill();
  }
}

export default async function benchmarks(): Promise<Benchmark[]> {
  let storeDir = '';
  let archive = '';
  const root = benchDir('image-archive');
  let n = 0;
  let out = '';
  let worker: Worker | undefined;
  const stop = (): void => {
    worker?.stop();
    worker = undefined;
    cleanup();
  };
  const fresh = (): void => {
    out = join(root, `run-${process.pid}-${n++}`);
    mkdirSync(out, { recursive: true });
  };
  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  const skopeo = (args: string[]): (() => Promise<void>) => async () => {
    rmSync(skopeoCache, { force: true });
    await runCommand(['skopeo', 'copy', '-q', ...args]);
  };
  const unavailable = (): string | undefined => (existsSync('/usr/bin/skopeo') ? undefined : 'skopeo is not installed');
  // What both rows share: the group, the skopeo check, the worker's lifetime, runs and memory.
  const common = {
    group: 'image-archive',
    unavailable,
    teardown: stop,
    runs: 5,
    memory: true,
    target: 'peak RSS < 150 MiB (ours: a worker process running only the call)',
  };
  return [
    {
      ...common,
      name: 'save a 256 MiB image (4 gzip layers) to a docker archive',
      async setup() {
        storeDir = await benchStore();
        worker = new Worker();
      },
      ours: {
        name: 'stratum saveDockerArchive',
        before: fresh,
        run: () => worker!.run({ op: 'save', store: storeDir, ref, path: join(out, 'save.tar') }),
      },
      peers: [{ name: 'skopeo copy oci: docker-archive:', before: fresh, run: () => skopeo([`oci:${storeDir}:${ref}`, `docker-archive:${join(out, 'save.tar')}:bench/archive:1`])() }],
    },
    {
      ...common,
      name: 'load a 256 MiB docker archive into a store',
      async setup() {
        storeDir = await benchStore();
        archive = join(benchDir('data'), 'archive-256m.tar');
        if (!existsSync(archive) || statSync(archive).size < 256 * MiB) {
          await using store = await Store.open(storeDir);
          await saveDockerArchive(store, [ref], archive);
        }
        worker = new Worker();
      },
      ours: {
        name: 'stratum loadDockerArchive',
        before: fresh,
        run: () => worker!.run({ op: 'load', store: join(out, 'store'), ref, path: archive }),
      },
      peers: [
        {
          name: 'skopeo copy docker-archive: oci: (layers as they come)',
          before: fresh,
          run: () => skopeo(['--dest-oci-accept-uncompressed-layers', `docker-archive:${archive}`, `oci:${join(out, 'oci')}:x`])(),
        },
        { name: 'skopeo copy docker-archive: oci: (gzips layers)', before: fresh, run: () => skopeo([`docker-archive:${archive}`, `oci:${join(out, 'oci')}:x`])() },
      ],
    },
  ];
}
