import { constants as osConstants } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { CLONE } from '@stratum/native';
import { capabilityMasks, type CapabilitySets } from './capabilities.js';
import {
  DEFAULT_DEV_SYMLINKS,
  DEFAULT_DEVICES,
  propagationFlags,
  wireDevice,
  wireMount,
  type DeviceSpec,
  type MountSpec,
  type Propagation,
} from './mounts.js';
import { FLAG, type WireSpec } from './protocol.js';

/** NamespaceKind: the namespace kinds, by their `/proc/PID/ns` meaning. */
export type NamespaceKind = 'pid' | 'mount' | 'uts' | 'ipc' | 'net' | 'user' | 'cgroup' | 'time';

/** NS_PROC_NAME: the file name of each kind under /proc/PID/ns ('mount' is 'mnt'). */
export const NS_PROC_NAME: Readonly<Record<NamespaceKind, string>> = Object.freeze({
  pid: 'pid',
  mount: 'mnt',
  uts: 'uts',
  ipc: 'ipc',
  net: 'net',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
});

const CLONE_OF: Record<NamespaceKind, number> = {
  pid: CLONE.NEWPID,
  mount: CLONE.NEWNS,
  uts: CLONE.NEWUTS,
  ipc: CLONE.NEWIPC,
  net: CLONE.NEWNET,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** cloneFlag returns the CLONE_NEW* bit of a namespace kind. */
export function cloneFlag(kind: NamespaceKind): number {
  return CLONE_OF[kind];
}

/** NAMESPACE_KINDS: every kind, in the order {@link enter} joins them (user first). */
export const NAMESPACE_KINDS: readonly NamespaceKind[] = Object.freeze(Object.keys(CLONE_OF) as NamespaceKind[]);

/**
 * NamespaceRef: an existing namespace to join: a path (`/run/netns/NAME`, `/proc/123/ns/net`), anything with a
 * `path` (a {@link NamespaceHandle}, a netns handle), or anything with a `pid` (a {@link Process},
 * `{ pid: 123 }`: that process's namespace of the kind asked).
 */
export type NamespaceRef = string | { readonly path: string; readonly kind?: string } | { readonly pid: number };

/** IdMapping: one line of /proc/PID/uid_map: `size` ids from `containerID` map to `hostID`. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** UserNamespaceOptions: a new user namespace; omitted maps map 0 to the caller's uid/gid (one id: `unshare -r`). */
export interface UserNamespaceOptions {
  uidMap?: readonly IdMapping[];
  gidMap?: readonly IdMapping[];
}

/** NamespacesSpec: which namespaces the process gets: `true` = a new one, a {@link NamespaceRef} = join that one, omitted = the caller's. */
export interface NamespacesSpec {
  pid?: boolean | NamespaceRef;
  mount?: boolean | NamespaceRef;
  uts?: boolean | NamespaceRef;
  ipc?: boolean | NamespaceRef;
  net?: boolean | NamespaceRef;
  cgroup?: boolean | NamespaceRef;
  /** Linux ≥ 5.6; see {@link SpawnSpec.timeOffsets}. */
  time?: boolean | NamespaceRef;
  /** `true` or `{}`: a new one mapping 0 to the caller; `{ uidMap, gidMap }`: explicit maps (ranges need /etc/subuid and newuidmap unless root). */
  user?: boolean | UserNamespaceOptions | NamespaceRef;
}

/** StdioItem: one stdio slot: a Node stream ('pipe'), the caller's own, /dev/null, an fd number, or a file (opened for reading on stdin, appending otherwise). */
export type StdioItem = 'pipe' | 'inherit' | 'ignore' | number | { file: string; flags?: string; mode?: number };

/** TtyOptions: a pseudo-terminal as stdin/stdout/stderr (`docker run -t`); `Process.stdout` reads it and `Process.stdin` writes it. */
export interface TtyOptions {
  tty: true;
  rows?: number;
  cols?: number;
}

/** RlimitSpec: an rlimit, as in OCI's `process.rlimits`: `{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }`. */
export interface RlimitSpec {
  type: string;
  soft: number | bigint | 'unlimited';
  hard: number | bigint | 'unlimited';
}

/**
 * SpawnSpec: the process to start and the namespaces, root, mounts and credentials it gets (the
 * process part and most of the linux part of an OCI runtime config.json). Everything is
 * optional but argv; what is omitted is inherited from the caller, like child_process.
 */
export interface SpawnSpec {
  /** Program and arguments; argv[0] without a slash is looked up in the spec's PATH inside the new root. */
  argv: readonly string[];
  /** Environment. Default: the caller's (`process.env`) without a rootfs; only PATH with one. */
  env?: Readonly<Record<string, string | undefined>> | readonly string[];
  /** Working directory (inside the rootfs). Default: '/' with a rootfs, else the caller's. */
  cwd?: string;
  namespaces?: NamespacesSpec;
  /** Needs namespaces.uts. */
  hostname?: string;
  /** NIS domain name; needs namespaces.uts. */
  domainname?: string;
  /** Directory to pivot_root into; needs a new mount namespace. */
  rootfs?: string;
  /** Propagation of the new mount namespace's mounts (recursive), default 'slave' as runc: host mounts still appear inside, nothing leaks out. */
  rootfsPropagation?: Propagation;
  /** Use MS_MOVE + chroot instead of pivot_root (for an initramfs root, where pivot_root is refused). */
  noPivotRoot?: boolean;
  /**
   * Remount the rootfs read-only inside the new mount namespace, after every mount (`docker run
   * --read-only`; the mounts on it keep their own flags). Needs a rootfs. Works rootless: nothing
   * is mounted in the caller's namespace.
   */
  readonlyRootfs?: boolean;
  /** Bring up `lo` in the new network namespace before exec (`ip link set lo up`, as `bwrap --unshare-net`). Needs namespaces.net: true. */
  loopback?: boolean;
  /** Mounts made before pivot_root, in order (see {@link DEFAULT_MOUNTS}). */
  mounts?: readonly MountSpec[];
  /** Device nodes; default {@link DEFAULT_DEVICES} (plus the /dev symlinks) when a tmpfs is mounted on /dev. */
  devices?: readonly DeviceSpec[];
  /** Paths bound read-only (see {@link DOCKER_READONLY_PATHS}). */
  readonlyPaths?: readonly string[];
  /** Paths hidden (see {@link DOCKER_MASKED_PATHS}). */
  maskedPaths?: readonly string[];
  /** Credentials of the program. Default: unchanged; uid/gid 0 in a new user namespace that maps 0. */
  user?: { uid: number; gid: number; additionalGids?: readonly number[] };
  /** Capabilities: a list (Docker semantics: bounding = effective = permitted) or the five sets. Default: unchanged. */
  capabilities?: readonly string[] | CapabilitySets;
  /** Sets no_new_privs (`docker run --security-opt no-new-privileges`). */
  noNewPrivileges?: boolean;
  rlimits?: readonly RlimitSpec[];
  umask?: number;
  /** Written to /proc/self/oom_score_adj (-1000 … 1000) before anything else. */
  oomScoreAdj?: number;
  /** Cgroups to join before exec: directories (each gets `0` written to its cgroup.procs), or a Cgroup of @stratum/cgroup. */
  cgroup?: string | readonly string[] | { readonly dirs: ReadonlyArray<{ readonly path: string }> };
  /** Keep the helper as PID 1: it reaps zombies and forwards signals (`docker run --init`). */
  init?: boolean;
  /** stdio: three slots (or one for all), or a pseudo-terminal. Default 'pipe' ×3. */
  stdio?: StdioItem | readonly [StdioItem, StdioItem, StdioItem] | TtyOptions;
  /** Aborting kills the process (SIGKILL) and, during spawn, rejects with an AbortError. */
  signal?: AbortSignal;
  /** Signal the process gets when the Node process exits (prctl PR_SET_PDEATHSIG). */
  parentDeathSignal?: NodeJS.Signals | number;
  /** Clock offsets of a new time namespace, in seconds. */
  timeOffsets?: { monotonic?: number; boottime?: number };
  /** Start the program in a new session (setsid); always done with a tty. */
  setsid?: boolean;
}

/** PreparedSpec: a normalized spec: what goes to the helper, plus what Node itself does. */
export interface PreparedSpec {
  wire: WireSpec;
  stdio: StdioItem[] | TtyOptions;
  /** Maps to write when the helper asks (new user namespace). */
  userMaps?: { uidMap: IdMapping[]; gidMap: IdMapping[] };
  /** Whether the helper forks (pid/time namespace or init) and stays as a monitor. */
  forks: boolean;
}

/** DEFAULT_PATH: the PATH a program gets in a new root when the spec gives no env (Docker's default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const RLIMITS: Record<string, number> = {
  CPU: 0,
  FSIZE: 1,
  DATA: 2,
  STACK: 3,
  CORE: 4,
  RSS: 5,
  NPROC: 6,
  NOFILE: 7,
  MEMLOCK: 8,
  AS: 9,
  LOCKS: 10,
  SIGPENDING: 11,
  MSGQUEUE: 12,
  NICE: 13,
  RTPRIO: 14,
  RTTIME: 15,
};

function noNul(s: unknown, what: string): string {
  if (typeof s !== 'string' || s.includes('\0')) throw new TypeError(`spawn: ${what} must be a string without NUL, got ${describe(s)}`);
  return s;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new TypeError(`spawn: ${what} must be an integer in ${min}..${max}, got ${describe(v)}`);
  return v;
}

function absolute(v: unknown, what: string): string {
  const s = noNul(v, what);
  if (!s.startsWith('/')) throw new TypeError(`spawn: ${what} must be an absolute path, got ${JSON.stringify(s)}`);
  return s;
}

/** signalNumber maps 'SIGTERM' or 15 to 15. */
export function signalNumber(sig: NodeJS.Signals | number, what: string): number {
  const n = typeof sig === 'number' ? sig : (osConstants.signals as Record<string, number>)[sig];
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 64) throw new TypeError(`spawn: ${what} must be a signal name or number, got ${describe(sig)}`);
  return n;
}

