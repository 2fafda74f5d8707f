/**
 * @stratum/union-fs: (1) overlay mount + unmount with 1 and 64 lower layers — mountOverlay (new
 * mount API, lowerdir+, plus the Mount handle's unmount) against the same syscalls from a small C
 * program (the floor, test/bench/floors/overlay_floor.c) and against util-linux `mount`/`umount`
 * (one process each); with 64 lowers also the classic mount(2) path with short links. (native.bench.ts
 * measures the raw mountFs call with 40 lowers; this measures the package's API.) (2) UnionView
 * stat of 10,000 paths over 10 layers: a fresh view of the layer directories, a warm one, a view
 * of the layer tars, and the kernel's overlay mount of the same directories (fs.statSync).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MNT, umount2 } from '@stratum/native';
import { END_OF_ARCHIVE, applyLayer, encodeHeader, padding } from '@stratum/layer';
import { UnionView, mountOverlay, type Mount } from '@stratum/union-fs';
import { runCommand, type Benchmark } from './harness.js';

const MOUNTS = 100;
const LAYERS = 10;
const PATHS = 10_000;

function unavailableMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) return 'no overlayfs';
  if (spawnSync('cc', ['--version']).status !== 0) return 'cc is not installed (build-essential)';
  return undefined;
}

function mountBench(lowers: number): Benchmark {
  let tmp = '';
  let floor = '';
  let lower: string[] = [];
  let upper = '';
  let work = '';
  let target = '';
  const ensureUnmounted = (): void => {
    while (readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${target} `)) umount2(target, MNT.DETACH);
  };
  // The same overlay parameters as mountOverlay's defaults, for the mount command.
  const data = (): string => `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work},index=off,metacopy=off,redirect_dir=off`;
  const peers: Benchmark['peers'] = [
    { name: 'C fsopen…move_mount + umount2 (floor)', run: () => runCommand([floor, String(MOUNTS), target, upper, work, ...lower]), after: ensureUnmounted },
    {
      name: 'mount -t overlay + umount (util-linux)',
      run: async () => {
        for (let i = 0; i < MOUNTS; i++) {
          await runCommand(['mount', '-t', 'overlay', '-o', data(), 'stratum-bench', target]);
          await runCommand(['umount', target]);
        }
      },
      after: ensureUnmounted,
    },
  ];
  if (lowers > 1) {
    peers.push({
      name: 'mountOverlay classic (mount(2), short links)',
      run: async () => {
        for (let i = 0; i < MOUNTS; i++) {
          const m = await mountOverlay({ lower, upper, work, target, method: 'classic' });
          await m.unmount();
        }
      },
      after: ensureUnmounted,
    });
  }
  return {
    group: 'union-fs',
    name: `overlay mount + unmount, ${lowers} lower${lowers > 1 ? 's' : ''}, ${MOUNTS} per run`,
    runs: 9,
    target: 'ours ≤ 1.3× the C floor',
    unavailable: unavailableMount,
    setup: () => {
      tmp = mkdtempSync(join(tmpdir(), 'stratum-bench-unionfs-'));
      floor = join(tmp, 'overlay_floor');
      const cc = spawnSync('cc', ['-O2', '-o', floor, join(import.meta.dirname, 'floors', 'overlay_floor.c')], { encoding: 'utf8' });
      if (cc.status !== 0) throw new Error(`cc: ${cc.stderr}`);
      lower = Array.from({ length: lowers }, (_, i) => join(tmp, `l${i}`));
      for (const [i, l] of lower.entries()) {
        mkdirSync(l);
        writeFileSync(join(l, `f${i}`), '');
      }
      [upper, work, target] = ['upper', 'work', 'merged'].map((d) => join(tmp, d)) as [string, string, string];
      for (const d of [upper, work, target]) mkdirSync(d);
    },
    teardown: () => {
      if (target) ensureUnmounted();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
    ours: {
      name: 'mountOverlay + Mount.unmount (lowerdir+)',
      run: async () => {
        for (let i = 0; i < MOUNTS; i++) {
          const m = await mountOverlay({ lower, upper, work, target });
          await m.unmount();
        }
      },
      after: ensureUnmounted,
    },
    peers,
  };
}

/** Layer L holds 1000 files of its own in 20 directories, 50 names every layer has (shadowed), and whites out 20 names of the layer below. */
function layerTar(l: number): { tar: Buffer; files: string[] } {
  const parts: Uint8Array[] = [];
  const files: string[] = [];
  const add = (name: string, type: 'file' | 'directory', data = ''): void => {
    const b = Buffer.from(data);
    parts.push(encodeHeader({ name, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, size: b.length, mtime: 1_000_000_000 }));
    if (type === 'file') parts.push(b, padding(b.length));
  };
  for (let d = 0; d < 20; d++) {
    add(`d${d}`, 'directory');
    for (let k = 0; k < PATHS / LAYERS / 20; k++) {
      const p = `d${d}/f${l}-${k}`;
      add(p, 'file', p);
      files.push(`/${p}`);
    }
    for (let k = 0; k < 3; k++) add(`d${d}/common${k}`, 'file', `layer ${l}`);
    if (l < LAYERS - 1) add(`d${d}/.wh.f${l + 1}-0`, 'file');
  }
  parts.push(END_OF_ARCHIVE);
  return { tar: Buffer.concat(parts), files };
}

