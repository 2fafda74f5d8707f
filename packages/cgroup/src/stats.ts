import { join } from 'node:path';
import { ErrnoError } from '@stratum/native';
import type { Bytes } from './limits.js';
import type { CgroupFs } from './fs.js';
import type { CgroupDir } from './placement.js';

/** Memory use and limit events. */
export interface MemoryStats {
  /** Bytes charged now. v2 memory.current; v1 memory.usage_in_bytes. */
  current: number;
  /** High-water mark. v2 memory.peak (kernel ≥ 5.19); v1 memory.max_usage_in_bytes. */
  peak?: number;
  /** The hard limit. v2 memory.max; v1 memory.limit_in_bytes. */
  limit: Bytes;
  /** Times usage hit the limit. v2 memory.events `max`; v1 memory.failcnt + memory.memsw.failcnt. */
  maxEvents: number;
  /** Times the cgroup went out of memory. v2 memory.events `oom`; v1 has no counter (undefined). */
  oomEvents?: number;
  /** Processes the OOM killer killed in it. v2 memory.events `oom_kill`; v1 memory.oom_control `oom_kill`. */
  oomKills: number;
}

/** CPU time and throttling. */
export interface CpuStats {
  /** Total CPU time, µs. v2 cpu.stat usage_usec; v1 cpuacct.usage / 1000. */
  usageUsec: number;
  userUsec: number;
  systemUsec: number;
  /** Bandwidth periods elapsed, periods throttled, and time throttled (µs); 0 without a cpu controller. */
  periods: number;
  throttledPeriods: number;
  throttledUsec: number;
}

/** Process counts. */
export interface PidsStats {
  current: number;
  limit: number | 'max';
  /** High-water mark (pids.peak, kernel ≥ 6.1). */
  peak?: number;
  /** Forks refused because of the limit (pids.events `max`). */
  maxEvents: number;
}

/** Block I/O of one device. */
export interface IoDeviceStats {
  rbytes: number;
  wbytes: number;
  rios: number;
  wios: number;
}

/** Huge page use of one page size. */
export interface HugetlbStats {
  current: number;
  limit: Bytes;
  /** Allocations refused by the limit. v2 hugetlb.SIZE.events `max`; v1 hugetlb.SIZE.failcnt. */
  maxEvents: number;
}

/** What `stats()` returns: one section per controller the cgroup has (cpu usage is there on every v2 cgroup). */
export interface CgroupStats {
  memory?: MemoryStats;
  cpu?: CpuStats;
  pids?: PidsStats;
  /** Per device `MAJ:MIN`. */
  io?: Record<string, IoDeviceStats>;
  /** Per page size (`2MB`). */
  hugetlb?: Record<string, HugetlbStats>;
}

const UNLIMITED = 2 ** 62;

/** parseLimit reads a limit file's value: `max`, `-1` or a huge page-counter sentinel → `'max'`. */
export function parseLimit(text: string): number | 'max' {
  const t = text.trim();
  if (t === 'max' || t === '-1') return 'max';
  const n = Number(t);
  return n >= UNLIMITED ? 'max' : n;
}

/** parseKeyed parses `key value` lines (cpu.stat, memory.events, memory.oom_control, pids.events). */
export function parseKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

function num(text: string): number {
  return Number(text.trim());
}

class Reader {
  constructor(
    private readonly fs: CgroupFs,
    private readonly dir: string,
  ) {}
  read(file: string): string | undefined {
    try {
      return this.fs.read(join(this.dir, file));
    } catch (err) {
      if (err instanceof ErrnoError && (err.code === 'ENOENT' || err.code === 'ENODEV' || err.code === 'EOPNOTSUPP')) return undefined;
      throw err;
    }
  }
  must(file: string): string {
    return this.fs.read(join(this.dir, file));
  }
}

/**
 * readStats reads the usage counters of a cgroup's directories. v1 and v2 fields are mapped onto
 * one shape (see each field); a section is present when the cgroup has that controller.
 */
