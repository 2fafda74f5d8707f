/**
 * @stratum/layer against its peers on the same data (issue 3):
 *  - applyLayer vs `umoci unpack` vs `tar -xzf` (and `gzip -dc` alone, the decompression floor)
 *    on one gzip layer of a 256 MiB mixed tree and of a 20,000-small-file tree;
 *  - createLayer of a changed tree ({ from, to } and an overlay { upper }) vs `umoci repack`.
 * Every run writes into a fresh directory; outputs are deleted at the end (ext4 without a
 * journal here slows down after mass deletions). Peak RSS: ours is this process.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { MNT, mountFs, umount2 } from '@stratum/native';
import { applyLayer, createLayer } from '@stratum/layer';
import { which } from '@stratum/testing';
import { writeLayout } from '../../packages/layer/test/helpers.js';
import { Launcher, benchDir, runCommand, type Benchmark, type Contender } from './harness.js';

const MiB = 1024 * 1024;

/** A deterministic byte generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const WORDS = 'the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet config value path usr lib share doc include static const return function export import'.split(' ');

function randomBytes(r: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n + 3);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(r(), i);
  return b.subarray(0, n);
}

function textBytes(r: () => number, n: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = WORDS[r() % WORDS.length]!;
    parts.push(w);
    len += w.length + 1;
  }
  return Buffer.from(parts.join(r() % 7 === 0 ? '\n' : ' ')).subarray(0, n);
}

/** Writes the mixed tree: big, medium and small files, half compressible, symlinks, hard links. */
function mixedTree(root: string): void {
  const r = rng(0x51a7);
  const content = (n: number): Buffer => (r() % 2 ? randomBytes(r, n) : textBytes(r, n));
  let total = 0;
  for (let i = 0; i < 8; i++) {
    mkdirSync(join(root, 'opt', `big${i}`), { recursive: true });
    const b = content(16 * MiB);
    writeFileSync(join(root, 'opt', `big${i}`, 'blob.bin'), b);
    total += b.length;
  }
  let n = 0;
  while (total < 256 * MiB) {
    const dir = join(root, 'usr', `d${n % 60}`, `s${(n >> 3) % 5}`);
    mkdirSync(dir, { recursive: true });
    const size = n % 3 === 0 ? 20_000 + (r() % 140_000) : r() % 12_000;
    const b = content(size);
    const p = join(dir, `f${n}`);
    writeFileSync(p, b);
    if (n % 5 === 0) chmodSync(p, 0o755);
    if (n % 40 === 0) symlinkSync(`f${n}`, `${p}.link`);
    if (n % 97 === 0) linkSync(p, `${p}.hard`);
    total += size;
    n++;
  }
}

/** Writes 20,000 small files (0–4 KiB) in 400 directories. */
function smallTree(root: string): void {
  const r = rng(0x2000);
  for (let i = 0; i < 20_000; i++) {
    const dir = join(root, 'srv', `a${i % 20}`, `b${i % 400}`);
    if (i < 400) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `file${i}.txt`), r() % 2 ? textBytes(r, r() % 4096) : randomBytes(r, r() % 4096));
  }
}

interface Image {
  tree: string;
  layout: string;
  blob: string;
}

