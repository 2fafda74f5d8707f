import type { Readable, Writable } from 'node:stream';
import { parsePortSpec, parseExtraHost, type PortSpec } from '@stratum/netns';
import { CAPABILITY_NAMES } from '@stratum/namespace';
import type { DriverName } from '@stratum/union-fs';
import type { CommandInput } from './command.js';
import type { EnvInput } from './env.js';
import { validateContainerName } from './ids.js';
import type { ResourcesSpec } from './resources.js';

/** ContainerLike: a container (or anything with an id) to share a network namespace or volumes with. */
export interface ContainerLike {
  readonly id: string;
}

/**
 * NetworkSpec: `docker run --network`: `'bridge'` (the default network; root only), `'host'`,
 * `'none'`, `'slirp4netns'` (user-mode networking, podman's rootless default), the name of a
 * user-defined bridge network, `'container:NAME|ID'` or `{ container }` (share another running
 * container's network namespace). Default: `'bridge'` as root; without root `'slirp4netns'`
 * where it is installed, else `'none'`.
 */
export type NetworkSpec = 'bridge' | 'host' | 'none' | 'slirp4netns' | (string & {}) | { container: ContainerLike | string };

/**
 * ContainerSpec: what `docker create`/`docker run` takes. Only `image` (or `rootfs`) is required;
 * the rest defaults like Docker's.
 */
export interface ContainerSpec {
  /** Image reference in the runtime's store (pulled when missing and a registry answers). */
  image?: string;
  /** Instead of an image: a directory used as the root filesystem's only (read-only) lower layer, like `podman run --rootfs`. */
  rootfs?: string;
  /** Unique name (`--name`); default a generated `adjective_scientist`. */
  name?: string;
  /** Command (`docker run IMAGE CMD…`): array = exec form, string = shell form (`/bin/sh -c`). */
  cmd?: CommandInput;
  /** `--entrypoint`; `''` or `[]` clears the image's. A new entrypoint discards the image's Cmd. */
  entrypoint?: CommandInput;
  /** `-e`: added to / replacing the image's Env; a bare `KEY` or an undefined value removes one. */
  env?: EnvInput;
  /** `-w`: working directory, created when missing. */
  workdir?: string;
  /** `-u`: `name`, `uid`, `uid:gid`, `name:group` … resolved in the container's /etc/passwd and /etc/group. */
  user?: string;
  /** `--group-add`: more supplementary groups (names or gids). */
  groupAdd?: string[];
  /** `-h`: hostname; default the short id (the host's with `network: 'host'`). */
  hostname?: string;
  /** `--domainname`. */
  domainname?: string;
  /** `--add-host NAME:IP` entries for /etc/hosts (`host-gateway` = the bridge gateway). */
  addHosts?: string[];
  /** `--dns`: nameservers for /etc/resolv.conf (default: the host's, without loopback ones). */
  dns?: string[];
  /** `--dns-search`. */
  dnsSearch?: string[];
  /** `--dns-option`. */
  dnsOptions?: string[];
  /** `--label KEY=VALUE`: merged over the image's Labels. */
  labels?: Record<string, string>;
  /** `--network`; default `'bridge'` (without root: `'slirp4netns'` where installed, else `'none'`). */
  network?: NetworkSpec;
  /** `-p [IP:]HOST:CONTAINER[/udp]` (bridge and slirp4netns networks). */
  ports?: PortSpec[];
  /** `-v` entries: `/host:/ctr[:ro]`, `name:/ctr`, `/ctr` (anonymous volume). */
  volumes?: string[];
  /** `--mount` entries (`type=bind,source=…,target=…`). */
  mounts?: string[];
  /** `--volumes-from NAME[:ro|:rw]`. */
  volumesFrom?: string[];
  /** `--tmpfs /path[:options]`, or `{ '/path': 'size=64m' }`. */
  tmpfs?: string[] | Record<string, string>;
  /** `--read-only`: the root filesystem is mounted read-only. */
  readOnly?: boolean;
  /**
   * The storage driver of the root filesystem (`podman --storage-driver`): `'overlay'`,
   * `'fuse-overlayfs'` or `'vfs'` (full copies). Default: the runtime's `driver` option, else the
   * best one that works here (@stratum/union-fs `selectDriver`). Recorded at create; a forced driver
   * that cannot work here fails the create with DriverUnavailableError.
   */
  driver?: DriverName;
  /** `-m`, `--memory-swap`, `--cpus`, `--cpu-shares`, `--cpuset-cpus`, `--pids-limit`. */
  resources?: ResourcesSpec;
  /** `--init`: an init as PID 1 reaps zombies and forwards signals. */
  init?: boolean;
  /** `-t`: a pseudo-terminal. */
  tty?: boolean;
  /** `-i`: keep stdin open (give `stdin` to start/run to feed it). */
  interactive?: boolean;
  /** `--rm`: removed when it exits — and killed when the Node process that started it dies. */
  autoRemove?: boolean;
  /**
   * `-d`: run under a detached monitor process (a small `node` process of this package) that keeps
   * writing the logs and records the exit status after the calling process exits. Default false:
   * the calling process is the monitor.
   */
  detach?: boolean;
  /** `--stop-signal`; default the image's StopSignal, else SIGTERM. */
  stopSignal?: string;
  /** `--stop-timeout` in seconds; default 10. */
  stopTimeout?: number;
  /** `--cap-add` (names as `CAP_NET_ADMIN` or `NET_ADMIN`, or `ALL`). */
  capAdd?: string[];
  /** `--cap-drop`. */
  capDrop?: string[];
}

