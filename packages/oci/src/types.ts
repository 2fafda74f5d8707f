import type { Digest } from './digest.js';
import type { MediaTypeString } from './media-types.js';

/** Platform of an image, as in an index entry or a config (`linux/arm64/v8`). */
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

/** An OCI image manifest or a Docker v2.2 manifest (same shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: MediaTypeString;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index or a Docker manifest list (same shape). */
export interface ImageIndexManifest {
  schemaVersion: 2;
  mediaType?: MediaTypeString;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The runtime part of an image config (OCI `config`, Docker's `config`/`container_config`). */
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
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
  StopTimeout?: number;
}

/** One entry of an image's history (`docker history`). */
export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The rootfs section of an image config: the uncompressed layer digests, bottom first. */
export interface RootFS {
  type: 'layers';
  diff_ids: Digest[];
}

/** An OCI image config, with Docker's additional fields. */
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

/** `oci-layout` file content. */
export interface OciLayout {
  imageLayoutVersion: string;
}

/** OCI runtime-spec `config.json` essentials (what Stratum writes and reads). */
export interface RuntimeSpec {
  ociVersion: string;
  process?: RuntimeProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: RuntimeMount[];
  hooks?: Record<string, Array<{ path: string; args?: string[]; env?: string[]; timeout?: number }>>;
  annotations?: Record<string, string>;
  linux?: RuntimeLinux;
}

export interface RuntimeProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[]; username?: string };
  args?: string[];
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
  rlimits?: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface RuntimeMount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface RuntimeLinux {
  namespaces?: Array<{ type: NamespaceType; path?: string }>;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  devices?: Array<{ type: string; path: string; major?: number; minor?: number; fileMode?: number; uid?: number; gid?: number }>;
  cgroupsPath?: string;
  resources?: {
    devices?: Array<{ allow: boolean; type?: string; major?: number; minor?: number; access?: string }>;
    memory?: { limit?: number; reservation?: number; swap?: number; kernel?: number; swappiness?: number; disableOOMKiller?: boolean };
    cpu?: { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string };
    pids?: { limit: number };
    blockIO?: { weight?: number };
    unified?: Record<string, string>;
  };
  sysctl?: Record<string, string>;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: unknown;
  mountLabel?: string;
}