function isRef(v: unknown): v is NamespaceRef {
  return typeof v === 'string' || (v !== null && typeof v === 'object' && ('path' in v || 'pid' in v));
}

/** refPath turns a {@link NamespaceRef} into the path the helper opens. */
export function refPath(ref: NamespaceRef, kind: NamespaceKind): string {
  if (typeof ref === 'string') return absolute(ref, `namespaces.${kind}`);
  if ('path' in ref && ref.path !== undefined) {
    if (typeof ref.kind === 'string' && ref.kind !== kind && NS_PROC_NAME[ref.kind as NamespaceKind] !== undefined) {
      throw new TypeError(`spawn: namespaces.${kind} was given a ${ref.kind} namespace handle`);
    }
    return absolute(ref.path, `namespaces.${kind}.path`);
  }
  if ('pid' in ref) return `/proc/${int(ref.pid, `namespaces.${kind}.pid`, 1, 0x3fffffff)}/ns/${NS_PROC_NAME[kind]}`;
  throw new TypeError(`spawn: namespaces.${kind} must be true, a path, { path } or { pid }`);
}

function idMaps(v: unknown, what: string, dflt: number): IdMapping[] {
  if (v === undefined) return [{ containerID: 0, hostID: dflt, size: 1 }];
  if (!Array.isArray(v) || v.length === 0 || v.length > 340) throw new TypeError(`spawn: namespaces.user.${what} must be a non-empty array of { containerID, hostID, size }`);
  return v.map((m: IdMapping, i: number) => {
    if (m === null || typeof m !== 'object') throw new TypeError(`spawn: namespaces.user.${what}[${i}] must be an object`);
    return {
      containerID: int(m.containerID, `namespaces.user.${what}[${i}].containerID`, 0, 0xfffffffe),
      hostID: int(m.hostID, `namespaces.user.${what}[${i}].hostID`, 0, 0xfffffffe),
      size: int(m.size, `namespaces.user.${what}[${i}].size`, 1, 0xffffffff),
    };
  });
}

