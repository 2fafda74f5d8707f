import { closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NamespaceHandle } from './handle.js';
import type { Process } from './process.js';
import { DEFAULT_PATH, NAMESPACE_KINDS, NS_PROC_NAME, prepareSpec, type NamespaceKind, type NamespacesSpec, type SpawnSpec } from './spec.js';
import { start } from './spawn.js';

/** EnterSpec: what {@link enter} runs: a {@link SpawnSpec} without the parts that create a container. */
export interface EnterSpec
  extends Omit<
    SpawnSpec,
    'namespaces' | 'rootfs' | 'rootfsPropagation' | 'noPivotRoot' | 'mounts' | 'devices' | 'readonlyPaths' | 'maskedPaths' | 'hostname' | 'domainname' | 'timeOffsets' | 'cgroup'
  > {
  /** Which of the target's namespaces to join. Default: every one that differs from the caller's (`nsenter --all`). */
  namespaces?: readonly NamespaceKind[];
  /** Enter the target's root directory (chroot to /proc/PID/root). Default: true when joining its mount namespace. */
  root?: boolean;
  /** Join the target's cgroups (true), none (false), or these. Default: true as root, false otherwise. */
  cgroup?: boolean | SpawnSpec['cgroup'];
}

interface MountLine {
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

function mountinfo(): MountLine[] {
  const out: MountLine[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0) continue;
    const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ root: unescape(f[3]!), mountpoint: unescape(f[4]!), fstype: f[dash + 1]!, superOptions: (f[dash + 3] ?? '').split(',') });
  }
  return out;
}

/**
 * cgroupDirs lists the host directories of every cgroup process `pid` is in (one per v1
 * hierarchy, plus the unified one), from /proc/PID/cgroup and this process's mountinfo — what
 * `docker exec` joins. Only directories that exist are returned.
 */
export function cgroupDirs(pid: number): string[] {
  const mounts = mountinfo();
  const dirs = new Set<string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    const names = controllers ? controllers.split(',') : [];
    const m = names.length
      ? mounts.find((mi) => mi.fstype === 'cgroup' && names.every((n) => mi.superOptions.includes(n)))
      : mounts.find((mi) => mi.fstype === 'cgroup2');
    if (!m) continue;
    let rel = path;
    if (m.root !== '/') {
      if (!(path === m.root || path.startsWith(`${m.root}/`))) continue;
      rel = path.slice(m.root.length) || '/';
    }
    const dir = join(m.mountpoint, rel);
    if (existsSync(join(dir, 'cgroup.procs'))) dirs.add(dir);
  }
  return [...dirs];
}

/**
 * enter runs a program inside the namespaces of a running process (`target`: a pid or a
 * {@link Process}), like `nsenter --target PID --all` or `docker exec`: it joins the target's
 * namespaces (user first, the pid namespace through a fork so the program is a member), its
 * root directory, and (as root) its cgroups, then execs — resolving after exec or rejecting with
 * {@link SpawnError}. The namespaces are held open from the start, so a target exiting meanwhile
 * fails cleanly rather than entering something else. In a joined user namespace the program runs
 * as uid/gid 0 unless `user` says otherwise (nsenter's default).
 */
export async function enter(target: number | { readonly pid: number }, spec: EnterSpec): Promise<Process> {
  const pid = typeof target === 'number' ? target : target?.pid;
  if (!Number.isInteger(pid) || pid <= 0) throw new TypeError('enter: target must be a pid or a process with a pid');
  if (spec === null || typeof spec !== 'object') throw new TypeError('enter: spec must be an object');
  const kinds = spec.namespaces ?? NAMESPACE_KINDS;
  if (!Array.isArray(kinds)) throw new TypeError('enter: namespaces must be an array of kinds');
  const handles: NamespaceHandle[] = [];
  let rootFd: number | undefined;
  try {
    const namespaces: NamespacesSpec = {};
    for (const kind of kinds as readonly NamespaceKind[]) {
      if (NS_PROC_NAME[kind] === undefined) throw new TypeError(`enter: unknown namespace kind ${JSON.stringify(kind)}`);
      let h: NamespaceHandle;
      try {
        h = NamespaceHandle.open({ pid }, kind);
      } catch (e) {
        // A kind this kernel does not have (time < 5.6) is skipped unless asked for by name.
        if (spec.namespaces === undefined && (e as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(`/proc/${pid}`)) continue;
        throw e;
      }
      let own = -1;
      try {
        own = statSync(`/proc/self/ns/${NS_PROC_NAME[kind]}`).ino;
      } catch {
        // not ours to compare
      }
      if (h.inode === own) {
        // Already there (setns into one's own user namespace is even an error).
        h.close();
        continue;
      }
      handles.push(h);
      namespaces[kind] = h;
    }
    const root = spec.root ?? namespaces.mount !== undefined;
    if (root) rootFd = openSync(`/proc/${pid}/root`, constants.O_RDONLY | constants.O_DIRECTORY);
    const { namespaces: _n, root: _r, cgroup, ...rest } = spec;
    const full: SpawnSpec = { ...rest, namespaces };
    if (full.env === undefined && root) full.env = { PATH: DEFAULT_PATH };
    const asRoot = (process.geteuid?.() ?? 0) === 0;
    if (cgroup === true || (cgroup === undefined && asRoot)) full.cgroup = cgroupDirs(pid);
    else if (cgroup !== undefined && cgroup !== false) full.cgroup = cgroup;
    if (namespaces.user !== undefined && spec.user === undefined) full.user = { uid: 0, gid: 0 };
    const extra = rootFd !== undefined ? { enterRoot: `/proc/${process.pid}/fd/${rootFd}` } : {};
    return await start(prepareSpec(full, extra), spec.signal);
  } finally {
    for (const h of handles) h.close();
    if (rootFd !== undefined) closeSync(rootFd);
  }
}
