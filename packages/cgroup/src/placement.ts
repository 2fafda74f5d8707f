import { join, posix } from 'node:path';
import { CgroupUnsupportedError } from './errors.js';
import type { Hierarchy } from './hierarchy.js';
import { CONTROLLER_NAMES, ourName, v1Name, type ControllerName } from './limits.js';

/** One directory of a cgroup: on a v1 hierarchy (one per mount) or the unified v2 one. */
export interface CgroupDir {
  version: 'v1' | 'v2';
  /** The hierarchy's mountpoint. */
  mountpoint: string;
  /** Absolute path of this cgroup's directory. */
  path: string;
  /** Controllers this directory serves (v1: those co-mounted there; v2: those enabled for it). */
  controllers: ControllerName[];
}

/** Where a cgroup's directories go: which controllers it joins, and whether it has a unified directory. */
export interface PlacementOptions {
  /**
   * Controllers the cgroup joins. Default: every controller the host offers (as runc does), so
   * that limits can be added later by `update()`. Those the limits need are always added.
   * `blkio` is accepted for `io`.
   */
  controllers?: readonly (ControllerName | 'blkio')[];
  /**
   * Whether to have a directory on the unified hierarchy when the host is hybrid (default true:
   * it brings `cgroup.kill`, `cgroup.events` and the v2 freezer). Required on v2-only hosts.
   */
  unified?: boolean;
}

/**
 * normalizeCgroupPath checks a cgroup path (relative to the hierarchy roots, like
 * `stratum/t1`; a leading `/` is allowed) and returns it without leading or trailing slashes.
 * Throws TypeError for empty paths, `.`/`..` segments and control characters.
 */
export function normalizeCgroupPath(path: unknown): string {
  if (typeof path !== 'string') throw new TypeError(`cgroup path must be a string, got ${typeof path}`);
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '') throw new TypeError('cgroup path must name a cgroup below the root (e.g. "stratum/t1"), got an empty path');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p)) throw new TypeError(`cgroup path ${JSON.stringify(path)} contains control characters`);
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw new TypeError(`cgroup path ${JSON.stringify(path)} has an empty, "." or ".." segment`);
  }
  return posix.normalize(p);
}

function normalizeControllers(list: readonly string[]): ControllerName[] {
  const out: ControllerName[] = [];
  for (const c of list) {
    const n = ourName(c);
    if (!n) throw new TypeError(`unknown cgroup controller ${JSON.stringify(c)} (known: ${CONTROLLER_NAMES.join(', ')})`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** Controllers the host offers, by our names. */
export function availableControllers(h: Hierarchy): ControllerName[] {
  const out = new Set<ControllerName>();
  for (const k of Object.keys(h.v1)) {
    const n = ourName(k);
    if (n) out.add(n);
  }
  for (const k of h.v2?.controllers ?? []) {
    const n = ourName(k);
    if (n) out.add(n);
  }
  return [...out];
}

/**
 * placeCgroup decides the directories of cgroup `path`: one per v1 mount of a joined controller,
 * plus the unified directory (with the v2 controllers to enable). Throws CgroupUnsupportedError
 * when a needed (or explicitly asked) controller is on no hierarchy of the host.
 */
export function placeCgroup(h: Hierarchy, path: string, needed: readonly ControllerName[], opts: PlacementOptions = {}): CgroupDir[] {
  if (opts.unified === false && h.mode === 'v2') throw new TypeError('unified: false is impossible on a cgroup v2-only host');
  const explicit = opts.controllers !== undefined ? normalizeControllers(opts.controllers) : undefined;
  const wanted = new Set<ControllerName>([...(explicit ?? availableControllers(h)), ...needed]);
  const mustHave = new Set<ControllerName>([...(explicit ?? []), ...needed]);
  const v1 = new Map<string, ControllerName[]>();
  const v2: ControllerName[] = [];
  const add1 = (c: ControllerName): boolean => {
    const mp = h.v1[v1Name(c)];
    if (mp === undefined) return false;
    const list = v1.get(mp) ?? [];
    if (!list.includes(c)) list.push(c);
    v1.set(mp, list);
    return true;
  };
  for (const c of wanted) {
    if (add1(c)) {
      // cpu usage lives in cpuacct on v1: join it alongside cpu for stats().
      if (c === 'cpu' && h.v1.cpuacct !== undefined) add1('cpuacct');
      continue;
    }
    if (h.v2?.controllers.includes(c)) {
      if (opts.unified === false) {
        if (mustHave.has(c)) throw new TypeError(`the ${c} controller is on the unified hierarchy of this host, which unified: false excludes`);
        continue;
      }
      v2.push(c);
      continue;
    }
    // Part of the v2 core: the unified directory itself serves them.
    if (h.v2 && opts.unified !== false && (c === 'freezer' || c === 'cpuacct')) continue;
    if (mustHave.has(c)) {
      throw new CgroupUnsupportedError({
        controller: c,
        hierarchy: 'none',
        limit: c,
        reason:
          c === 'devices' && h.v2
            ? 'cgroup v2 controls devices with eBPF programs, which this package does not attach'
            : `no v1 hierarchy mounts it and ${h.v2 ? 'the unified hierarchy does not offer it' : 'there is no unified hierarchy'} (see /proc/cgroups)`,
      });
    }
  }
  const dirs: CgroupDir[] = [];
  if (h.v2 && (h.mode === 'v2' || opts.unified !== false || v2.length > 0)) {
    dirs.push({ version: 'v2', mountpoint: h.v2.mountpoint, path: join(h.v2.mountpoint, path), controllers: v2 });
  }
  for (const [mountpoint, controllers] of v1) dirs.push({ version: 'v1', mountpoint, path: join(mountpoint, path), controllers });
  return dirs;
}