function rlimitValue(v: unknown, what: string): bigint {
  if (v === 'unlimited' || v === Infinity) return 0xffffffffffffffffn;
  if (typeof v === 'bigint' && v >= 0n && v <= 0xffffffffffffffffn) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new TypeError(`spawn: ${what} must be a non-negative integer or 'unlimited', got ${describe(v)}`);
}

function env(spec: SpawnSpec): string[] {
  const e = spec.env ?? (spec.rootfs !== undefined ? { PATH: DEFAULT_PATH } : process.env);
  if (Array.isArray(e)) return e.map((kv, i) => {
    const s = noNul(kv, `env[${i}]`);
    if (!s.includes('=')) throw new TypeError(`spawn: env[${i}] must be KEY=VALUE, got ${JSON.stringify(s)}`);
    return s;
  });
  if (e === null || typeof e !== 'object') throw new TypeError('spawn: env must be an object or an array of KEY=VALUE strings');
  const out: string[] = [];
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined) continue;
    if (k.includes('=') || k.includes('\0') || k === '') throw new TypeError(`spawn: env key ${JSON.stringify(k)} is invalid`);
    out.push(`${k}=${noNul(v, `env.${k}`)}`);
  }
  return out;
}

function cgroupProcs(c: SpawnSpec['cgroup']): string[] {
  if (c === undefined) return [];
  const dirs: unknown[] =
    typeof c === 'string' ? [c] : Array.isArray(c) ? c : c !== null && typeof c === 'object' && Array.isArray((c as { dirs?: unknown }).dirs) ? (c as { dirs: Array<{ path: unknown }> }).dirs.map((d) => d.path) : [undefined];
  return dirs.map((d, i) => `${absolute(d, `cgroup[${i}]`).replace(/\/+$/, '')}/cgroup.procs`);
}

