/**
 * The resource limits a cgroup can carry, in cgroup v2 units everywhere (bytes, microseconds,
 * weights 1–10000); the v1 controllers convert (see each controller's file and the README).
 */

/** A byte count, or `'max'` for no limit. */
export type Bytes = number | 'max';

/** Memory limits (`docker run --memory`, `--memory-reservation`, `--memory-swap`). */
export interface MemoryLimits {
  /** Hard limit: over it the cgroup reclaims, then OOM-kills. v2 `memory.max`; v1 `memory.limit_in_bytes`. */
  max?: Bytes;
  /** Throttling threshold. v2 `memory.high`; v1 has no equivalent → CgroupUnsupportedError. */
  high?: Bytes;
  /** Best-effort protection / reservation. v2 `memory.low`; v1 `memory.soft_limit_in_bytes` (as runc maps a reservation). */
  low?: Bytes;
  /**
   * Swap allowed on top of `max` (v2 semantics). v2 `memory.swap.max`; v1
   * `memory.memsw.limit_in_bytes` = max + swap, so on v1 `max` must be given in the same call,
   * and the host needs swap accounting (`memory.memsw.*` files).
   */
  swap?: Bytes;
}

/** CPU bandwidth and weight (`docker run --cpus`, `--cpu-quota/--cpu-period`, `--cpu-shares`). */
export interface CpuLimits {
  /** Bandwidth: `quota` µs of CPU time per `period` µs. v2 `cpu.max`; v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`. */
  max?: { quota: number | 'max'; period?: number } | 'max';
  /** Relative weight 1–10000 (default 100). v2 `cpu.weight`; v1 `cpu.shares` = {@link weightToShares}(weight). */
  weight?: number;
  /** v1-style shares 2–262144 instead of `weight`. v1 `cpu.shares`; v2 `cpu.weight` = {@link sharesToWeight}(shares), as runc converts. */
  shares?: number;
}

/** cpuset: which CPUs and memory nodes (`docker run --cpuset-cpus/--cpuset-mems`), in list syntax like `0-2,4`. */
export interface CpusetLimits {
  cpus?: string;
  mems?: string;
}

/** Process-count limit (`docker run --pids-limit`). */
export interface PidsLimits {
  /** v1 and v2 `pids.max`. */
  max?: number | 'max';
}

/** Bandwidth / IOPS throttles of one block device (`docker run --device-read-bps` …). `'max'`: no limit. */
export interface IoDeviceLimit {
  /** The device as `MAJOR:MINOR` (as in /proc/partitions, e.g. `8:0`). */
  device: string;
  rbps?: number | 'max';
  wbps?: number | 'max';
  riops?: number | 'max';
  wiops?: number | 'max';
}

/** Block I/O weight and throttles (`docker run --blkio-weight`, `--device-*-bps/iops`). */
export interface IoLimits {
  /**
   * Relative weight 1–10000 (default 100). v2 `io.weight` (or `io.bfq.weight` 1–1000 converted);
   * v1 `blkio.weight` (or `blkio.bfq.weight`) = {@link ioWeightToBlkio}(weight), 10–1000.
   */
  weight?: number;
  /** Per-device throttles. v2 `io.max`; v1 `blkio.throttle.{read,write}_{bps,iops}_device`. */
  max?: IoDeviceLimit[];
}

/**
 * Everything a cgroup can be limited by. Each section maps to one controller: `memory`, `cpu`,
 * `cpuset`, `pids`, `io` (`blkio` on v1), `hugetlb`.
 */
export interface CgroupLimits {
  memory?: MemoryLimits;
  cpu?: CpuLimits;
  cpuset?: CpusetLimits;
  pids?: PidsLimits;
  io?: IoLimits;
  /** Huge page limits in bytes, keyed by page size as the kernel names it (`2MB`, `1GB`). v2 `hugetlb.SIZE.max`; v1 `hugetlb.SIZE.limit_in_bytes`. */
  hugetlb?: Record<string, Bytes>;
}

/** A controller as this package names it (the v2 name: `io`, never `blkio`). */
export type ControllerName = 'memory' | 'cpu' | 'cpuacct' | 'cpuset' | 'pids' | 'io' | 'hugetlb' | 'freezer' | 'devices' | 'rdma' | 'misc' | 'net_cls' | 'net_prio' | 'perf_event';

/** Every controller name {@link ControllerName} allows. */
export const CONTROLLER_NAMES: readonly ControllerName[] = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'io', 'hugetlb', 'freezer', 'devices', 'rdma', 'misc', 'net_cls', 'net_prio', 'perf_event'];

/** The kernel's v1 name of a controller (`io` → `blkio`). */
export function v1Name(c: ControllerName): string {
  return c === 'io' ? 'blkio' : c;
}

/** Our name of a kernel controller name (`blkio` → `io`). */
export function ourName(kernel: string): ControllerName | undefined {
  const n = kernel === 'blkio' ? 'io' : kernel;
  return (CONTROLLER_NAMES as readonly string[]).includes(n) ? (n as ControllerName) : undefined;
}

const SECTIONS: Record<keyof CgroupLimits, ControllerName> = {
  memory: 'memory',
  cpu: 'cpu',
  cpuset: 'cpuset',
  pids: 'pids',
  io: 'io',
  hugetlb: 'hugetlb',
};

