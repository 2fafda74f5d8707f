/** The controllers as pure functions: limits → interface-file writes, on v1 and v2. No kernel needed. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CgroupUnsupportedError,
  blkioToIoWeight,
  controllersOf,
  cpuController,
  hugetlbController,
  ioController,
  ioWeightToBlkio,
  memoryController,
  planLimits,
  sharesToWeight,
  validateLimits,
  weightToShares,
  type CgroupWrite,
} from '@stratum/cgroup';

const MiB = 1024 * 1024;
const files = (ws: CgroupWrite[]): Array<[string, string]> => ws.map((w) => [w.file, w.value]);

describe('memory', () => {
  it('maps max/high/low/swap onto the v2 files', () => {
    const ws = memoryController.plan({ memory: { max: 64 * MiB, high: 48 * MiB, low: 16 * MiB, swap: 'max' } }, { version: 'v2' });
    expect(files(ws)).toEqual([
      ['memory.max', String(64 * MiB)],
      ['memory.high', String(48 * MiB)],
      ['memory.low', String(16 * MiB)],
      ['memory.swap.max', 'max'],
    ]);
  });

  it('maps max, swap (as memory+swap) and low (soft limit) onto the v1 files', () => {
    const ws = memoryController.plan({ memory: { max: 64 * MiB, swap: 32 * MiB, low: 8 * MiB } }, { version: 'v1' });
    expect(files(ws)).toEqual([
      ['memory.limit_in_bytes', String(64 * MiB)],
      ['memory.memsw.limit_in_bytes', String(96 * MiB)],
      ['memory.soft_limit_in_bytes', String(8 * MiB)],
    ]);
    expect(files(memoryController.plan({ memory: { max: 'max', swap: 0 } }, { version: 'v1' }))).toEqual([
      ['memory.limit_in_bytes', '-1'],
      ['memory.memsw.limit_in_bytes', '-1'],
    ]);
  });

  it('refuses memory.high on v1 with CgroupUnsupportedError naming controller and hierarchy', () => {
    let err: unknown;
    try {
      memoryController.plan({ memory: { high: MiB } }, { version: 'v1' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgroupUnsupportedError);
    expect(err).toMatchObject({ code: 'CGROUP_UNSUPPORTED', controller: 'memory', hierarchy: 'v1', limit: 'memory.high' });
  });

  it('needs max beside swap on v1 (v1 limits memory+swap together)', () => {
    expect(() => memoryController.plan({ memory: { swap: MiB } }, { version: 'v1' })).toThrow(TypeError);
    expect(files(memoryController.plan({ memory: { swap: MiB } }, { version: 'v2' }))).toEqual([['memory.swap.max', String(MiB)]]);
  });
});

describe('cpu', () => {
  it('writes cpu.max and cpu.weight on v2', () => {
    expect(files(cpuController.plan({ cpu: { max: { quota: 50_000, period: 100_000 }, weight: 200 } }, { version: 'v2' }))).toEqual([
      ['cpu.max', '50000 100000'],
      ['cpu.weight', '200'],
    ]);
    expect(files(cpuController.plan({ cpu: { max: 'max' } }, { version: 'v2' }))).toEqual([['cpu.max', 'max']]);
    expect(files(cpuController.plan({ cpu: { shares: 1024 } }, { version: 'v2' }))).toEqual([['cpu.weight', '39']]);
  });

  it('writes period before quota, and shares converted from weight, on v1', () => {
    expect(files(cpuController.plan({ cpu: { max: { quota: 50_000, period: 100_000 }, weight: 100 } }, { version: 'v1' }))).toEqual([
      ['cpu.cfs_period_us', '100000'],
      ['cpu.cfs_quota_us', '50000'],
      ['cpu.shares', '2598'],
    ]);
    expect(files(cpuController.plan({ cpu: { max: 'max', shares: 512 } }, { version: 'v1' }))).toEqual([
      ['cpu.cfs_quota_us', '-1'],
      ['cpu.shares', '512'],
    ]);
  });

  it('converts shares to weight as runc does, and weight back exactly', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(weightToShares(1)).toBe(2);
    expect(weightToShares(10000)).toBe(262144);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10000 }), (w) => {
        const s = weightToShares(w);
        expect(s).toBeGreaterThanOrEqual(2);
        expect(s).toBeLessThanOrEqual(262144);
        expect(sharesToWeight(s)).toBe(w);
        if (s > 2) expect(sharesToWeight(s - 1)).toBeLessThan(w);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 262143 }), (s) => {
        expect(sharesToWeight(s + 1)).toBeGreaterThanOrEqual(sharesToWeight(s));
      }),
    );
  });
});

describe('io', () => {
  it('writes io.weight and io.max lines on v2, io.bfq.weight where only BFQ is there', () => {
    const limits = { io: { weight: 500, max: [{ device: '8:0', rbps: 1_048_576, wiops: 'max' as const }] } };
    expect(files(ioController.plan(limits, { version: 'v2' }))).toEqual([
      ['io.weight', 'default 500'],
      ['io.max', '8:0 rbps=1048576 wiops=max'],
    ]);
    expect(files(ioController.plan(limits, { version: 'v2', has: (f) => f === 'io.bfq.weight' }))[0]).toEqual(['io.bfq.weight', `default ${ioWeightToBlkio(500)}`]);
  });

  it('writes blkio weight (converted) and one throttle file per knob on v1', () => {
    const limits = { io: { weight: 100, max: [{ device: '253:1', rbps: 1000, wbps: 'max' as const, riops: 10 }] } };
    expect(files(ioController.plan(limits, { version: 'v1', has: (f) => f === 'blkio.bfq.weight' }))).toEqual([
      ['blkio.bfq.weight', String(ioWeightToBlkio(100))],
      ['blkio.throttle.read_bps_device', '253:1 1000'],
      ['blkio.throttle.write_bps_device', '253:1 0'],
      ['blkio.throttle.read_iops_device', '253:1 10'],
    ]);
    expect(files(ioController.plan({ io: { weight: 10000 } }, { version: 'v1' }))).toEqual([['blkio.weight', '1000']]);
  });

  it('converts blkio weights both ways as runc does', () => {
    expect(blkioToIoWeight(10)).toBe(1);
    expect(blkioToIoWeight(1000)).toBe(10000);
    expect(blkioToIoWeight(500)).toBe(1 + Math.floor((490 * 9999) / 990));
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 1000 }), (b) => {
        expect(ioWeightToBlkio(blkioToIoWeight(b))).toBe(b);
      }),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 10000 }), (w) => {
      const b = ioWeightToBlkio(w);
      expect(b).toBeGreaterThanOrEqual(10);
      expect(b).toBeLessThanOrEqual(1000);
    }));
  });
});

describe('hugetlb, pids, cpuset', () => {
  it('names the per-size files of each hierarchy', () => {
    expect(files(hugetlbController.plan({ hugetlb: { '2MB': 4 * MiB, '1GB': 'max' } }, { version: 'v2' }))).toEqual([
      ['hugetlb.2MB.max', String(4 * MiB)],
      ['hugetlb.1GB.max', 'max'],
    ]);
    expect(files(hugetlbController.plan({ hugetlb: { '2MB': 'max' } }, { version: 'v1' }))).toEqual([['hugetlb.2MB.limit_in_bytes', '-1']]);
  });

  it('plans every section in controller order, only those asked', () => {
    const limits = { pids: { max: 10 }, cpuset: { cpus: '0-1', mems: '0' }, memory: { max: MiB } };
    expect(controllersOf(limits)).toEqual(['memory', 'cpuset', 'pids']);
    expect(files(planLimits(limits, { version: 'v2' }))).toEqual([
      ['memory.max', String(MiB)],
      ['cpuset.mems', '0'],
      ['cpuset.cpus', '0-1'],
      ['pids.max', '10'],
    ]);
    expect(files(planLimits(limits, { version: 'v1', only: ['pids'] }))).toEqual([['pids.max', '10']]);
  });
});

describe('validateLimits', () => {
  it.each([
    [{ memory: { max: -5 } }, /limits\.memory\.max/],
    [{ memory: { max: 1.5 } }, /limits\.memory\.max/],
    [{ memory: { maximum: 5 } }, /limits\.memory\.maximum is not a known limit/],
    [{ cpu: { weight: 0 } }, /limits\.cpu\.weight/],
    [{ cpu: { weight: 10, shares: 100 } }, /weight or shares/],
    [{ cpu: { max: { period: 100000 } } }, /quota is required/],
    [{ cpu: { max: { quota: 10 } } }, /limits\.cpu\.max\.quota/],
    [{ cpuset: { cpus: 'all' } }, /limits\.cpuset\.cpus/],
    [{ pids: { max: 'unlimited' } }, /limits\.pids\.max/],
    [{ io: { max: [{ device: 'sda', rbps: 1 }] } }, /MAJOR:MINOR/],
    [{ hugetlb: { '2M': 1 } }, /page size/],
    [{ network: {} }, /limits\.network is not a known limit/],
    [null, /limits must be an object/],
  ])('rejects %j', (limits, msg) => {
    expect(() => validateLimits(limits)).toThrow(TypeError);
    expect(() => validateLimits(limits)).toThrow(msg);
  });

  it('accepts a full set', () => {
    expect(() =>
      validateLimits({
        memory: { max: 'max', high: 1, low: 0, swap: 0 },
        cpu: { max: { quota: 'max', period: 100000 }, weight: 1 },
        cpuset: { cpus: '0-3,5', mems: '0' },
        pids: { max: 'max' },
        io: { weight: 10000, max: [{ device: '8:16', rbps: 'max', wbps: 1, riops: 2, wiops: 3 }] },
        hugetlb: { '2MB': 'max', '1GB': 0 },
      }),
    ).not.toThrow();
  });
});
