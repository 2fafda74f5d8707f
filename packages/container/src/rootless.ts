/**
 * Rootless containers: what an unprivileged caller's container gets, and what it cannot have.
 * The container runs in a new user namespace (the caller's uid and gid are 0 inside; with
 * ranges from /etc/subuid and /etc/subgid, ids 1… map to them through newuidmap/newgidmap, as
 * podman does), with its own mount, pid, uts, ipc and (unless `host`) network namespaces; every
 * mount is made by the helper inside the new mount namespace, none in the host's. What needs the
 * host's namespaces as root — bridge networks (and so published ports), cgroup v1 directories — is
 * refused before anything is made, with a FeatureUnavailableError saying why.
 */
import { accessSync, readFileSync, rmSync, constants as fsc } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { detectHierarchy } from '@stratum/cgroup';
import { spawn, type IdMapping } from '@stratum/namespace';
import { which } from '@stratum/union-fs';
import { FeatureUnavailableError } from './errors.js';
import { isErrno } from './fsutil.js';
import type { ContainerRecord, HostConfigRecord } from './record.js';
import type { ExecUser } from './user.js';

/** isRootless: whether this process starts containers the rootless way (its effective uid is not 0). */
export function isRootless(): boolean {
  return (process.geteuid?.() ?? 0) !== 0;
}

/** RootlessIds: the id maps of a rootless container's user namespace. */
export interface RootlessIds {
  uidMap: IdMapping[];
  gidMap: IdMapping[];
  /**
   * Whether setgroups(2) works inside: only with subordinate gids mapped by newgidmap (an
   * unprivileged gid_map written directly needs `setgroups` denied, CVE-2014-8989).
   */
  setgroups: boolean;
}

/** subordinateRange reads the first `name:start:count` (or `id:start:count`) line of /etc/subuid or /etc/subgid for the caller. */
function subordinateRange(file: string, names: readonly string[]): { start: number; count: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who === undefined || !names.includes(who)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s > 0 && c > 0) return { start: s, count: c };
  }
  return undefined;
}

let cachedIds: RootlessIds | undefined;

/**
 * rootlessIdMaps: the maps of a rootless container, podman's: container 0 → the caller's uid
 * (gid), and container 1… → the caller's range in /etc/subuid (/etc/subgid) when both files
 * have one and newuidmap/newgidmap are installed (Debian `uidmap`); else only 0 → the caller.
 * Read once per process.
 */
export function rootlessIdMaps(): RootlessIds {
  if (cachedIds) return cachedIds;
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry: ranges are looked up by uid only
  }
  const names = [String(uid), ...(name ? [name] : [])];
  const subuid = subordinateRange('/etc/subuid', names);
  const subgid = subordinateRange('/etc/subgid', [String(gid), ...(name ? [name] : [])]);
  if (subuid && subgid && which('newuidmap') !== undefined && which('newgidmap') !== undefined) {
    cachedIds = {
      uidMap: [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: subuid.start, size: subuid.count }],
      gidMap: [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: subgid.start, size: subgid.count }],
      setgroups: true,
    };
  } else {
    cachedIds = { uidMap: [{ containerID: 0, hostID: uid, size: 1 }], gidMap: [{ containerID: 0, hostID: gid, size: 1 }], setgroups: false };
  }
  return cachedIds;
}

/** isMapped: whether container id `id` is in `maps`. */
export function isMapped(maps: readonly IdMapping[], id: number): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

/** hasLimits: whether a container asks for any cgroup limit (`-m`, `--memory-swap`, `--cpus`, `--cpu-shares`, `--cpuset-cpus`, `--pids-limit`). */
export function hasLimits(h: Pick<HostConfigRecord, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'CpuShares' | 'CpusetCpus' | 'PidsLimit'>): boolean {
  return h.Memory > 0 || h.MemorySwap !== 0 || h.NanoCpus > 0 || h.CpuShares > 0 || h.CpusetCpus !== '' || h.PidsLimit > 0;
}

/**
 * delegatedCgroupReason says why a rootless caller cannot have cgroup limits under
 * `cgroupParent` (undefined: it can). Limits need a cgroup v2-only host (v1 hierarchies have no
 * safe delegation and only root writes them) and a `cgroupParent` the caller was delegated
 * (systemd's Delegate=yes: the directory and its cgroup.procs / cgroup.subtree_control are the
 * user's).
 */