function stdio(s: SpawnSpec['stdio']): StdioItem[] | TtyOptions {
  if (s === undefined) return ['pipe', 'pipe', 'pipe'];
  if (s !== null && typeof s === 'object' && !Array.isArray(s) && 'tty' in s) {
    if (s.tty !== true) throw new TypeError('spawn: stdio.tty must be true');
    return { tty: true, rows: int(s.rows ?? 24, 'stdio.rows', 1, 0xffff), cols: int(s.cols ?? 80, 'stdio.cols', 1, 0xffff) };
  }
  const items: unknown[] = Array.isArray(s) ? s : [s, s, s];
  if (items.length !== 3) throw new TypeError('spawn: stdio must have three entries (stdin, stdout, stderr)');
  return items.map((it, i) => {
    if (it === 'pipe' || it === 'inherit' || it === 'ignore') return it;
    if (typeof it === 'number') return int(it, `stdio[${i}]`, 0, 0x7fffffff);
    if (it !== null && typeof it === 'object' && 'file' in it) {
      const f = it as { file: unknown; flags?: unknown; mode?: unknown };
      noNul(f.file, `stdio[${i}].file`);
      if (f.flags !== undefined && typeof f.flags !== 'string') throw new TypeError(`spawn: stdio[${i}].flags must be an fs flags string ('r', 'a', 'w')`);
      if (f.mode !== undefined) int(f.mode, `stdio[${i}].mode`, 0, 0o7777);
      return it as StdioItem;
    }
    throw new TypeError(`spawn: stdio[${i}] must be 'pipe', 'inherit', 'ignore', an fd or { file }`);
  });
}

/**
 * prepareSpec validates a {@link SpawnSpec} (TypeError naming the field for anything wrong) and
 * reduces it to the helper's wire form. Pure: no I/O.
 */
