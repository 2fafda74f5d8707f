/**
 * The whole manager (create, update, stats, events, open) against fixture directories laid out
 * as a v2-only host's and a pure v1 host's: the v2 limit files this machine's unified tree lacks
 * (memory.max, cpu.max, cpu.weight, pids.max, io.max, cpuset.cpus …) are exercised here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cgroup, CgroupUnsupportedError, applyLimits, ioWeightToBlkio, weightToShares } from '@stratum/cgroup';
import { v1Host, v2Host, type FixtureHost } from './fixtures.js';

const MiB = 1024 * 1024;
let fixtures: FixtureHost[] = [];
afterEach(() => {
  for (const f of fixtures) f.cleanup();
  fixtures = [];
});
const keep = <T extends FixtureHost>(f: T): T => (fixtures.push(f), f);

describe('a v2-only host (fixture)', () => {
  it('create enables the controllers top-down in subtree_control and writes every limit file', async () => {
    const f = keep(v2Host(['stratum', 'stratum/t1']));
    const cg = await Cgroup.create(
      'stratum/t1',
      {
        memory: { max: 64 * MiB, high: 48 * MiB, low: 8 * MiB, swap: 0 },
        cpu: { max: { quota: 50_000, period: 100_000 }, weight: 250 },
        cpuset: { cpus: '0-1', mems: '0' },
        pids: { max: 32 },
        io: { weight: 300, max: [{ device: '8:0', rbps: 1_048_576, wiops: 100 }] },
        hugetlb: { '2MB': 4 * MiB },
      },
      { root: f.root },
    );
    expect(cg.hierarchy.mode).toBe('v2');
    expect(cg.dirs).toHaveLength(1);
    const t1 = 'sys/fs/cgroup/stratum/t1';
    const all = '+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc';
    expect(f.read('sys/fs/cgroup/cgroup.subtree_control')).toBe(all);
    expect(f.read('sys/fs/cgroup/stratum/cgroup.subtree_control')).toBe(all);
    expect(f.read(`${t1}/cgroup.subtree_control`)).toBe('\n'); // the leaf enables nothing
    expect(
      Object.fromEntries(
        ['memory.max', 'memory.high', 'memory.low', 'memory.swap.max', 'cpu.max', 'cpu.weight', 'cpuset.cpus', 'cpuset.mems', 'pids.max', 'io.weight', 'io.max', 'hugetlb.2MB.max'].map((x) => [
          x,
          f.read(`${t1}/${x}`),
        ]),
      ),
    ).toEqual({
      'memory.max': String(64 * MiB),
      'memory.high': String(48 * MiB),
      'memory.low': String(8 * MiB),
      'memory.swap.max': '0',
      'cpu.max': '50000 100000',
      'cpu.weight': '250',
      'cpuset.cpus': '0-1',
      'cpuset.mems': '0',
      'pids.max': '32',
      'io.weight': 'default 300',
      'io.max': '8:0 rbps=1048576 wiops=100',
      'hugetlb.2MB.max': String(4 * MiB),
    });
    expect(cg.dir('memory')).toBe(`${f.root}/${t1}`);
    expect(cg.dir('blkio')).toBe(`${f.root}/${t1}`);
  });

  it('enables only what is asked, skipping ancestors that have it', async () => {
    const f = keep(v2Host(['a', 'a/b']));
    f.write('sys/fs/cgroup/cgroup.subtree_control', 'memory pids\n');
    await Cgroup.create('a/b', { pids: { max: 5 } }, { root: f.root, controllers: ['memory'] });
    expect(f.read('sys/fs/cgroup/cgroup.subtree_control')).toBe('memory pids\n'); // untouched
    expect(f.read('sys/fs/cgroup/a/cgroup.subtree_control')).toBe('+memory +pids');
    expect(f.read('sys/fs/cgroup/a/b/pids.max')).toBe('5');
  });

  it('says "not offered / not delegated" when an ancestor lacks a controller', async () => {
    const f = keep(v2Host(['d', 'd/e'], { offered: { d: 'memory pids' } }));
    const err = await Cgroup.create('d/e', { cpu: { weight: 5 } }, { root: f.root }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CgroupUnsupportedError);
    expect(err).toMatchObject({ controller: 'cpu', hierarchy: 'v2' });
    expect((err as Error).message).toMatch(/delegated/);
    // Without a need for cpu, the default set shrinks to what the subtree offers.
    f.write('sys/fs/cgroup/cgroup.subtree_control', 'cpuset cpu io memory hugetlb pids rdma misc\n');
    const cg = await Cgroup.create('d/e', { pids: { max: 4 } }, { root: f.root });
    expect(cg.dirs[0]!.controllers).toEqual(['memory', 'pids']);
    expect(f.read('sys/fs/cgroup/d/cgroup.subtree_control')).toBe('+memory +pids');
  });

  it('update writes nothing when one file is missing (swap accounting off)', async () => {
    const f = keep(v2Host(['s', 's/t'], { noSwap: true }));
    const cg = await Cgroup.create('s/t', { memory: { max: 64 * MiB } }, { root: f.root });
    const err = await cg.update({ memory: { max: 32 * MiB, swap: MiB }, pids: { max: 3 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CgroupUnsupportedError);
    expect(err).toMatchObject({ controller: 'memory', hierarchy: 'v2', limit: 'memory.swap.max' });
    expect(f.read('sys/fs/cgroup/s/t/memory.max')).toBe(String(64 * MiB));
    expect(f.read('sys/fs/cgroup/s/t/pids.max')).toBe('max\n');
    await cg.update({ memory: { max: 32 * MiB }, cpu: { shares: 2048 } });
    expect(f.read('sys/fs/cgroup/s/t/memory.max')).toBe(String(32 * MiB));
    expect(f.read('sys/fs/cgroup/s/t/cpu.weight')).toBe('79');
  });

  it('falls back to io.bfq.weight (1–1000 scale) where io.weight is absent', async () => {
    const f = keep(v2Host(['q'], { bfqOnly: true }));
    await Cgroup.create('q', { io: { weight: 5000 } }, { root: f.root });
    expect(f.read('sys/fs/cgroup/q/io.bfq.weight')).toBe(`default ${ioWeightToBlkio(5000)}`);
  });

  it('stats and events map the v2 files', async () => {
    const f = keep(v2Host(['m']));
    f.write('sys/fs/cgroup/m/cgroup.events', 'populated 1\nfrozen 1\n');
    const cg = await Cgroup.open('m', { root: f.root });
    expect(cg.dirs[0]!.controllers).toEqual(['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc']);
    expect(await cg.events()).toEqual({ populated: true, frozen: true });
    expect(await cg.stats()).toEqual({
      memory: { current: MiB, peak: 2 * MiB, limit: 'max', maxEvents: 7, oomEvents: 2, oomKills: 1 },
      cpu: { usageUsec: 1500, userUsec: 1000, systemUsec: 500, periods: 4, throttledPeriods: 2, throttledUsec: 300 },
      pids: { current: 3, limit: 'max', peak: 5, maxEvents: 4 },
      io: { '8:0': { rbytes: 4096, wbytes: 8192, rios: 1, wios: 2 } },
      hugetlb: { '2MB': { current: 0, limit: 'max', maxEvents: 0 }, '1GB': { current: 0, limit: 'max', maxEvents: 0 } },
    });
  });

  it('applyLimits works on one directory on its own', () => {
    const f = keep(v2Host(['solo']));
    const writes = applyLimits({ pids: { max: 9 }, cpu: { max: 'max' } }, `${f.root}/sys/fs/cgroup/solo`, { version: 'v2' });
    expect(writes.map((w) => w.file)).toEqual(['cpu.max', 'pids.max']);
    expect(f.read('sys/fs/cgroup/solo/pids.max')).toBe('9');
    expect(f.read('sys/fs/cgroup/solo/cpu.max')).toBe('max');
  });
});

describe('a pure v1 host (fixture)', () => {
  it('create writes each controller in its own hierarchy (cpu and cpuacct co-mounted)', async () => {
    const f = keep(v1Host(['stratum', 'stratum/t1']));
    const cg = await Cgroup.create(
      'stratum/t1',
      {
        memory: { max: 64 * MiB, swap: 16 * MiB, low: 8 * MiB },
        cpu: { max: { quota: 20_000, period: 50_000 }, weight: 100 },
        pids: { max: 7 },
        io: { weight: 10000, max: [{ device: '8:0', wbps: 4096 }] },
        hugetlb: { '2MB': 'max' },
      },
      { root: f.root },
    );
    expect(cg.hierarchy.mode).toBe('v1');
    expect(cg.dirs.some((d) => d.version === 'v2')).toBe(false);
    const v = (m: string, file: string): string => f.read(`sys/fs/cgroup/${m}/stratum/t1/${file}`);
    expect(v('memory', 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(v('memory', 'memory.memsw.limit_in_bytes')).toBe(String(80 * MiB));
    expect(v('memory', 'memory.soft_limit_in_bytes')).toBe(String(8 * MiB));
    expect(v('cpu,cpuacct', 'cpu.cfs_period_us')).toBe('50000');
    expect(v('cpu,cpuacct', 'cpu.cfs_quota_us')).toBe('20000');
    expect(v('cpu,cpuacct', 'cpu.shares')).toBe(String(weightToShares(100)));
    expect(v('pids', 'pids.max')).toBe('7');
    expect(v('blkio', 'blkio.weight')).toBe('1000');
    expect(v('blkio', 'blkio.throttle.write_bps_device')).toBe('8:0 4096');
    expect(v('hugetlb', 'hugetlb.2MB.limit_in_bytes')).toBe('-1');
    // One directory per mount: cpu and cpuacct share theirs.
    expect(cg.dirs.filter((d) => d.path.includes('cpu,cpuacct'))).toHaveLength(1);
  });

  it('refuses memory.high before creating anything, and swap without accounting', async () => {
    const f = keep(v1Host([], { noMemsw: true }));
    await expect(Cgroup.create('fresh', { memory: { high: MiB } }, { root: f.root })).rejects.toMatchObject({
      code: 'CGROUP_UNSUPPORTED',
      controller: 'memory',
      hierarchy: 'v1',
      limit: 'memory.high',
    });
    await expect(Cgroup.open('fresh', { root: f.root })).rejects.toMatchObject({ code: 'CGROUP_NOT_FOUND' });
    // mkdir in a fixture makes an empty directory (no interface files), so the create fails and
    // is rolled back: what remains is exactly nothing.
    await expect(Cgroup.create('fresh', { memory: { max: MiB, swap: 0 } }, { root: f.root, controllers: ['memory'] })).rejects.toBeInstanceOf(
      CgroupUnsupportedError,
    );
    await expect(Cgroup.open('fresh', { root: f.root })).rejects.toMatchObject({ code: 'CGROUP_NOT_FOUND' });
  });

  it('stats map the v1 files (cpuacct ticks, oom_control, failcnt)', async () => {
    const f = keep(v1Host(['s']));
    const cg = await Cgroup.open('s', { root: f.root });
    const s = await cg.stats();
    expect(s.memory).toEqual({ current: 4096, peak: 8192, limit: 'max', maxEvents: 3, oomKills: 2 });
    expect(s.cpu).toEqual({ usageUsec: 3000, userUsec: 1_000_000, systemUsec: 500_000, periods: 10, throttledPeriods: 3, throttledUsec: 5000 });
    expect(s.pids).toEqual({ current: 0, limit: 'max', maxEvents: 0 });
    expect(s.io).toEqual({ '8:0': { rbytes: 100, wbytes: 200, rios: 1, wios: 2 } });
    expect(s.hugetlb).toEqual({ '2MB': { current: 0, limit: 'max', maxEvents: 0 } });
    expect(await cg.events()).toEqual({ populated: false, frozen: false });
  });
});