export function readStats(dirs: readonly CgroupDir[], fs: CgroupFs): CgroupStats {
  const out: CgroupStats = {};
  const dirOf = (c: string, version?: 'v1' | 'v2'): CgroupDir | undefined =>
    dirs.find((d) => (version === undefined || d.version === version) && d.controllers.includes(c as never));
  const unified = dirs.find((d) => d.version === 'v2');

  const mem = dirOf('memory');
  if (mem) {
    const r = new Reader(fs, mem.path);
    if (mem.version === 'v2') {
      const ev = parseKeyed(r.must('memory.events'));
      const peak = r.read('memory.peak');
      out.memory = {
        current: num(r.must('memory.current')),
        ...(peak !== undefined ? { peak: num(peak) } : {}),
        limit: parseLimit(r.must('memory.max')),
        maxEvents: ev.max ?? 0,
        oomEvents: ev.oom ?? 0,
        oomKills: ev.oom_kill ?? 0,
      };
    } else {
      const oom = parseKeyed(r.read('memory.oom_control') ?? '');
      out.memory = {
        current: num(r.must('memory.usage_in_bytes')),
        peak: num(r.must('memory.max_usage_in_bytes')),
        limit: parseLimit(r.must('memory.limit_in_bytes')),
        // A charge fails on the memory+swap counter first when memsw is limited too: count both.
        maxEvents: num(r.read('memory.failcnt') ?? '0') + num(r.read('memory.memsw.failcnt') ?? '0'),
        oomKills: oom.oom_kill ?? 0,
      };
    }
  }

  const acct = dirOf('cpuacct', 'v1');
  const cpu1 = dirOf('cpu', 'v1');
  if (acct) {
    const r = new Reader(fs, acct.path);
    const usage = num(r.must('cpuacct.usage')) / 1000;
    const user = r.read('cpuacct.usage_user');
    const sys = r.read('cpuacct.usage_sys');
    let userUsec: number;
    let systemUsec: number;
    if (user !== undefined && sys !== undefined) {
      userUsec = num(user) / 1000;
      systemUsec = num(sys) / 1000;
    } else {
      // cpuacct.stat is in USER_HZ ticks, which Linux fixes at 100 per second for userspace.
      const st = parseKeyed(r.must('cpuacct.stat'));
      userUsec = (st.user ?? 0) * 10_000;
      systemUsec = (st.system ?? 0) * 10_000;
    }
    const th = cpu1 ? parseKeyed(new Reader(fs, cpu1.path).read('cpu.stat') ?? '') : {};
    out.cpu = {
      usageUsec: Math.round(usage),
      userUsec: Math.round(userUsec),
      systemUsec: Math.round(systemUsec),
      periods: th.nr_periods ?? 0,
      throttledPeriods: th.nr_throttled ?? 0,
      throttledUsec: Math.round((th.throttled_time ?? 0) / 1000),
    };
  } else if (unified) {
    const st = parseKeyed(new Reader(fs, unified.path).must('cpu.stat'));
    out.cpu = {
      usageUsec: st.usage_usec ?? 0,
      userUsec: st.user_usec ?? 0,
      systemUsec: st.system_usec ?? 0,
      periods: st.nr_periods ?? 0,
      throttledPeriods: st.nr_throttled ?? 0,
      throttledUsec: st.throttled_usec ?? 0,
    };
  }

  const pids = dirOf('pids');
  if (pids) {
    const r = new Reader(fs, pids.path);
    const peak = r.read('pids.peak');
    const limit = parseLimit(r.must('pids.max'));
    out.pids = {
      current: num(r.must('pids.current')),
      limit,
      ...(peak !== undefined ? { peak: num(peak) } : {}),
      maxEvents: parseKeyed(r.read('pids.events') ?? '').max ?? 0,
    };
  }

  const io = dirOf('io');
  if (io) {
    const r = new Reader(fs, io.path);
    const devs: Record<string, IoDeviceStats> = {};
    const dev = (d: string): IoDeviceStats => (devs[d] ??= { rbytes: 0, wbytes: 0, rios: 0, wios: 0 });
    if (io.version === 'v2') {
      for (const line of (r.read('io.stat') ?? '').split('\n')) {
        const [d, ...kv] = line.trim().split(/\s+/);
        if (!d || !kv.length) continue;
        const s = dev(d);
        for (const p of kv) {
          const [k, v] = p.split('=');
          if (k === 'rbytes' || k === 'wbytes' || k === 'rios' || k === 'wios') s[k] = Number(v);
        }
      }
    } else {
      const fill = (file: string, rk: 'rbytes' | 'rios', wk: 'wbytes' | 'wios'): void => {
        for (const line of (r.read(file) ?? '').split('\n')) {
          const [d, op, v] = line.trim().split(/\s+/);
          if (!d || !/^\d+:\d+$/.test(d) || v === undefined) continue;
          if (op === 'Read') dev(d)[rk] = Number(v);
          else if (op === 'Write') dev(d)[wk] = Number(v);
        }
      };
      fill('blkio.throttle.io_service_bytes_recursive', 'rbytes', 'wbytes');
      fill('blkio.throttle.io_serviced_recursive', 'rios', 'wios');
    }
    out.io = devs;
  }

  const huge = dirOf('hugetlb');
  if (huge) {
    const r = new Reader(fs, huge.path);
    const sizes: Record<string, HugetlbStats> = {};
    for (const f of fs.files(huge.path)) {
      const m = /^hugetlb\.(\d+[KMG]B)\.(current|usage_in_bytes)$/.exec(f);
      if (!m) continue;
      const size = m[1]!;
      if (huge.version === 'v2') {
        sizes[size] = {
          current: num(r.must(`hugetlb.${size}.current`)),
          limit: parseLimit(r.must(`hugetlb.${size}.max`)),
          maxEvents: parseKeyed(r.read(`hugetlb.${size}.events`) ?? '').max ?? 0,
        };
      } else {
        sizes[size] = {
          current: num(r.must(`hugetlb.${size}.usage_in_bytes`)),
          limit: parseLimit(r.must(`hugetlb.${size}.limit_in_bytes`)),
          maxEvents: num(r.read(`hugetlb.${size}.failcnt`) ?? '0'),
        };
      }
    }
    out.hugetlb = sizes;
  }
  return out;
}
