import type { CgroupLimits } from '@stratum/cgroup';

/** ResourcesSpec: resource limits, with `docker run`'s flags and units. */
export interface ResourcesSpec {
  /** `-m`: memory limit in bytes or with a unit (`64m`, `1g`; b, k, m, g, t binary). */
  memory?: number | string;
  /** `--memory-swap`: memory + swap together (Docker semantics), `-1` = unlimited swap. Needs `memory`. */
  memorySwap?: number | string;
  /** `--cpus`: CPU bandwidth in CPUs (0.5 = half a CPU per 100 ms period). */
  cpus?: number;
  /** `--cpu-shares`: relative weight (v1 shares, 2–262144). */
  cpuShares?: number;
  /** `--cpuset-cpus`: CPUs allowed, list syntax (`0-1,3`). */
  cpusetCpus?: string;
  /** `--pids-limit`: maximum number of processes; 0 or -1 = unlimited. */
  pidsLimit?: number;
  /** Same as `pidsLimit` (DESIGN.md's name). */
  pids?: number;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * parseBytes parses Docker's RAM sizes: a number of bytes, or `NUMBER[UNIT]` with b, k, m, g, t
 * (binary, case-insensitive, an optional trailing `b`: `64m`, `64MB`, `1.5g`); `-1` stays -1.
 * TypeError otherwise. Pure.
 */
export function parseBytes(v: number | string, what: string): number {
  if (typeof v === 'number') {
    if (v === -1) return -1;
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`${what} must be a non-negative integer of bytes, got ${v}`);
    return v;
  }
  const m = typeof v === 'string' ? /^\s*(-1|\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$/i.exec(v) : null;
  if (!m) throw new TypeError(`${what} must be bytes or a size like 64m, got ${JSON.stringify(v)}`);
  if (m[1] === '-1') return -1;
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/** NormalizedResources: the limits as Docker's HostConfig records them. */
export interface NormalizedResources {
  Memory: number;
  MemorySwap: number;
  NanoCpus: number;
  CpuShares: number;
  CpusetCpus: string;
  PidsLimit: number;
}

/** normalizeResources validates a {@link ResourcesSpec} (TypeError naming the field) into HostConfig's fields. Pure. */
export function normalizeResources(r: ResourcesSpec | undefined): NormalizedResources {
  const out: NormalizedResources = { Memory: 0, MemorySwap: 0, NanoCpus: 0, CpuShares: 0, CpusetCpus: '', PidsLimit: 0 };
  if (r === undefined) return out;
  if (r === null || typeof r !== 'object') throw new TypeError('resources must be an object');
  if (r.memory !== undefined) {
    out.Memory = parseBytes(r.memory, 'resources.memory');
    if (out.Memory === -1) out.Memory = 0;
    else if (out.Memory > 0 && out.Memory < 6 * 1024 * 1024) throw new TypeError('resources.memory: the minimum memory limit is 6m (as Docker)');
  }
  if (r.memorySwap !== undefined) {
    out.MemorySwap = parseBytes(r.memorySwap, 'resources.memorySwap');
    if (out.Memory === 0) throw new TypeError('resources.memorySwap needs resources.memory');
    if (out.MemorySwap !== -1 && out.MemorySwap !== 0 && out.MemorySwap < out.Memory) throw new TypeError('resources.memorySwap must be at least resources.memory (it is memory + swap)');
  }
  if (r.cpus !== undefined) {
    if (typeof r.cpus !== 'number' || !Number.isFinite(r.cpus) || r.cpus < 0.01 || r.cpus > 1024) throw new TypeError(`resources.cpus must be a number of CPUs ≥ 0.01, got ${String(r.cpus)}`);
    out.NanoCpus = Math.round(r.cpus * 1e9);
  }
  if (r.cpuShares !== undefined) {
    if (!Number.isInteger(r.cpuShares) || r.cpuShares < 2 || r.cpuShares > 262144) throw new TypeError(`resources.cpuShares must be an integer in 2..262144, got ${String(r.cpuShares)}`);
    out.CpuShares = r.cpuShares;
  }
  if (r.cpusetCpus !== undefined) {
    if (typeof r.cpusetCpus !== 'string' || !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(r.cpusetCpus)) throw new TypeError(`resources.cpusetCpus must be a CPU list like 0-1,3, got ${JSON.stringify(r.cpusetCpus)}`);
    out.CpusetCpus = r.cpusetCpus;
  }
  const pids = r.pidsLimit ?? r.pids;
  if (pids !== undefined) {
    if (!Number.isInteger(pids) || pids < -1) throw new TypeError(`resources.pidsLimit must be an integer ≥ -1, got ${String(pids)}`);
    out.PidsLimit = pids > 0 ? pids : 0;
  }
  return out;
}

/**
 * cgroupLimits maps HostConfig's limits onto @stratum/cgroup's (v2 units; v1 converted there):
 * Memory → memory.max; MemorySwap (memory + swap) → memory.swap = MemorySwap − Memory, or `max`
 * for -1 (left alone when not given, so hosts without swap accounting still run a memory limit);
 * NanoCpus → cpu.max quota per 100 ms; CpuShares → cpu.shares; CpusetCpus → cpuset.cpus;
 * PidsLimit → pids.max. Pure.
 */
export function cgroupLimits(h: NormalizedResources): CgroupLimits {
  const l: CgroupLimits = {};
  if (h.Memory > 0) {
    l.memory = { max: h.Memory };
    if (h.MemorySwap === -1) l.memory.swap = 'max';
    else if (h.MemorySwap > 0) l.memory.swap = h.MemorySwap - h.Memory;
  }
  if (h.NanoCpus > 0 || h.CpuShares > 0) {
    l.cpu = {};
    if (h.NanoCpus > 0) l.cpu.max = { quota: Math.max(1000, Math.round(h.NanoCpus / 1e4)), period: 100_000 };
    if (h.CpuShares > 0) l.cpu.shares = h.CpuShares;
  }
  if (h.CpusetCpus) l.cpuset = { cpus: h.CpusetCpus };
  if (h.PidsLimit > 0) l.pids = { max: h.PidsLimit };
  return l;
}
