import type { Digest } from './digest.js';
import type { MediaTypeString } from './media-types.js';

/** Platform: the platform of an image, as in an index entry or a config (`linux/arm64/v8`). */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

/** Descriptor points at content by digest, as in the OCI image spec. */
export interface Descriptor {
  mediaType: MediaTypeString;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

/** ImageManifest: an OCI image manifest or a Docker v2.2 manifest (same shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: MediaTypeString;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** ImageIndexManifest: an OCI image index or a Docker manifest list (same shape). */
export interface ImageIndexManifest {
  schemaVersion: 2;
  mediaType?: MediaTypeString;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/**
 * DockerManifestV2: a Docker image manifest v2 schema 2 (`application/vnd.docker.distribution.manifest.v2+json`):
 * an {@link ImageManifest} whose `mediaType` is required; layers are
 * `application/vnd.docker.image.rootfs.diff.tar.gzip` (or the foreign type, with `urls`).
 */
export interface DockerManifestV2 extends ImageManifest {
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json';
}

/**
 * DockerManifestList: a Docker manifest list (`application/vnd.docker.distribution.manifest.list.v2+json`): an
 * {@link ImageIndexManifest} whose entries all carry a `platform`.
 */
export interface DockerManifestList extends ImageIndexManifest {
  mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json';
  manifests: Array<Descriptor & { platform: Platform }>;
}

/** ContainerConfig: the runtime part of an image config (OCI `config`, Docker's `config`/`container_config`). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  // Docker-only fields, kept when present.
  Hostname?: string;
  Domainname?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Image?: string;
  OnBuild?: string[] | null;
  Shell?: string[];
  /** Docker's health check; durations in nanoseconds. */
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  StopTimeout?: number;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  // Reserved by the OCI spec for compatibility with Docker.
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
}

/** History: one entry of an image's history (`docker history`). */
export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** RootFS: the rootfs section of an image config: the uncompressed layer digests, bottom first. */
export interface RootFS {
  type: 'layers';
  diff_ids: Digest[];
}

/** ImageConfig: an OCI image config, with Docker's additional fields. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: RootFS;
  history?: History[];
  // Docker's legacy fields.
  container?: string;
  container_config?: ContainerConfig;
  docker_version?: string;
  comment?: string;
  [extra: string]: unknown;
}

/** OciLayout: the content of an image layout's `oci-layout` file. */
export interface OciLayout {
  imageLayoutVersion: string;
}

/**
 * RuntimeSpec: the OCI runtime-spec `config.json` essentials (runtime-spec 1.2, the fields Stratum writes and
 * reads; runc and crun accept it as a bundle's `config.json`).
 */
export interface RuntimeSpec {
  ociVersion: string;
  process?: RuntimeProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: RuntimeMount[];
  hooks?: RuntimeHooks;
  annotations?: Record<string, string>;
  linux?: RuntimeLinux;
}

/** RuntimeProcess: the process a container runs (`process` of the runtime spec). */
export interface RuntimeProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: RuntimeUser;
  args?: string[];
  /** Windows only: the command line as one string. */
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: {
    bounding?: string[];
    effective?: string[];
    inheritable?: string[];
    permitted?: string[];
    ambient?: string[];
  };
  rlimits?: RuntimeRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  scheduler?: { policy: string; nice?: number; priority?: number; flags?: string[]; runtime?: number; deadline?: number; period?: number };
  ioPriority?: { class: 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE'; priority: number };
  execCPUAffinity?: { initial?: string; final?: string };
}

/** RuntimeUser: the user a container process runs as (POSIX). */
export interface RuntimeUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

/** RuntimeRlimit: one resource limit (`RLIMIT_NOFILE`…), as setrlimit(2) takes it. */
export interface RuntimeRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** RuntimeMount: a mount in a container (`mounts[]`): `options` as mount(8) takes them (`bind`, `ro`, `nosuid`…). */
export interface RuntimeMount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

/** RuntimeHook: a hook the runtime runs at a lifecycle point. `timeout` in seconds. */
export interface RuntimeHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

/** RuntimeHooks: the hooks of a container, by lifecycle point (`prestart` is deprecated in favour of the three create/start ones). */
export interface RuntimeHooks {
  prestart?: RuntimeHook[];
  createRuntime?: RuntimeHook[];
  createContainer?: RuntimeHook[];
  startContainer?: RuntimeHook[];
  poststart?: RuntimeHook[];
  poststop?: RuntimeHook[];
}

/** IdMapping: a uid/gid range mapping of a user namespace (as in /proc/PID/uid_map). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** NamespaceType: the Linux namespace types of the runtime spec. */
export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

/** RuntimeDevice: a device node created in the container (`linux.devices[]`); `type` is `c`, `b`, `u` or `p`. */
export interface RuntimeDevice {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** RuntimeDeviceRule: a device cgroup rule (`linux.resources.devices[]`); `access` is a subset of `rwm`. */
export interface RuntimeDeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** RuntimeThrottleDevice: a per-device block IO throttle (`rate` in bytes or operations per second). */
export interface RuntimeThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

/** RuntimeResources: cgroup resource limits (`linux.resources`). Memory in bytes (-1 unlimited), CPU quota/period in µs. */
export interface RuntimeResources {
  devices?: RuntimeDeviceRule[];
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    kernel?: number;
    kernelTCP?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
    useHierarchy?: boolean;
    checkBeforeUpdate?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    burst?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
    idle?: number;
  };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    leafWeight?: number;
    weightDevice?: Array<{ major: number; minor: number; weight?: number; leafWeight?: number }>;
    throttleReadBpsDevice?: RuntimeThrottleDevice[];
    throttleWriteBpsDevice?: RuntimeThrottleDevice[];
    throttleReadIOPSDevice?: RuntimeThrottleDevice[];
    throttleWriteIOPSDevice?: RuntimeThrottleDevice[];
  };
  hugepageLimits?: Array<{ pageSize: string; limit: number }>;
  network?: { classID?: number; priorities?: Array<{ name: string; priority: number }> };
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  /** cgroup v2 files to write, by name (`memory.high`). */
  unified?: Record<string, string>;
}

/** RuntimeSeccomp: a seccomp filter (`linux.seccomp`), as runc and crun take it. */
export interface RuntimeSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: Array<{
    names: string[];
    action: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
  }>;
}

/** RuntimeLinux: the Linux section of the runtime spec. */
export interface RuntimeLinux {
  namespaces?: Array<{ type: NamespaceType; path?: string }>;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  timeOffsets?: Record<string, { secs?: number; nanosecs?: number }>;
  devices?: RuntimeDevice[];
  cgroupsPath?: string;
  resources?: RuntimeResources;
  sysctl?: Record<string, string>;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: RuntimeSeccomp;
  mountLabel?: string;
  intelRdt?: { closID?: string; l3CacheSchema?: string; memBwSchema?: string };
  personality?: { domain: string; flags?: string[] };
}