export function prepareSpec(spec: SpawnSpec, extra: { enterRoot?: string } = {}): PreparedSpec {
  if (spec === null || typeof spec !== 'object') throw new TypeError('spawn: spec must be an object');
  if (!Array.isArray(spec.argv) || spec.argv.length === 0) throw new TypeError('spawn: argv must be a non-empty array of strings');
  const argv = spec.argv.map((a, i) => noNul(a, `argv[${i}]`));
  if (argv[0] === '') throw new TypeError('spawn: argv[0] must not be empty');

  let flags = 0;
  let nsNew = 0;
  const joins: WireSpec['joins'] = [];
  let userMaps: PreparedSpec['userMaps'];
  const ns = spec.namespaces ?? {};
  if (ns === null || typeof ns !== 'object') throw new TypeError('spawn: namespaces must be an object');
  for (const key of Object.keys(ns)) {
    if (!(key in CLONE_OF)) throw new TypeError(`spawn: unknown namespace ${JSON.stringify(key)} (one of ${NAMESPACE_KINDS.join(', ')})`);
  }
  const state: Partial<Record<NamespaceKind, 'new' | 'join'>> = {};
  for (const kind of NAMESPACE_KINDS) {
    const v = (ns as Record<string, unknown>)[kind];
    if (v === undefined || v === false) continue;
    if (kind === 'user' && (v === true || (v !== null && typeof v === 'object' && !isRef(v)))) {
      const o = (v === true ? {} : v) as UserNamespaceOptions;
      userMaps = {
        uidMap: idMaps(o.uidMap, 'uidMap', process.geteuid?.() ?? 0),
        gidMap: idMaps(o.gidMap, 'gidMap', process.getegid?.() ?? 0),
      };
      nsNew |= CLONE_OF.user;
      state.user = 'new';
    } else if (v === true) {
      nsNew |= CLONE_OF[kind];
      state[kind] = 'new';
    } else if (isRef(v)) {
      joins.push({ type: CLONE_OF[kind], path: refPath(v, kind) });
      state[kind] = 'join';
    } else {
      throw new TypeError(`spawn: namespaces.${kind} must be true, a path, a handle or { pid }`);
    }
  }

  if (!Array.isArray(spec.mounts ?? [])) throw new TypeError('spawn: mounts must be an array');
  if (!Array.isArray(spec.devices ?? [])) throw new TypeError('spawn: devices must be an array');
  const mounts = (spec.mounts ?? []).map((m, i) => wireMount(m, i));
  if (userMaps) {
    // `runc spec --rootless`: a uid=/gid= filesystem option (devpts' gid=5 for tty) naming an id
    // the new user namespace does not map makes the mount fail with EINVAL; drop it.
    const mapped = (maps: IdMapping[], id: number): boolean => maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
    for (const m of mounts) {
      if (!m.data) continue;
      m.data = m.data
        .split(',')
        .filter((o) => {
          const id = /^(uid|gid)=(\d+)$/.exec(o);
          return !id || mapped(id[1] === 'uid' ? userMaps!.uidMap : userMaps!.gidMap, Number(id[2]));
        })
        .join(',');
    }
  }
  const devTmpfs = mounts.some((m) => m.target.replace(/\/+$/, '') === '/dev' && m.fstype === 'tmpfs');
  const devices = (spec.devices ?? (devTmpfs ? DEFAULT_DEVICES : [])).map((d, i) => wireDevice(d, i));
  const symlinks = spec.devices === undefined && devTmpfs ? DEFAULT_DEV_SYMLINKS.map((l) => ({ ...l })) : [];
  const maskedPaths = (spec.maskedPaths ?? []).map((p, i) => absolute(p, `maskedPaths[${i}]`));
  const readonlyPaths = (spec.readonlyPaths ?? []).map((p, i) => absolute(p, `readonlyPaths[${i}]`));
  let rootfs: string | undefined;
  if (spec.rootfs !== undefined) rootfs = resolvePath(noNul(spec.rootfs, 'rootfs'));
  const mountWork = rootfs !== undefined || mounts.length > 0 || devices.length > 0 || maskedPaths.length > 0 || readonlyPaths.length > 0;
  if (mountWork && state.mount !== 'new') {
    throw new TypeError('spawn: rootfs, mounts, devices, maskedPaths and readonlyPaths need a new mount namespace (namespaces.mount: true)');
  }
  if ((spec.hostname !== undefined || spec.domainname !== undefined) && state.uts === undefined) {
    throw new TypeError('spawn: hostname/domainname need namespaces.uts (otherwise they would change the host\'s)');
  }
  const rootPropagation = state.mount === 'new' ? propagationFlags(spec.rootfsPropagation ?? 'slave') : 0;
  if (spec.noPivotRoot) flags |= FLAG.NO_PIVOT;
  if (spec.noPivotRoot && rootfs === undefined) throw new TypeError('spawn: noPivotRoot needs a rootfs');
  if (spec.readonlyRootfs !== undefined && typeof spec.readonlyRootfs !== 'boolean') throw new TypeError('spawn: readonlyRootfs must be a boolean');
  if (spec.readonlyRootfs) {
    if (rootfs === undefined) throw new TypeError('spawn: readonlyRootfs needs a rootfs');
    flags |= FLAG.READONLY_ROOT;
  }
  if (spec.loopback !== undefined && typeof spec.loopback !== 'boolean') throw new TypeError('spawn: loopback must be a boolean');
  if (spec.loopback) {
    if (state.net !== 'new') throw new TypeError('spawn: loopback needs a new network namespace (namespaces.net: true)');
    flags |= FLAG.LOOPBACK;
  }

  const wire: WireSpec = {
    argv,
    env: env(spec),
    flags: 0,
    nsNew,
    joins,
    rootPropagation,
    mounts,
    devices,
    symlinks,
    maskedPaths,
    readonlyPaths,
    rlimits: [],
    cgroups: cgroupProcs(spec.cgroup),
  };
  if (spec.cwd !== undefined) {
    wire.cwd = rootfs !== undefined ? absolute(spec.cwd, 'cwd') : resolvePath(noNul(spec.cwd, 'cwd'));
  }
  if (spec.hostname !== undefined) {
    wire.hostname = noNul(spec.hostname, 'hostname');
    if (Buffer.byteLength(wire.hostname) > 64) throw new TypeError('spawn: hostname must be at most 64 bytes');
  }
  if (spec.domainname !== undefined) {
    wire.domainname = noNul(spec.domainname, 'domainname');
    if (Buffer.byteLength(wire.domainname) > 64) throw new TypeError('spawn: domainname must be at most 64 bytes');
  }
  if (rootfs !== undefined) wire.rootfs = rootfs;
  if (spec.user !== undefined) {
    const u = spec.user;
    if (u === null || typeof u !== 'object') throw new TypeError('spawn: user must be { uid, gid, additionalGids? }');
    wire.user = { uid: int(u.uid, 'user.uid', 0, 0xfffffffe), gid: int(u.gid, 'user.gid', 0, 0xfffffffe) };
    if (u.additionalGids !== undefined) {
      if (!Array.isArray(u.additionalGids)) throw new TypeError('spawn: user.additionalGids must be an array');
      wire.groups = u.additionalGids.map((g, i) => int(g, `user.additionalGids[${i}]`, 0, 0xfffffffe));
    }
  } else if (userMaps && userMaps.uidMap.some((m) => m.containerID === 0) && userMaps.gidMap.some((m) => m.containerID === 0)) {
    // runc's default: the program is root of the new user namespace.
    wire.user = { uid: 0, gid: 0 };
  }
  if (spec.capabilities !== undefined) wire.caps = capabilityMasks(spec.capabilities);
  if (spec.noNewPrivileges) flags |= FLAG.NO_NEW_PRIVS;
  if (spec.rlimits !== undefined) {
    if (!Array.isArray(spec.rlimits)) throw new TypeError('spawn: rlimits must be an array');
    wire.rlimits = spec.rlimits.map((r, i) => {
      const name = typeof r?.type === 'string' ? r.type.toUpperCase().replace(/^RLIMIT_/, '') : '';
      const resource = RLIMITS[name];
      if (resource === undefined) throw new TypeError(`spawn: rlimits[${i}].type ${describe(r?.type)} is not an RLIMIT_* name`);
      const soft = rlimitValue(r.soft, `rlimits[${i}].soft`);
      const hard = rlimitValue(r.hard, `rlimits[${i}].hard`);
      if (soft > hard) throw new TypeError(`spawn: rlimits[${i}]: soft is above hard`);
      return { resource, soft, hard };
    });
  }
  if (spec.umask !== undefined) wire.umask = int(spec.umask, 'umask', 0, 0o777);
  if (spec.oomScoreAdj !== undefined) wire.oomScoreAdj = int(spec.oomScoreAdj, 'oomScoreAdj', -1000, 1000);
  if (spec.parentDeathSignal !== undefined) wire.pdeathsig = signalNumber(spec.parentDeathSignal, 'parentDeathSignal');
  if (spec.timeOffsets !== undefined) {
    if (state.time !== 'new') throw new TypeError('spawn: timeOffsets need a new time namespace (namespaces.time: true)');
    const o = spec.timeOffsets;
    const secs = (v: unknown, what: string): number => {
      if (v === undefined) return 0;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`spawn: timeOffsets.${what} must be whole seconds`);
      return v;
    };
    wire.timensOffsets = `monotonic ${secs(o.monotonic, 'monotonic')} 0\nboottime ${secs(o.boottime, 'boottime')} 0\n`;
  }
  if (spec.init !== undefined && typeof spec.init !== 'boolean') throw new TypeError('spawn: init must be a boolean');
  if (spec.init) flags |= FLAG.INIT;
  if (spec.setsid) flags |= FLAG.SETSID;
  if (extra.enterRoot !== undefined) wire.enterRoot = extra.enterRoot;
  const io = stdio(spec.stdio);
  if (!Array.isArray(io)) {
    flags |= FLAG.TTY;
    wire.tty = { rows: io.rows ?? 24, cols: io.cols ?? 80 };
  }
  if (spec.signal !== undefined && !(spec.signal instanceof AbortSignal)) throw new TypeError('spawn: signal must be an AbortSignal');
  wire.flags = flags;
  const forks = Boolean(spec.init) || state.pid !== undefined || state.time === 'new';
  const out: PreparedSpec = { wire, stdio: io, forks };
  if (userMaps) out.userMaps = userMaps;
  return out;
}