/** StartIO: where a container's stdio goes besides its log (not recorded: only for the process that starts it). */
export interface StartIO {
  /** Fed to the container's stdin (needs `interactive: true`). */
  stdin?: Readable;
  /** Gets a copy of the container's stdout (with a tty: the terminal's output). */
  stdout?: Writable;
  /** Gets a copy of the container's stderr. */
  stderr?: Writable;
  /** Terminal size with `tty: true`. */
  rows?: number;
  cols?: number;
}

function strings(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.includes('\0'))) throw new TypeError(`${what} must be an array of strings`);
  return [...(v as string[])];
}

function capName(c: string, what: string): string {
  const up = c.toUpperCase();
  if (up === 'ALL') return 'ALL';
  const n = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!(CAPABILITY_NAMES as readonly string[]).includes(n)) throw new TypeError(`${what}: unknown capability ${JSON.stringify(c)}`);
  return n;
}

/** CheckedSpec: a validated spec, its lists copied. */
export interface CheckedSpec extends ContainerSpec {
  name?: string;
  addHosts: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  groupAdd: string[];
  volumes: string[];
  mounts: string[];
  volumesFrom: string[];
  capAdd: string[];
  capDrop: string[];
  labels: Record<string, string>;
  ports: Array<{ host: number; container: number; protocol: 'tcp' | 'udp'; hostIp: string }>;
  tmpfs: Record<string, string>;
}

/**
 * checkSpec validates a {@link ContainerSpec} before anything is made: TypeError naming the
 * field for anything malformed. Pure.
 */
