import { MS } from '@stratum/native';
import { MOUNT_FLAG, type WireDevice, type WireMount } from './protocol.js';

/**
 * MountSpec: a mount to make in the new mount namespace before pivot_root, in the OCI runtime-spec shape
 * (`config.json` "mounts"): `destination` inside the rootfs, `type` ('proc', 'tmpfs', 'sysfs',
 * 'devpts', 'mqueue', 'bind' …), `source`, and mount(8)-style `options` ('ro', 'nosuid',
 * 'rbind', 'rslave', 'mode=755' …; what is not a flag goes to the filesystem as data).
 */
export interface MountSpec {
  destination: string;
  type?: string;
  source?: string;
  options?: readonly string[];
}

/** DeviceSpec: a device node to create (mknod) under the rootfs, or bind from the host when mknod is refused (rootless). */
export interface DeviceSpec {
  path: string;
  /** 'c' character, 'b' block, 'p' fifo. */
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  /** Permission bits, default 0o666. */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/**
 * DEFAULT_MOUNTS is the mount list of Docker's and the OCI reference spec's default container:
 * proc, /dev as a tmpfs (filled with {@link DEFAULT_DEVICES} and the /dev/fd, stdin, stdout,
 * stderr and ptmx symlinks), devpts (a new instance, so the container's ptys are its own), shm,
 * mqueue and a read-only sysfs. sysfs needs a new net namespace when the caller is unprivileged.
 */
export const DEFAULT_MOUNTS: readonly MountSpec[] = Object.freeze([
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
] as MountSpec[]);

/** DEFAULT_DEVICES: the nodes every container gets in its /dev (runc's AllowedDevices that it creates). */
export const DEFAULT_DEVICES: readonly DeviceSpec[] = Object.freeze([
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
] as DeviceSpec[]);

/** DEFAULT_DEV_SYMLINKS: the /dev symlinks made with the default devices (fd, stdin, stdout, stderr, ptmx). */
export const DEFAULT_DEV_SYMLINKS: ReadonlyArray<{ target: string; link: string }> = Object.freeze([
  { target: '/proc/self/fd', link: '/dev/fd' },
  { target: '/proc/self/fd/0', link: '/dev/stdin' },
  { target: '/proc/self/fd/1', link: '/dev/stdout' },
  { target: '/proc/self/fd/2', link: '/dev/stderr' },
  { target: 'pts/ptmx', link: '/dev/ptmx' },
]);

/** DOCKER_MASKED_PATHS: what Docker hides from a container (moby's oci/defaults.go): /dev/null over files, an empty read-only tmpfs over directories. Missing paths are skipped. */
export const DOCKER_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
]);

/** DOCKER_READONLY_PATHS: what Docker makes read-only in a container (bound onto itself, remounted ro). */
export const DOCKER_READONLY_PATHS: readonly string[] = Object.freeze(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);

/** The mount(8)/OCI options that are mount(2) flags: [set, clear]. */
const FLAG_OPTIONS: Record<string, [number, number]> = {
  defaults: [0, 0],
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  atime: [0, MS.NOATIME],
  noatime: [MS.NOATIME, 0],
  diratime: [0, MS.NODIRATIME],
  nodiratime: [MS.NODIRATIME, 0],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  nosymfollow: [MS.NOSYMFOLLOW, 0],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Propagation: the root propagation modes (`rootfsPropagation`), always recursive. */
export type Propagation = 'private' | 'slave' | 'shared' | 'unbindable';

/** propagationFlags maps 'slave' to MS_SLAVE|MS_REC etc. */
export function propagationFlags(p: Propagation): number {
  const f = PROPAGATION_OPTIONS[`r${p}`];
  if (f === undefined) throw new TypeError(`spawn: rootfsPropagation must be 'private', 'slave', 'shared' or 'unbindable', got ${JSON.stringify(p)}`);
  return f;
}

function absolute(p: unknown, what: string): string {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0')) throw new TypeError(`spawn: ${what} must be an absolute path without NUL, got ${JSON.stringify(p)}`);
  return p;
}

/**
 * wireMount parses one {@link MountSpec} (OCI options, like runc's parseMountOptions) into what
 * the helper does: the mount(2) flags and data, the propagation change after it, and whether a
 * bind must be made read-only recursively ('rro', mount_setattr, Linux ≥ 5.12).
 */
export function wireMount(m: MountSpec, i: number): WireMount {
  if (m === null || typeof m !== 'object') throw new TypeError(`spawn: mounts[${i}] must be an object`);
  const target = absolute(m.destination, `mounts[${i}].destination`);
  const options = m.options ?? [];
  if (!Array.isArray(options)) throw new TypeError(`spawn: mounts[${i}].options must be an array of strings`);
  let flags = 0;
  let propagation = 0;
  let mflags = 0;
  const data: string[] = [];
  for (const o of options) {
    if (typeof o !== 'string' || o.includes('\0')) throw new TypeError(`spawn: mounts[${i}].options must be strings`);
    const f = FLAG_OPTIONS[o];
    if (f) {
      flags = (flags | f[0]) & ~f[1];
      continue;
    }
    const p = PROPAGATION_OPTIONS[o];
    if (p !== undefined) {
      propagation = p;
      continue;
    }
    if (o === 'rro') {
      mflags |= MOUNT_FLAG.RECURSIVE_RO;
      continue;
    }
    if (o === 'rrw') continue;
    data.push(o);
  }
  const type = m.type ?? '';
  if (typeof type !== 'string' || type.includes('\0')) throw new TypeError(`spawn: mounts[${i}].type must be a string`);
  if (type === 'bind') flags |= MS.BIND;
  const source = m.source ?? (flags & MS.BIND ? undefined : type || 'none');
  if (flags & MS.BIND) {
    absolute(source, `mounts[${i}].source (a bind mount's host path)`);
    if (data.length) throw new TypeError(`spawn: mounts[${i}] is a bind mount; unknown options ${JSON.stringify(data)}`);
  } else if (!type && !(flags & MS.REMOUNT)) {
    throw new TypeError(`spawn: mounts[${i}] needs a type (or the bind/rbind option)`);
  }
  if (typeof source !== 'string' || source.includes('\0')) throw new TypeError(`spawn: mounts[${i}].source must be a string`);
  if (flags & MS.REMOUNT) {
    mflags |= MOUNT_FLAG.REMOUNT;
  }
  return { flags, propagation, mflags, source, target, fstype: flags & MS.BIND ? '' : type, data: data.join(',') };
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** wireDevice validates a {@link DeviceSpec}. */
export function wireDevice(d: DeviceSpec, i: number): WireDevice {
  if (d === null || typeof d !== 'object') throw new TypeError(`spawn: devices[${i}] must be an object`);
  const path = absolute(d.path, `devices[${i}].path`);
  const kind = d.type === 'c' ? S_IFCHR : d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : undefined;
  if (kind === undefined) throw new TypeError(`spawn: devices[${i}].type must be 'c', 'b' or 'p'`);
  const int = (v: unknown, what: string, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TypeError(`spawn: devices[${i}].${what} must be a non-negative integer`);
    return v;
  };
  const mode = int(d.fileMode, 'fileMode', 0o666);
  if (mode > 0o7777) throw new TypeError(`spawn: devices[${i}].fileMode must be permission bits (≤ 0o7777)`);
  return { mode: kind | mode, major: int(d.major, 'major', 0), minor: int(d.minor, 'minor', 0), uid: int(d.uid, 'uid', 0), gid: int(d.gid, 'gid', 0), path };
}