/** controllersOf lists the controllers a set of limits needs, in a stable order. */
export function controllersOf(limits: CgroupLimits): ControllerName[] {
  return (Object.keys(SECTIONS) as Array<keyof CgroupLimits>).filter((k) => limits[k] !== undefined).map((k) => SECTIONS[k]);
}

const MAX_BYTES = 2 ** 62; // the kernel's PAGE_COUNTER_MAX × page size is just below 2^63

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(where: string, v: unknown, allowed: string[]): Record<string, unknown> {
  if (!isPlainObject(v)) throw new TypeError(`${where} must be an object, got ${JSON.stringify(v)}`);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw new TypeError(`${where}.${k} is not a known limit (known: ${allowed.join(', ')})`);
  }
  return v;
}

function checkInt(where: string, v: unknown, min: number, max: number, allowMax: boolean): void {
  if (v === undefined) return;
  if (allowMax && v === 'max') return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new TypeError(`${where} must be an integer in [${min}, ${max}]${allowMax ? " or 'max'" : ''}, got ${JSON.stringify(v)}`);
  }
}

const DEVICE = /^\d{1,10}:\d{1,10}$/;
const CPU_LIST = /^\s*(\d+(-\d+)?)(,\d+(-\d+)?)*\s*$|^\s*$/;
const PAGE_SIZE_NAME = /^\d+[KMG]B$/;

/**
 * validateLimits checks a {@link CgroupLimits} object and throws a precise TypeError naming the
 * offending field (unknown keys included), before any file is touched.
 */
export function validateLimits(limits: unknown): asserts limits is CgroupLimits {
  const l = checkKeys('limits', limits, Object.keys(SECTIONS));
  if (l.memory !== undefined) {
    const m = checkKeys('limits.memory', l.memory, ['max', 'high', 'low', 'swap']);
    for (const k of ['max', 'high', 'low', 'swap']) checkInt(`limits.memory.${k}`, m[k], 0, MAX_BYTES, true);
  }
  if (l.cpu !== undefined) {
    const c = checkKeys('limits.cpu', l.cpu, ['max', 'weight', 'shares']);
    if (c.max !== undefined && c.max !== 'max') {
      const mx = checkKeys('limits.cpu.max', c.max, ['quota', 'period']);
      if (mx.quota === undefined) throw new TypeError("limits.cpu.max.quota is required (µs per period, or 'max')");
      checkInt('limits.cpu.max.quota', mx.quota, 1000, 2 ** 53 - 1, true);
      checkInt('limits.cpu.max.period', mx.period, 1000, 1_000_000, false);
    }
    checkInt('limits.cpu.weight', c.weight, 1, 10000, false);
    checkInt('limits.cpu.shares', c.shares, 2, 262144, false);
    if (c.weight !== undefined && c.shares !== undefined) throw new TypeError('limits.cpu: give weight or shares, not both');
  }
  if (l.cpuset !== undefined) {
    const c = checkKeys('limits.cpuset', l.cpuset, ['cpus', 'mems']);
    for (const k of ['cpus', 'mems']) {
      if (c[k] !== undefined && (typeof c[k] !== 'string' || !CPU_LIST.test(c[k] as string))) {
        throw new TypeError(`limits.cpuset.${k} must be a list like "0-2,4", got ${JSON.stringify(c[k])}`);
      }
    }
  }
  if (l.pids !== undefined) {
    const p = checkKeys('limits.pids', l.pids, ['max']);
    checkInt('limits.pids.max', p.max, 0, 4194304, true);
  }
  if (l.io !== undefined) {
    const io = checkKeys('limits.io', l.io, ['weight', 'max']);
    checkInt('limits.io.weight', io.weight, 1, 10000, false);
    if (io.max !== undefined) {
      if (!Array.isArray(io.max)) throw new TypeError('limits.io.max must be an array of { device, rbps, wbps, riops, wiops }');
      io.max.forEach((d, i) => {
        const dev = checkKeys(`limits.io.max[${i}]`, d, ['device', 'rbps', 'wbps', 'riops', 'wiops']);
        if (typeof dev.device !== 'string' || !DEVICE.test(dev.device)) {
          throw new TypeError(`limits.io.max[${i}].device must be "MAJOR:MINOR", got ${JSON.stringify(dev.device)}`);
        }
        for (const k of ['rbps', 'wbps', 'riops', 'wiops']) checkInt(`limits.io.max[${i}].${k}`, dev[k], 1, 2 ** 53 - 1, true);
      });
    }
  }
  if (l.hugetlb !== undefined) {
    if (!isPlainObject(l.hugetlb)) throw new TypeError('limits.hugetlb must be an object keyed by page size ("2MB", "1GB")');
    for (const [size, v] of Object.entries(l.hugetlb)) {
      if (!PAGE_SIZE_NAME.test(size)) throw new TypeError(`limits.hugetlb: ${JSON.stringify(size)} is not a page size name like "2MB" or "1GB"`);
      checkInt(`limits.hugetlb.${size}`, v, 0, MAX_BYTES, true);
    }
  }
}
