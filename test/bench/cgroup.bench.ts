/**
 * @stratum/cgroup: create a cgroup + set its memory limit + delete it, 1000 times per run, against
 * the same syscalls (mkdir, open/write/close, rmdir) from a small C program (the floor). On this
 * hybrid host the memory controller is a v1 hierarchy; on a v2 host the unified one is used.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cgroup, detectHierarchy, type Hierarchy } from '@stratum/cgroup';
import { runCommand, type Benchmark } from './harness.js';

const OPS = 1000;
const LIMIT = 64 * 1024 * 1024;
const PARENT = 'stratum-bench-cgroup';

export default async function benchmarks(): Promise<Benchmark[]> {
  let h: Hierarchy | undefined;
  let tmp = '';
  let floor = '';
  let parent: Cgroup | undefined;
  let run = 0;

  const memoryDir = (): { dir: string; file: string; v1: boolean } => {
    const mp = h!.v1.memory;
    if (mp) return { dir: join(mp, PARENT), file: 'memory.limit_in_bytes', v1: true };
    return { dir: join(h!.v2!.mountpoint, PARENT), file: 'memory.max', v1: false };
  };

  return [
    {
      group: 'cgroup',
      name: `create + memory limit + delete, ${OPS} cgroups per run`,
      runs: 5,
      target: 'ours ≤ 1.5× the C floor',
      unavailable: () => {
        if (process.getuid?.() !== 0) return 'needs root';
        try {
          h = detectHierarchy();
        } catch (e) {
          return (e as Error).message;
        }
        if (!h.v1.memory && !h.v2?.controllers.includes('memory')) return 'no memory controller on this host';
        if (spawnSync('cc', ['--version']).status !== 0) return 'cc is not installed (build-essential)';
        return undefined;
      },
      setup: async () => {
        tmp = mkdtempSync(join(tmpdir(), 'stratum-bench-cgroup-'));
        floor = join(tmp, 'cgroup_floor');
        const cc = spawnSync('cc', ['-O2', '-o', floor, join(import.meta.dirname, 'floors', 'cgroup_floor.c')], { encoding: 'utf8' });
        if (cc.status !== 0) throw new Error(`cc: ${cc.stderr}`);
        const mem = memoryDir();
        parent = await Cgroup.create(PARENT, {}, { controllers: ['memory'], ...(mem.v1 && h!.mode === 'hybrid' ? { unified: false } : {}) });
      },
      teardown: async () => {
        await parent?.delete().catch(() => undefined);
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      },
      ours: {
        name: 'stratum Cgroup.create + delete',
        run: async () => {
          const r = run++;
          const opts = { controllers: ['memory' as const], ...(memoryDir().v1 && h!.mode === 'hybrid' ? { unified: false } : {}) };
          for (let i = 0; i < OPS; i++) {
            const cg = await Cgroup.create(`${PARENT}/r${r}-${i}`, { memory: { max: LIMIT } }, opts);
            await cg.delete();
          }
        },
      },
      peers: [
        {
          name: 'C mkdir/open/write/close/rmdir (floor)',
          run: () => {
            const mem = memoryDir();
            return runCommand([floor, mem.dir, mem.file, String(LIMIT), String(OPS)]);
          },
        },
      ],
    },
  ];
}