export function delegatedCgroupReason(cgroupParent: string | undefined): string | undefined {
  const h = detectHierarchy();
  if (h.mode !== 'v2' || !h.v2) {
    return `this host's memory, cpu and pids controllers are cgroup v1 hierarchies (${h.mode} host), which only root can write: cgroup v1 has no safe delegation; limits without root need a cgroup v2 host and a delegated subtree`;
  }
  if (!cgroupParent) {
    return 'no delegated cgroup v2 subtree was given: open the Runtime with `cgroupParent` naming a cgroup the user was delegated (systemd: `systemd-run --user -p Delegate=yes …`)';
  }
  const dir = join(h.v2.mountpoint, cgroupParent.replace(/^\/+/, ''));
  for (const f of [dir, join(dir, 'cgroup.procs'), join(dir, 'cgroup.subtree_control')]) {
    try {
      accessSync(f, fsc.W_OK);
    } catch {
      return `${f} is not writable by uid ${process.geteuid?.() ?? '?'}: the cgroup parent is not delegated to this user`;
    }
  }
  return undefined;
}

/**
 * rootlessRefusal returns what a container asks for that a rootless caller cannot have, as a
 * FeatureUnavailableError naming the feature and why (undefined: it can run rootless). Checked
 * at create and again at start, before anything is made.
 */
export function rootlessRefusal(rec: { network: ContainerRecord['network']; HostConfig: Parameters<typeof hasLimits>[0] }, cgroupParent: string | undefined): FeatureUnavailableError | undefined {
  const net = rec.network;
  if (net.mode === 'bridge') {
    return new FeatureUnavailableError(
      `the bridge network ${JSON.stringify(net.name ?? 'bridge')} without root`,
      'a bridge network needs root: its bridge, veth pair, addresses, routes and NAT rules are made in the host\'s network namespace; use network "slirp4netns" (the rootless default where it is installed: user-mode networking, ports published through it), "none" or "host"',
    );
  }
  if (hasLimits(rec.HostConfig)) {
    const why = delegatedCgroupReason(cgroupParent);
    if (why) return new FeatureUnavailableError('cgroup limits without root', why);
  }
  return undefined;
}

/**
 * rootlessUser: the credentials a rootless container's process gets for `user`: refused
 * (FeatureUnavailableError) when its uid or gid is not mapped in the user namespace; the
 * supplementary groups kept only where setgroups(2) works inside, and only the mapped ones.
 */
export function rootlessUser(user: ExecUser, ids: RootlessIds = rootlessIdMaps()): { uid: number; gid: number; additionalGids?: number[] } {
  for (const [kind, id, maps] of [['uid', user.uid, ids.uidMap], ['gid', user.gid, ids.gidMap]] as const) {
    if (!isMapped(maps, id)) {
      const top = Math.max(...maps.map((m) => m.containerID + m.size)) - 1;
      throw new FeatureUnavailableError(
        `running as ${kind} ${id} without root`,
        `the container's user namespace maps ${kind}s 0-${top} only${top === 0 ? ` (no range for this user in /etc/sub${kind}, or newuidmap/newgidmap missing: Debian uidmap)` : ''}`,
      );
    }
  }
  if (!ids.setgroups) return { uid: user.uid, gid: user.gid };
  return { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids.filter((g) => isMapped(ids.gidMap, g)) };
}

/** noCgroupError: what pause, unpause, top and stats say about a running container that has no cgroup (rootless without limits). */
export function noCgroupError(operation: string): FeatureUnavailableError {
  return new FeatureUnavailableError(
    `${operation} of a container without a cgroup`,
    'it was started without root and without limits, so it has no cgroup (a rootless container gets one only with limits, in a delegated cgroup v2 subtree); the freezer, the process list and the counters are the cgroup\'s',
  );
}

/**
 * removeTree deletes `dir` recursively (`rm -rf`; fine when missing). Rootless, a container's
 * files may belong to its subordinate ids (a `chown` inside, a directory of mode 0700 of another
 * user): what this process may not delete is deleted by `rm -rf` run as root of a user namespace
 * with the same maps (podman's `unshare rm`), where those ids are its own.
 */
export async function removeTree(dir: string): Promise<void> {
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch (e) {
    if (!isRootless() || !isErrno(e, 'EACCES', 'EPERM')) throw e;
  }
  const ids = rootlessIdMaps();
  const p = await spawn({
    argv: ['rm', '-rf', '--', dir],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    namespaces: { user: { uidMap: ids.uidMap, gidMap: ids.gidMap } },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const st = await p.wait();
  if (st.code !== 0) throw new Error(`rm -rf ${dir} in the user namespace failed (${st.code ?? st.signal}): ${err.trim()}`);
}

/**
 * enterablePid: the process of a rootless container whose /proc/PID/ns/* the caller can open:
 * its first process, or with `init: true` the program the init started — the init is not
 * dumpable (so that the container cannot reach the helper through /proc/1/exe), which makes its
 * /proc/PID/ns/* root's; its child is in the same namespaces and is the caller's. The init
 * itself when it has no child (the kernel then says EACCES).
 */
export function enterablePid(pid: number, init: boolean): number {
  if (!init) return pid;
  try {
    const first = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 0) return first;
  } catch {
    // no CONFIG_PROC_CHILDREN
  }
  return pid;
}
