/**
 * UnionView agrees with the kernel: random layer stacks (files, directories, symlinks, hard links,
 * whiteouts, opaque directories, type changes across layers, owners and modes) are unpacked with
 * applyLayer in overlay form and mounted with mountOverlay; the mount, a UnionView of the
 * directories and a UnionView of the tars must show the same tree, entry by entry (type, mode,
 * owner, content, link target, device numbers, mtimes including directories), and resolve the
 * same paths through symlinks — the kernel with openat2 RESOLVE_IN_ROOT on the mount — to the
 * same result or the same error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, prng, useLeakCheck } from '@stratum/testing';
import { O, S, fstat, resolveInRoot, type ErrnoError } from '@stratum/native';
import { UnionPathError, UnionView, mountOverlay } from '../src/index.js';
import { layerDir, rawTar, snapshot, tempDir, viewSnapshot, type Member } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const RUNS = Number(process.env.STRATUM_PROP_RUNS ?? 40);
const NAMES = ['a', 'b', 'c', 'd'];

/** A random layer as tar members: every parent listed, one choice per name, hard links last. */
function randomLayer(rand: () => number, depthMax: number, allPaths: string[]): Member[] {
  const out: Member[] = [];
  const files: string[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const owner = (): { uid: number; gid: number } => (rand() < 0.2 ? { uid: 1000, gid: 1000 } : { uid: 0, gid: 0 });
  const mtime = (): number => 1_000_000_000 + Math.floor(rand() * 1000);
  const walk = (dir: string, depth: number): void => {
    for (const name of NAMES) {
      const p = dir ? `${dir}/${name}` : name;
      const r = rand();
      if (r < 0.35) continue;
      if (r < 0.55) {
        out.push({ name: p, type: 'file', data: `${p}@${Math.floor(rand() * 5)}`.repeat(1 + Math.floor(rand() * 3)), mode: pick([0o644, 0o600, 0o755, 0o4755]), mtime: mtime(), ...owner() });
        files.push(p);
      } else if (r < 0.77 && depth < depthMax) {
        out.push({ name: p, type: 'directory', mode: pick([0o755, 0o700, 0o750, 0o1777]), mtime: mtime(), ...owner() });
        if (rand() < 0.25) out.push({ name: `${p}/.wh..wh..opq`, type: 'file' });
        walk(p, depth + 1);
      } else if (r < 0.87) {
        const target = pick(allPaths);
        const form = rand();
        const linkname = form < 0.4 ? target : form < 0.8 ? `${'../'.repeat(p.split('/').length - 1)}${target}` : `../../${target}`;
        out.push({ name: p, type: 'symlink', linkname: rand() < 0.1 ? `${linkname}/missing` : linkname, mtime: mtime(), ...owner() });
      } else if (r < 0.9) {
        out.push({ name: p, type: 'fifo', mode: 0o640, mtime: mtime() });
      } else {
        out.push({ name: dir ? `${dir}/.wh.${name}` : `.wh.${name}`, type: 'file' });
      }
    }
  };
  walk('', 0);
  if (rand() < 0.1) out.push({ name: '.wh..wh..opq', type: 'file' }); // at the root: overlayfs ignores it
  for (const f of files) if (rand() < 0.15) out.push({ name: `${f}-hl`, type: 'link', linkname: f });
  return out;
}

function allPaths(depth: number): string[] {
  const out: string[] = [];
  const rec = (p: string, d: number): void => {
    for (const n of NAMES) {
      const q = p ? `${p}/${n}` : n;
      out.push(q);
      if (d < depth) rec(q, d + 1);
    }
  };
  rec('', 0);
  return out;
}

type Outcome = string;

async function viaView(v: UnionView, p: string): Promise<Outcome> {
  try {
    const st = await v.stat(p);
    return `${st.type} ${(st.mode & 0o7777).toString(8)} ${st.isFile() ? st.size : ''}`;
  } catch (e) {
    if (e instanceof UnionPathError) return e.code;
    throw e;
  }
}

// The kernel's own resolution of `p` with the mount as root (openat2 RESOLVE_IN_ROOT: `..` stops
// at the root, absolute links restart there), the semantics UnionView implements.
function viaKernel(mount: string, p: string): Outcome {
  try {
    using fd = resolveInRoot(mount, p, { flags: O.PATH });
    const st = fstat(fd);
    const type = (st.mode & S.IFMT) === S.IFREG ? 'file' : (st.mode & S.IFMT) === S.IFDIR ? 'directory' : (st.mode & S.IFMT) === S.IFIFO ? 'fifo' : 'other';
    return `${type} ${(st.mode & 0o7777).toString(8)} ${type === 'file' ? st.size : ''}`;
  } catch (e) {
    return (e as ErrnoError).code;
  }
}

describe('UnionView agrees with a real overlay mount', () => {
  it(`on ${RUNS} random layer stacks, file by file`, async (ctx) => {
    guard(ctx, 'root', 'overlay');
    using t = tempDir('agree');
    let n = 0;
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 5 }), async (seed, layers) => {
        const rand = prng(seed);
        const base = join(t.dir, `run${n++}`);
        mkdirSync(base);
        const paths = allPaths(2);
        const stack = Array.from({ length: layers }, () => rawTar(randomLayer(rand, 2, paths)));
        const dirs: string[] = [];
        const tars: string[] = [];
        for (const [i, tar] of stack.entries()) {
          dirs.push(await layerDir(tar, join(base, `l${i}`)));
          writeFileSync(join(base, `l${i}.tar`), tar);
          tars.push(join(base, `l${i}.tar`));
        }
        for (const d of ['upper', 'work', 'merged']) mkdirSync(join(base, d));
        const merged = join(base, 'merged');
        await using m = await mountOverlay({ lower: dirs, upper: join(base, 'upper'), work: join(base, 'work'), target: merged, readonly: true });
        await using vd = await UnionView.open(dirs);
        await using vt = await UnionView.open(tars);
        const kernel = snapshot(merged, { dirMtime: true });
        expect(await viewSnapshot(vd, { dirMtime: true })).toEqual(kernel);
        expect(await viewSnapshot(vt, { dirMtime: true })).toEqual(kernel);
        for (const p of [...paths, ...paths.map((q) => `${q}/a`), ...paths.map((q) => `${q}/../b`)]) {
          const k = viaKernel(merged, p);
          compared++;
          expect([p, await viaView(vd, p)]).toEqual([p, k]);
          expect([p, await viaView(vt, p)]).toEqual([p, k]);
        }
        await m.unmount();
      }),
      { numRuns: RUNS },
    );
    expect(compared).toBe(RUNS * allPaths(2).length * 3);
  });
});
