/**
 * Limits enforced by the real kernel: the OOM killer, pids.max against a (bounded) fork bomb,
 * CPU bandwidth throttling, cpuset inheritance, update(), and the unified tree's hugetlb files.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Cgroup, CgroupUnsupportedError, detectHierarchy, weightToShares, type CgroupLimits } from '@stratum/cgroup';
import { alive, cleanupReaper, startWorkload, testCgroupName, waitFor, type Workload } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });
afterAll(cleanupReaper);

const MiB = 1024 * 1024;
let workloads: Workload[] = [];
let parents: string[] = [];

const parent = async (): Promise<string> => {
  const name = testCgroupName();
  await Cgroup.create(name);
  parents.push(name);
  return name;
};
const work = async (script: string): Promise<Workload> => {
  const w = await startWorkload(script);
  workloads.push(w);
  return w;
};
const file = (cg: Cgroup, controller: Parameters<Cgroup['dir']>[0], name: string): string => readFileSync(join(cg.dir(controller)!, name), 'utf8').trim();

afterEach(async () => {
  for (const name of parents) {
    const cg = await Cgroup.open(name).catch(() => undefined);
    await cg?.[Symbol.asyncDispose]();
  }
  for (const w of workloads) await w.stop();
  workloads = [];
  parents = [];
});

describe('limits on the real kernel', () => {
  it('a process over its memory limit is OOM-killed and stats() shows the kill', async (ctx) => {
    guard(ctx, 'root', 'tool:cc');
    const top = await parent();
    const limits: CgroupLimits = { memory: { max: 32 * MiB, swap: 0 } };
    // No swap beyond the limit where the host accounts swap; where it does not, there is no swap to fall back on either.
    const cg = await Cgroup.create(`${top}/oom`, limits).catch((e: unknown) => {
      if (e instanceof CgroupUnsupportedError) return Cgroup.create(`${top}/oom`, { memory: { max: 32 * MiB } });
      throw e;
    });
    expect(file(cg, 'memory', cg.dirs.find((d) => d.controllers.includes('memory'))!.version === 'v1' ? 'memory.limit_in_bytes' : 'memory.max')).toBe(String(32 * MiB));
    // dd's 128 MiB buffer is filled from /dev/zero: every page is touched and charged.
    const w = await work('exec dd if=/dev/zero of=/dev/null bs=128M count=1');
    await cg.add(w.pid);
    w.go();
    expect(await w.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const s = await cg.stats();
    expect(s.memory!.oomKills).toBeGreaterThanOrEqual(1);
    // (maxEvents is not asserted: v1 failcnt stays 0 on kernels that stopped tracking it.)
    expect(s.memory!.limit).toBe(32 * MiB);
    expect(s.memory!.peak).toBeLessThanOrEqual(32 * MiB);
    expect(s.memory!.peak).toBeGreaterThan(16 * MiB);
  });

  it('a bounded fork bomb stops at pids.max, and kill() takes everything down', async (ctx) => {
    guard(ctx, 'root', 'tool:cc');
    const top = await parent();
    const cg = await Cgroup.create(`${top}/bomb`, { pids: { max: 8 } });
    // 40 forks at most (bounded even without the limit); forks past pids.max fail with EAGAIN.
    const w = await work('exec 2>/dev/null; i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i+1)); done; wait');
    await cg.add(w.pid);
    w.go();
    await waitFor(async () => (await cg.stats()).pids!.maxEvents > 0, 10_000, 'a fork to be refused');
    const s = await cg.stats();
    expect(s.pids!.limit).toBe(8);
    expect(s.pids!.current).toBeLessThanOrEqual(8);
    if (s.pids!.peak !== undefined) expect(s.pids!.peak).toBeLessThanOrEqual(8);
    const seen = await cg.procs();
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.length).toBeLessThanOrEqual(8);
    await cg.kill();
    expect(await cg.procs()).toEqual([]);
    await w.exited;
    await waitFor(() => seen.every((p) => !alive(p)), 3000, 'every process of the bomb to be gone');
  });

  it('cpu.max throttles a busy loop', async (ctx) => {
    guard(ctx, 'root', 'tool:cc');
    const top = await parent();
    const cg = await Cgroup.create(`${top}/cpu`, { cpu: { max: { quota: 5_000, period: 50_000 } } });
    const w = await work('while :; do :; done');
    await cg.add(w.pid);
    w.go();
    await waitFor(async () => (await cg.stats()).cpu!.throttledPeriods >= 3, 10_000, 'throttling');
    const s = await cg.stats();
    expect(s.cpu!.usageUsec).toBeGreaterThan(0);
    expect(s.cpu!.throttledUsec).toBeGreaterThan(0);
    // 10% of one CPU: usage can't run far ahead of the periods elapsed × quota.
    expect(s.cpu!.usageUsec).toBeLessThanOrEqual((s.cpu!.periods + 2) * 5_000 * 1.5);
    await cg.kill();
  });

  it('a new v1 cpuset gets cpus/mems from its parent, so a process can join', async (ctx) => {
    guard(ctx, 'root', 'cgroup-v1', 'tool:cc');
    if (detectHierarchy().v1.cpuset === undefined) return ctx.skip('cpuset is not a v1 controller here');
    const top = await parent();
    const cg = await Cgroup.create(`${top}/a/b`, {}, { controllers: ['cpuset'], unified: false });
    const dir = cg.dir('cpuset')!;
    const root = detectHierarchy().v1.cpuset!;
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      expect(readFileSync(join(dir, f), 'utf8').trim(), f).toBe(readFileSync(join(root, f), 'utf8').trim());
      expect(readFileSync(join(dirname(dir), f), 'utf8').trim(), f).not.toBe('');
    }
    const w = await work('exec sleep 30');
    await cg.add(w.pid);
    expect(await cg.procs()).toEqual([w.pid]);
    await cg.update({ cpuset: { cpus: '0' } });
    expect(file(cg, 'cpuset', 'cpuset.cpus')).toBe('0');
    expect(readFileSync(`/proc/${w.pid}/status`, 'utf8')).toMatch(/Cpus_allowed_list:\s+0\n/);
    w.go();
  });

  it('update changes limits in place; what the host cannot do changes nothing', async (ctx) => {
    guard(ctx, 'root', 'cgroup-v1');
    const h = detectHierarchy();
    if (!h.v1.memory || !h.v1.cpu || !h.v1.pids) return ctx.skip('memory, cpu and pids are not all v1 here');
    const top = await parent();
    const cg = await Cgroup.create(`${top}/u`, { memory: { max: 64 * MiB }, cpu: { weight: 100 }, pids: { max: 10 } });
    expect(file(cg, 'cpu', 'cpu.shares')).toBe(String(weightToShares(100)));
    await cg.update({ memory: { max: 32 * MiB }, cpu: { max: { quota: 20_000, period: 100_000 }, weight: 500 }, pids: { max: 5 } });
    expect(file(cg, 'memory', 'memory.limit_in_bytes')).toBe(String(32 * MiB));
    expect(file(cg, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
    expect(file(cg, 'cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(file(cg, 'cpu', 'cpu.shares')).toBe(String(weightToShares(500)));
    expect((await cg.stats()).pids!.limit).toBe(5);
    // Raising the limit above a memsw limit needs memsw first: apply reorders on EINVAL.
    await cg.update({ memory: { max: 48 * MiB, swap: 0 } });
    await cg.update({ memory: { max: 96 * MiB, swap: 0 } });
    expect(file(cg, 'memory', 'memory.limit_in_bytes')).toBe(String(96 * MiB));
    expect(file(cg, 'memory', 'memory.memsw.limit_in_bytes')).toBe(String(96 * MiB));
    await cg.update({ cpu: { max: 'max' }, pids: { max: 'max' } });
    expect(file(cg, 'cpu', 'cpu.cfs_quota_us')).toBe('-1');
    expect((await cg.stats()).pids!.limit).toBe('max');

    const err = await cg.update({ pids: { max: 3 }, memory: { high: 16 * MiB } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CgroupUnsupportedError);
    expect(err).toMatchObject({ controller: 'memory', hierarchy: 'v1', limit: 'memory.high' });
    expect((await cg.stats()).pids!.limit).toBe('max');

    const onlyMem = await Cgroup.create(`${top}/m`, {}, { controllers: ['memory'], unified: false });
    await expect(onlyMem.update({ pids: { max: 1 } })).rejects.toMatchObject({ code: 'CGROUP_UNSUPPORTED', controller: 'pids', hierarchy: 'v1' });
  });

  it('the unified tree: hugetlb limits, stats and the v2 core files', async (ctx) => {
    guard(ctx, 'root', 'cgroup-v2');
    const h = detectHierarchy();
    if (!h.v2?.controllers.includes('hugetlb')) return ctx.skip('hugetlb is not on the unified hierarchy here');
    const top = await parent();
    const cg = await Cgroup.create(`${top}/huge`, { hugetlb: { '2MB': 8 * MiB } }, { controllers: ['hugetlb'] });
    expect(cg.dirs.map((d) => d.version)).toEqual(['v2']);
    const dir = cg.dir('hugetlb')!;
    expect(dir).toBe(join(h.v2.mountpoint, top, 'huge'));
    expect(readFileSync(join(h.v2.mountpoint, top, 'cgroup.subtree_control'), 'utf8')).toMatch(/\bhugetlb\b/);
    expect(readFileSync(join(dir, 'hugetlb.2MB.max'), 'utf8').trim()).toBe(String(8 * MiB));
    let s = await cg.stats();
    expect(s.hugetlb!['2MB']).toEqual({ current: 0, limit: 8 * MiB, maxEvents: 0 });
    expect(s.cpu).toBeDefined(); // cpu.stat is a core file of every v2 cgroup
    await cg.update({ hugetlb: { '2MB': 'max' } });
    s = await cg.stats();
    expect(s.hugetlb!['2MB']!.limit).toBe('max');
    await expect(cg.update({ hugetlb: { '3MB': MiB } })).rejects.toMatchObject({ code: 'CGROUP_UNSUPPORTED', controller: 'hugetlb', hierarchy: 'v2' });
    const w = await work('exec sleep 30');
    await cg.add(w.pid);
    expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim()).toBe(String(w.pid));
    expect(readFileSync(join(dir, 'cgroup.events'), 'utf8')).toMatch(/populated 1/);
    await cg.kill();
    expect(await w.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(readFileSync(join(dir, 'cgroup.events'), 'utf8')).toMatch(/populated 0/);
  });
});
