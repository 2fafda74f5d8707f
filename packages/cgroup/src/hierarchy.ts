import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { CgroupError, toErrnoError } from './errors.js';

/** How the host mounts cgroups: only v1 hierarchies, only the v2 unified one, or both. */
export type HierarchyMode = 'v1' | 'v2' | 'hybrid';

/** What {@link detectHierarchy} found. Paths are absolute (under `root` for a fixture). */
export interface Hierarchy {
  /** `v1`: only v1 hierarchies; `v2`: only the unified hierarchy; `hybrid`: v1 controllers plus a cgroup2 mount. */
  mode: HierarchyMode;
  /** v1 controller (kernel name: `memory`, `cpu`, `cpuacct`, `blkio` …) → its mountpoint. Co-mounted controllers share one. */
  v1: Record<string, string>;
  /** The cgroup2 mount and the controllers its root offers (`cgroup.controllers`), when there is one. */
  v2?: { mountpoint: string; controllers: string[] };
  /** Named v1 hierarchies without controllers (`systemd` for `name=systemd`) → mountpoint. Never managed. */
  named: Record<string, string>;
  /** Mountpoint → the path inside its hierarchy that the mount shows (`/` unless bind-mounted or in a cgroup namespace). */
  mountRoots: Record<string, string>;
  /** The directory that stands for `/` (`/` on a real host, a fixture directory in tests). */
  root: string;
}

/** Options of {@link detectHierarchy}. */
export interface DetectOptions {
  /**
   * A directory that stands for `/`: `ROOT/proc/self/mountinfo`, `ROOT/proc/cgroups` and the
   * mountpoints listed there are read under it. For fixture hosts in tests; default `/`.
   */
  root?: string;
  /** Re-read the host instead of returning the memoized result for this root. */
  fresh?: boolean;
}

/** One line of /proc/self/mountinfo (the fields this package needs). */
export interface MountInfoEntry {
  /** The path inside the filesystem that is mounted (field 4). */
  root: string;
  mountpoint: string;
  fstype: string;
  /** Per-superblock options (after the ` - ` separator), split on commas. */
  superOptions: string[];
}

/** One row of /proc/cgroups. */
export interface ProcCgroupsEntry {
  name: string;
  /** Hierarchy id; 0 for a controller that is on the v2 hierarchy or not mounted at all. */
  hierarchy: number;
  enabled: boolean;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** parseMountInfo parses /proc/PID/mountinfo text (octal escapes like `\040` decoded). */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    out.push({
      root: unescapeMount(f[3]!),
      mountpoint: unescapeMount(f[4]!),
      fstype: f[sep + 1]!,
      superOptions: (f[sep + 3] ?? '').split(','),
    });
  }
  return out;
}

/** parseProcCgroups parses /proc/cgroups (`subsys_name hierarchy num_cgroups enabled`). */
export function parseProcCgroups(text: string): ProcCgroupsEntry[] {
  const out: ProcCgroupsEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [name, hierarchy, , enabled] = line.trim().split(/\s+/);
    if (!name || hierarchy === undefined) continue;
    out.push({ name, hierarchy: Number(hierarchy), enabled: enabled !== '0' });
  }
  return out;
}

const memo = new Map<string, Hierarchy>();

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw toErrnoError(err);
  }
}

/**
 * detectHierarchy reads /proc/self/mountinfo and /proc/cgroups (never guesses from paths) and
 * says which controllers are on v1 hierarchies (and where), whether a cgroup2 mount exists and
 * which controllers its root offers, and so whether the host is `v1`, `v2` or `hybrid`. The
 * result is memoized per root (`fresh: true` re-reads). Like `stat -fc %T /sys/fs/cgroup` plus
 * `cat /proc/cgroups`, done properly. Throws a CgroupError `CGROUP_NONE` when nothing is mounted.
 */