export function checkSpec(spec: ContainerSpec): CheckedSpec {
  if (spec === null || typeof spec !== 'object') throw new TypeError('container spec must be an object');
  if (spec.image === undefined && spec.rootfs === undefined) throw new TypeError('container spec needs an image (or a rootfs directory)');
  if (spec.image !== undefined && spec.rootfs !== undefined) throw new TypeError('container spec takes an image or a rootfs, not both');
  if (spec.image !== undefined && (typeof spec.image !== 'string' || spec.image === '')) throw new TypeError('image must be a non-empty reference string');
  if (spec.rootfs !== undefined && (typeof spec.rootfs !== 'string' || !spec.rootfs.startsWith('/'))) throw new TypeError('rootfs must be an absolute directory path');
  const out: CheckedSpec = {
    ...spec,
    addHosts: strings(spec.addHosts, 'addHosts'),
    dns: strings(spec.dns, 'dns'),
    dnsSearch: strings(spec.dnsSearch, 'dnsSearch'),
    dnsOptions: strings(spec.dnsOptions, 'dnsOptions'),
    groupAdd: strings(spec.groupAdd, 'groupAdd'),
    volumes: strings(spec.volumes, 'volumes'),
    mounts: strings(spec.mounts, 'mounts'),
    volumesFrom: strings(spec.volumesFrom, 'volumesFrom'),
    capAdd: strings(spec.capAdd, 'capAdd').map((c) => capName(c, 'capAdd')),
    capDrop: strings(spec.capDrop, 'capDrop').map((c) => capName(c, 'capDrop')),
    labels: {},
    ports: [],
    tmpfs: {},
  };
  if (spec.name !== undefined) out.name = validateContainerName(spec.name);
  for (const h of out.addHosts) parseExtraHost(h);
  if (spec.labels !== undefined) {
    if (spec.labels === null || typeof spec.labels !== 'object') throw new TypeError('labels must be an object of strings');
    for (const [k, v] of Object.entries(spec.labels)) {
      if (typeof v !== 'string') throw new TypeError(`labels.${k} must be a string`);
      out.labels[k] = v;
    }
  }
  if (spec.ports !== undefined) {
    if (!Array.isArray(spec.ports)) throw new TypeError('ports must be an array');
    out.ports = spec.ports.map((p) => parsePortSpec(p));
  }
  if (spec.tmpfs !== undefined) {
    if (Array.isArray(spec.tmpfs)) {
      for (const t of strings(spec.tmpfs, 'tmpfs')) {
        const i = t.indexOf(':');
        const path = i < 0 ? t : t.slice(0, i);
        if (!path.startsWith('/')) throw new TypeError(`tmpfs ${JSON.stringify(t)}: the path must be absolute`);
        out.tmpfs[path] = i < 0 ? '' : t.slice(i + 1);
      }
    } else if (spec.tmpfs !== null && typeof spec.tmpfs === 'object') {
      for (const [p, o] of Object.entries(spec.tmpfs)) {
        if (!p.startsWith('/') || typeof o !== 'string') throw new TypeError(`tmpfs.${p}: an absolute path with an options string`);
        out.tmpfs[p] = o;
      }
    } else throw new TypeError('tmpfs must be an array of /path[:options] or an object');
  }
  for (const [k, t] of [['workdir', spec.workdir], ['user', spec.user], ['hostname', spec.hostname], ['domainname', spec.domainname], ['stopSignal', spec.stopSignal]] as const) {
    if (t !== undefined && (typeof t !== 'string' || t.includes('\0'))) throw new TypeError(`${k} must be a string`);
  }
  if (spec.workdir !== undefined && spec.workdir !== '' && !spec.workdir.startsWith('/')) throw new TypeError(`workdir must be absolute, got ${JSON.stringify(spec.workdir)}`);
  if (spec.hostname !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(spec.hostname)) throw new TypeError(`invalid hostname ${JSON.stringify(spec.hostname)}`);
  if (spec.stopTimeout !== undefined && (!Number.isInteger(spec.stopTimeout) || spec.stopTimeout < -1)) throw new TypeError('stopTimeout must be an integer number of seconds (-1 = wait forever)');
  for (const k of ['readOnly', 'init', 'tty', 'interactive', 'autoRemove', 'detach'] as const) {
    if (spec[k] !== undefined && typeof spec[k] !== 'boolean') throw new TypeError(`${k} must be a boolean`);
  }
  checkDriverName(spec.driver, 'driver');
  const net = spec.network;
  if (net !== undefined && typeof net !== 'string' && !(net !== null && typeof net === 'object' && 'container' in net)) {
    throw new TypeError("network must be 'bridge', 'host', 'none', a network name, 'container:NAME' or { container }");
  }
  if (out.ports.length > 0 && (net === 'host' || net === 'none' || (typeof net === 'object') || (typeof net === 'string' && net.startsWith('container:')))) {
    throw new TypeError('ports can only be published on a bridge network');
  }
  return out;
}

/** checkDriverName: TypeError unless `v` is undefined or a storage driver name (`overlay`, `fuse-overlayfs`, `vfs`). */
export function checkDriverName(v: unknown, what: string): DriverName | undefined {
  if (v === undefined) return undefined;
  if (v !== 'overlay' && v !== 'fuse-overlayfs' && v !== 'vfs') throw new TypeError(`${what} must be 'overlay', 'fuse-overlayfs' or 'vfs', got ${JSON.stringify(v)}`);
  return v;
}