function viewBench(): Benchmark {
  let tmp = '';
  let dirs: string[] = [];
  let tars: string[] = [];
  let paths: string[] = [];
  let warm: UnionView | undefined;
  let mount: Mount | undefined;
  let merged = '';
  const statAll = async (v: UnionView): Promise<void> => {
    for (const p of paths) await v.stat(p);
  };
  return {
    group: 'union-fs',
    name: `UnionView stat of ${PATHS} paths over ${LAYERS} layers`,
    runs: 7,
    unavailable: unavailableMount, // the kernel's overlay of the same layers is the reference row
    setup: async () => {
      tmp = mkdtempSync(join(tmpdir(), 'stratum-bench-unionview-'));
      const all = new Set<string>();
      // Top first: layer 0 is the top.
      for (let l = 0; l < LAYERS; l++) {
        const { tar, files } = layerTar(l);
        writeFileSync(join(tmp, `l${l}.tar`), tar);
        tars.push(join(tmp, `l${l}.tar`));
        const dir = join(tmp, `l${l}`);
        await applyLayer(Readable.from([tar]), dir, { whiteouts: 'overlay' });
        dirs.push(dir);
        for (const f of files) all.add(f);
      }
      // Paths whited out by the layer above are asked for too (ENOENT is an answer); the rest are found.
      paths = [...all].slice(0, PATHS);
      warm = await UnionView.open(dirs);
      await statAll(warm).catch(() => undefined);
      for (const d of ['upper', 'work', 'merged']) mkdirSync(join(tmp, d));
      merged = join(tmp, 'merged');
      mount = await mountOverlay({ lower: dirs, upper: join(tmp, 'upper'), work: join(tmp, 'work'), target: merged, readonly: true });
    },
    teardown: async () => {
      await warm?.close();
      await mount?.unmount();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      dirs = [];
      tars = [];
    },
    ours: {
      name: 'UnionView of the layer dirs, opened fresh',
      run: async () => {
        await using v = await UnionView.open(dirs);
        for (const p of paths) await v.stat(p).catch(() => undefined);
      },
    },
    peers: [
      {
        name: 'UnionView of the layer dirs, warm (listings cached)',
        run: async () => {
          for (const p of paths) await warm!.stat(p).catch(() => undefined);
        },
      },
      {
        name: 'UnionView of the layer tars, opened fresh (indexing included)',
        run: async () => {
          await using v = await UnionView.open(tars);
          for (const p of paths) await v.stat(p).catch(() => undefined);
        },
      },
      {
        name: 'kernel overlay mount, fs.statSync (dentry cache warm)',
        run: () => {
          for (const p of paths) {
            try {
              statSync(merged + p);
            } catch {
              // whited out
            }
          }
        },
      },
    ],
  };
}

export default async function benchmarks(): Promise<Benchmark[]> {
  return [mountBench(1), mountBench(64), viewBench()];
}