export function detectHierarchy(opts: DetectOptions = {}): Hierarchy {
  if (opts.root !== undefined && (typeof opts.root !== 'string' || !opts.root.startsWith('/'))) {
    throw new TypeError(`detectHierarchy: root must be an absolute path, got ${JSON.stringify(opts.root)}`);
  }
  const root = opts.root ?? '/';
  if (!opts.fresh) {
    const hit = memo.get(root);
    if (hit) return hit;
  }
  const mounts = parseMountInfo(readText(join(root, 'proc/self/mountinfo')));
  const known = parseProcCgroups(readText(join(root, 'proc/cgroups')));
  const knownNames = new Set(known.filter((k) => k.enabled).map((k) => k.name));
  const v1: Record<string, string> = {};
  const named: Record<string, string> = {};
  const mountRoots: Record<string, string> = {};
  let v2: Hierarchy['v2'];
  // Where one hierarchy is mounted twice (a bind mount of a sub-tree), prefer the mount of its root.
  const ordered = [...mounts].sort((a, b) => Number(b.root === '/') - Number(a.root === '/'));
  for (const m of ordered) {
    const at = join(root, m.mountpoint);
    if (m.fstype === 'cgroup') {
      const controllers = m.superOptions.filter((o) => knownNames.has(o));
      const names = m.superOptions.filter((o) => o.startsWith('name=')).map((o) => o.slice(5));
      if (controllers.length === 0 && names.length === 0) continue;
      if (controllers.some((c) => v1[c] !== undefined) || names.some((n) => named[n] !== undefined)) continue;
      for (const c of controllers) v1[c] = at;
      if (controllers.length === 0) for (const n of names) named[n] = at;
      mountRoots[at] = m.root;
    } else if (m.fstype === 'cgroup2' && v2 === undefined) {
      let controllers: string[];
      try {
        controllers = readText(join(at, 'cgroup.controllers')).split(/\s+/).filter(Boolean);
      } catch {
        // Not readable (a fixture without it): the enabled controllers on no v1 hierarchy.
        controllers = known.filter((k) => k.enabled && k.hierarchy === 0).map((k) => k.name);
      }
      v2 = { mountpoint: at, controllers: controllers.filter((c) => v1[c] === undefined) };
      mountRoots[at] = m.root;
    }
  }
  // A cgroup2 mount sorted before a v1 one may have listed a controller that v1 now holds.
  if (v2) v2.controllers = v2.controllers.filter((c) => v1[c] === undefined);
  const hasV1 = Object.keys(v1).length > 0;
  if (!hasV1 && !v2) {
    throw new CgroupError('CGROUP_NONE', `no cgroup hierarchy is mounted (read ${join(root, 'proc/self/mountinfo')}); mount cgroup2 on /sys/fs/cgroup`);
  }
  const h: Hierarchy = {
    mode: hasV1 && v2 ? 'hybrid' : hasV1 ? 'v1' : 'v2',
    v1,
    ...(v2 ? { v2 } : {}),
    named,
    mountRoots,
    root,
  };
  memo.set(root, h);
  return h;
}

/** Where a process sits: per v1 controller and on the unified hierarchy. */
export interface ProcessCgroups {
  /** v1 controller → cgroup path relative to that hierarchy's mount (`''` for its root). */
  v1: Record<string, string>;
  /** Path on the unified hierarchy relative to its mount, when the host has one. */
  v2?: string;
}

/**
 * cgroupOf reads /proc/PID/cgroup (default: this process) and gives, per hierarchy, the cgroup
 * path relative to where that hierarchy is mounted — the form {@link Cgroup.open} and
 * {@link Cgroup.create} take, so `Cgroup.create(posix.join(cgroupOf().v2!, 'job'))` makes a
 * child of one's own (delegated) cgroup. Like `cat /proc/self/cgroup`.
 */
export function cgroupOf(pid: number | 'self' = 'self', opts: DetectOptions = {}): ProcessCgroups {
  if (pid !== 'self' && (!Number.isInteger(pid) || pid <= 0)) throw new TypeError(`cgroupOf: pid must be a positive integer or 'self', got ${String(pid)}`);
  const h = detectHierarchy(opts);
  const text = readText(join(h.root, 'proc', String(pid), 'cgroup'));
  const out: ProcessCgroups = { v1: {} };
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, list, path] = m as unknown as [string, string, string, string];
    if (id === '0' && list === '') {
      if (h.v2) out.v2 = relativeToMount(h.mountRoots[h.v2.mountpoint] ?? '/', path);
      continue;
    }
    for (const c of list.split(',')) {
      const at = h.v1[c];
      if (at !== undefined) out.v1[c] = relativeToMount(h.mountRoots[at] ?? '/', path);
    }
  }
  return out;
}

function relativeToMount(mountRoot: string, path: string): string {
  const rel = posix.relative(mountRoot, path);
  // A cgroup outside what the mount shows (`../x`) cannot be addressed through it.
  if (rel.startsWith('..')) throw new CgroupError('CGROUP_OUTSIDE_MOUNT', `cgroup ${path} is outside the mounted part ${mountRoot} of its hierarchy`);
  return rel;
}