/** Makes (once, cached under .bench/data) the tree, its gzip layer (createLayer) and an OCI layout. */
async function image(name: string, fill: (root: string) => void): Promise<Image> {
  const dir = join(benchDir('data'), `layer-${name}`);
  const tree = join(dir, 'tree');
  const layout = join(dir, 'layout');
  const blob = join(dir, 'layer.tar.gz');
  if (!existsSync(join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(tree, { recursive: true });
    fill(tree);
    const c = createLayer({ from: undefined, to: tree }, { compression: 'gzip' });
    await pipeline(c.stream, createWriteStream(blob));
    writeLayout(layout, [{ blob: readFileSync(blob), diffID: await c.diffID, mediaType: c.mediaType }], 'v1');
    writeFileSync(join(dir, 'done'), '');
  }
  return { tree, layout, blob };
}

const trash = join(benchDir('out'), `layer-trash-${process.pid}`);
let trashHook = false;

/**
 * Fresh output directories per run. At teardown they are moved aside and deleted only when the
 * process exits: mass deletions on this ext4 (no journal) would slow down the next benchmark.
 */
function scratch(name: string): { next(): string; cleanup(): void } {
  const root = join(benchDir('out'), `${name}-${process.pid}`);
  let n = 0;
  return {
    next: () => join(root, String(n++)),
    cleanup: () => {
      if (!existsSync(root)) return;
      mkdirSync(trash, { recursive: true });
      renameSync(root, join(trash, name));
      if (!trashHook) {
        trashHook = true;
        process.once('exit', () => rmSync(trash, { recursive: true, force: true }));
      }
    },
  };
}

/**
 * The apply benchmarks start their peers (and `sync`) from one long-lived shell: a fork of this
 * process would make the in-process contender after it pay copy-on-write faults (see Launcher).
 */
let launcher: Launcher | undefined;

/**
 * Flushes dirty pages after each run (not timed), so that no run pays for the previous one's
 * writeback. Its peak RSS is not recorded as the contender's.
 */
const flush = (): Promise<void> => launcher!.run(['sync'], { recordRss: false });

function applyBench(label: string, get: () => Promise<Image>): Benchmark {
  let img: Image | undefined;
  const out = scratch(`apply-${label}`);
  let dir = '';
  const fresh = (): void => {
    dir = out.next();
  };
  const ours: Contender = {
    name: 'stratum applyLayer',
    before: fresh,
    after: flush,
    run: async () => {
      await applyLayer(img!.blob, dir, { keepSetuid: true, keepDevices: true });
    },
  };
  return {
    group: 'layer',
    name: `apply one gzip layer, ${label}`,
    runs: 5,
    memory: true,
    target: 'ours ≤ 0.5× umoci unpack, ≤ 1.3× tar -xzf; peak RSS < 150 MiB',
    unavailable: () => (which('umoci') ? undefined : 'umoci is not installed'),
    setup: async () => {
      img = await get();
      launcher = new Launcher(benchDir('out'));
    },
    teardown: async () => {
      await launcher?.close();
      launcher = undefined;
      out.cleanup();
    },
    ours,
    peers: [
      { name: 'umoci unpack', before: fresh, after: flush, run: () => launcher!.run(['umoci', 'unpack', '--image', `${img!.layout}:v1`, dir]) },
      {
        name: 'tar -xzf',
        before: () => {
          fresh();
          mkdirSync(dir, { recursive: true });
        },
        after: flush,
        run: () => launcher!.run(['tar', '-xzf', img!.blob, '-C', dir]),
      },
      { name: 'gzip -dc > /dev/null (floor)', run: () => launcher!.run(['sh', '-c', `gzip -dc < ${img!.blob} > /dev/null`]) },
      {
        // Our peak RSS measured like the peers': a process of its own (node + tsx loader, ~80 MiB of it before any work).
        name: 'stratum applyLayer, own process (node + tsx)',
        before: fresh,
        after: flush,
        run: () => launcher!.run([process.execPath, '--conditions=stratum-source', '--import', 'tsx', child, img!.blob, dir]),
      },
    ],
  };
}

const child = fileURLToPath(new URL('./layer-apply-child.ts', import.meta.url));

/** Changes ~10% of a tree: rewrites, deletions (files and a directory), additions, chmods. */
function change(root: string): void {
  const r = rng(0xc4a9);
  let i = 0;
  const walk = (d: string): void => {
    for (const name of execFileSync('ls', ['-1', d], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        walk(p);
        continue;
      }
      i++;
      if (i % 10 === 0) writeFileSync(p, randomBytes(r, Math.min(st.size, 64_000)));
      else if (i % 10 === 1) unlinkSync(p);
      else if (i % 25 === 2) chmodSync(p, 0o600);
    }
  };
  walk(join(root, 'usr'));
  rmSync(join(root, 'usr', 'd7'), { recursive: true, force: true });
  mkdirSync(join(root, 'new'), { recursive: true });
  for (let k = 0; k < 200; k++) writeFileSync(join(root, 'new', `n${k}`), textBytes(r, 50_000));
  writeFileSync(join(root, 'opt', 'big0', 'blob.bin'), randomBytes(r, 16 * MiB));
}

function createBench(get: () => Promise<Image>): Benchmark[] {
  let img: Image | undefined;
  let base = '';
  let bundle = '';
  let upper = '';
  const outs = [scratch('create-tree'), scratch('create-upper')];
  let current = outs[0]!;
  let target = '';
  const prepare = async (): Promise<void> => {
    if (bundle) return;
    img = await get();
    const dir = join(benchDir('data'), 'layer-create');
    base = join(dir, 'base');
    bundle = join(dir, 'bundle');
    upper = join(dir, 'upper');
    if (!existsSync(join(dir, 'done'))) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await applyLayer(img.blob, base, { keepSetuid: true, keepDevices: true });
      // umoci's bundle (its rootfs plus the mtree it diffs against), then the same changes in it…
      execFileSync('umoci', ['unpack', '--image', `${img.layout}:v1`, bundle]);
      change(join(bundle, 'rootfs'));
      // … and through an overlay over `base`, leaving them in an upper dir.
      const work = join(dir, 'work');
      const merged = join(dir, 'stratum-bench-merged');
      for (const d of [upper, work, merged]) mkdirSync(d, { recursive: true });
      mountFs({ fstype: 'overlay', source: 'stratum-bench', options: [['lowerdir', base], ['upperdir', upper], ['workdir', work], ['index', 'off'], ['redirect_dir', 'off'], ['metacopy', 'off']], target: merged });
      try {
        change(merged);
      } finally {
        umount2(merged, MNT.DETACH);
      }
      writeFileSync(join(dir, 'done'), '');
    }
  };
  const fresh = (): void => {
    target = current.next();
    mkdirSync(target, { recursive: true });
  };
  const umociRepack: Contender = {
    name: 'umoci repack',
    before: async () => {
      fresh();
      // A copy of the layout per run (umoci adds the new layer and manifest to it).
      execFileSync('cp', ['-a', img!.layout, join(target, 'layout')]);
    },
    after: flush,
    run: () => runCommand(['umoci', 'repack', '--image', `${join(target, 'layout')}:v2`, bundle]),
  };
  const ours = (name: string, change: () => Parameters<typeof createLayer>[0]): Contender => ({
    name,
    before: fresh,
    after: flush,
    run: async () => {
      const c = createLayer(change(), { compression: 'gzip' });
      await pipeline(c.stream, createWriteStream(join(target, 'layer.tar.gz')));
      await c.digest;
    },
  });
  const common = {
    group: 'layer',
    runs: 5,
    memory: true,
    target: 'ours ≤ 0.5× umoci repack; peak RSS < 150 MiB',
    unavailable: () => (which('umoci') ? undefined : 'umoci is not installed'),
  };
  return [
    {
      ...common,
      name: 'create a layer from a changed 256 MiB tree, two trees {from, to}',
      setup: async () => {
        current = outs[0]!;
        await prepare();
      },
      teardown: () => outs[0]!.cleanup(),
      ours: ours('stratum createLayer {from, to}', () => ({ from: base, to: join(bundle, 'rootfs') })),
      peers: [umociRepack],
    },
    {
      ...common,
      name: 'create a layer from a changed 256 MiB tree, overlay {upper}',
      setup: async () => {
        current = outs[1]!;
        await prepare();
      },
      teardown: () => outs[1]!.cleanup(),
      ours: ours('stratum createLayer {upper}', () => ({ upper })),
      peers: [umociRepack],
    },
  ];
}

export default async function benchmarks(): Promise<Benchmark[]> {
  const mixed = (): Promise<Image> => image('mixed-256m', mixedTree);
  const small = (): Promise<Image> => image('small-20k', smallTree);
  return [applyBench('256 MiB mixed tree', mixed), applyBench('20,000 small files', small), ...createBench(mixed)];
}
