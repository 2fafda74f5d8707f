/**
 * The on-disk records of a container under the state dir: `containers/<id>/config.json` (what it
 * was created with: Docker's Config and HostConfig shapes plus what the image resolved to; written
 * once at create) and `containers/<id>/state.json` (its State and every kernel object it holds
 * while running: pid, mounts, cgroup, network endpoint, ports; replaced atomically at every
 * transition, so that another process or a later `gc()` sees the truth).
 */
import { join } from 'node:path';
import type { ContainerConfig } from '@stratum/oci';
import type { DriverName } from '@stratum/union-fs';
import type { VolumeMount } from '@stratum/volume';
import type { ProcessRef } from './fsutil.js';
import type { NormalizedResources } from './resources.js';

/** PortBinding: one published port as Docker's HostConfig.PortBindings / NetworkSettings.Ports show it. */
export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/** HostConfigRecord: the `docker inspect` HostConfig fields this runtime uses (the resource limits as {@link NormalizedResources}). */
export interface HostConfigRecord extends NormalizedResources {
  Binds: string[] | null;
  NetworkMode: string;
  PortBindings: Record<string, PortBinding[]>;
  AutoRemove: boolean;
  VolumesFrom: string[] | null;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  Dns: string[];
  DnsOptions: string[];
  DnsSearch: string[];
  ExtraHosts: string[] | null;
  GroupAdd: string[] | null;
  ReadonlyRootfs: boolean;
  Tmpfs: Record<string, string> | null;
  Init: boolean;
  Privileged: boolean;
  /** `--mount` entries as given (normalized). */
  Mounts?: unknown[];
}

/** ImageRecord: what the image resolved to at create time. */
export interface ImageRecord {
  /** The reference as given (`busybox:latest`), shown as Config.Image. */
  ref: string;
  /** The image's config digest (Docker's image id), shown as Image. */
  id: string;
  /** The manifest digest. */
  manifest: string;
  /** The layers' diffIDs, bottom first: the lower dirs of the overlay. */
  diffIDs: string[];
}

/** ContainerRecord: `config.json`: everything a container was created with. Immutable after create. */
export interface ContainerRecord {
  version: 1;
  Id: string;
  /** Without the leading slash. */
  Name: string;
  Created: string;
  /** The program (argv[0]) and its arguments, as Docker's Path/Args. */
  Path: string;
  Args: string[];
  Config: ContainerConfig & { Env: string[]; Labels: Record<string, string>; Hostname: string; Domainname: string; User: string; WorkingDir: string };
  HostConfig: HostConfigRecord;
  /** The image, when created from one. */
  image?: ImageRecord;
  /** A root directory given instead of an image (the root filesystem's only layer below the init layer). */
  rootfs?: string;
  /** The init layer its image's containers share (absent: its own, `init/` in its directory). */
  initLayer?: string;
  /**
   * The storage driver of its root filesystem (@stratum/union-fs), chosen at create; absent in
   * records written before drivers were recorded (those are overlay).
   */
  driver?: DriverName;
  /** The network mode resolved: `bridge:<network>`, `host`, `none`, `container:<id>`, `slirp4netns`. */
  network: { mode: 'bridge' | 'host' | 'none' | 'container' | 'slirp4netns'; name?: string; container?: string; ports: Array<{ host: number; container: number; protocol: 'tcp' | 'udp'; hostIp: string }> };
  /** Run by a detached monitor process (true) or by the process that starts it. */
  detach: boolean;
  /** The volumes resolved at create: what `Mounts` shows (Docker's field names), with the spawn mounts. */
  mounts: MountRecord[];
}

/** MountRecord: one mount of the container (Docker's `Mounts` entry, @stratum/volume's VolumeMount) and the spawn mount made from it. */
export interface MountRecord extends Omit<VolumeMount, 'Spec'> {
  /** The OCI-style mount handed to spawn. */
  spawn: { destination: string; type?: string; source?: string; options?: string[] };
  /** The volume spec it was made from (for volumesFrom). */
  Spec?: unknown;
}

/** ContainerStatus: Docker's State.Status values. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** EndpointRecord: the endpoint a running container has on a bridge network. */
export interface EndpointRecord {
  network: string;
  attachmentId: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  hostIfname: string;
  ports: Array<{ host: number; container: number; protocol: 'tcp' | 'udp'; hostIp: string }>;
}

/** StateRecord: `state.json`: Docker's State fields plus the kernel objects held while running. */
export interface StateRecord {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  /** Host pid of the container's first process (its init with `init: true`); 0 when not running. */
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  RestartCount: number;
  /** The process that writes the logs and records the exit (this library in some Node process). */
  monitor?: ProcessRef;
  /** The container's first process, with its start time (pid reuse). */
  process?: ProcessRef;
  /** Kernel objects held while running (what gc() removes when the monitor died). */
  held?: {
    /** The mount of the root filesystem (the driver's: overlay, fuse-overlayfs, or vfs's nodev bind). */
    rootfs?: string;
    /** Its storage driver. */
    driver?: DriverName;
    /** The cgroup path relative to the hierarchy roots. */
    cgroup?: string;
    /** The bridge endpoint. */
    endpoint?: EndpointRecord;
  };
}

/** ContainerPaths: where a container's files live under the state dir. */
export interface ContainerPaths {
  dir: string;
  config: string;
  state: string;
  log: string;
  lock: string;
  hosts: string;
  hostname: string;
  resolvConf: string;
  /** Mount points and files Docker's "init layer" holds (/proc, /dev, /etc/hosts …), the top layer below the container's changes. */
  init: string;
}

/** containerPaths lays out `<root>/containers/<id>/`. Pure. */
export function containerPaths(root: string, id: string): ContainerPaths {
  const dir = join(root, 'containers', id);
  return {
    dir,
    config: join(dir, 'config.json'),
    state: join(dir, 'state.json'),
    log: join(dir, `${id}-json.log`),
    lock: join(root, 'containers', '.locks', id),
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
    resolvConf: join(dir, 'resolv.conf'),
    init: join(dir, 'init'),
  };
}

/** initialState is the State of a container just created. */
export function initialState(): StateRecord {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: '0001-01-01T00:00:00Z',
    FinishedAt: '0001-01-01T00:00:00Z',
    RestartCount: 0,
  };
}
