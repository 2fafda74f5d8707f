/**
 * `docker inspect` / `docker ps` shapes of a container, built from its records. Field names are
 * Docker's, so that `inspect -f '{{.NetworkSettings.IPAddress}}'` style selections work as users
 * know them.
 */
import type { ContainerConfig } from '@stratum/oci';
import type { ContainerPaths, ContainerRecord, HostConfigRecord, PortBinding, StateRecord } from './record.js';
import { driverOf, rootfsDirs } from './rootfs.js';
import { containerHostname } from './process-spec.js';

/**
 * GraphDriverData: `GraphDriver.Data` of {@link ContainerInspect}: the layer dirs (`LowerDir`, init
 * layer first, `:`-joined as Docker's overlay2 shows them) and where the root is (`MergedDir`); the
 * union drivers' `UpperDir`/`WorkDir`, vfs's `BaseDir` (the untouched copy `diff()` compares with).
 */
export interface GraphDriverData {
  LowerDir: string;
  MergedDir: string;
  UpperDir?: string;
  WorkDir?: string;
  BaseDir?: string;
}

/** ContainerInspect: what {@link Container.inspect} returns (Docker's `docker container inspect` fields). */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: Omit<StateRecord, 'RestartCount' | 'monitor' | 'process' | 'held'>;
  /** The image id (config digest), '' for a rootfs directory. */
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  HostConfig: HostConfigRecord & { LogConfig: { Type: string; Config: Record<string, string> }; CgroupParent: string };
  /** The storage driver (`overlay`, `fuse-overlayfs`, `vfs`) and its directories. */
  GraphDriver: { Name: string; Data: GraphDriverData };
  Mounts: Array<{ Type: string; Name?: string; Source: string; Destination: string; Driver?: string; Mode: string; RW: boolean; Propagation: string }>;
  Config: ContainerConfig;
  NetworkSettings: {
    Bridge: string;
    SandboxKey: string;
    Ports: Record<string, PortBinding[] | null>;
    Gateway: string;
    IPAddress: string;
    IPPrefixLen: number;
    MacAddress: string;
    Networks: Record<string, { NetworkID: string; EndpointID: string; Gateway: string; IPAddress: string; IPPrefixLen: number; MacAddress: string; Aliases: string[] | null }>;
  };
}

/** portBindings turns published ports into HostConfig.PortBindings (`{"80/tcp": [{HostIp, HostPort}]}`). Pure. */
export function portBindings(ports: ContainerRecord['network']['ports']): Record<string, PortBinding[]> {
  const out: Record<string, PortBinding[]> = {};
  for (const p of ports) {
    const key = `${p.container}/${p.protocol}`;
    (out[key] ??= []).push({ HostIp: p.hostIp === '0.0.0.0' ? '' : p.hostIp, HostPort: String(p.host) });
  }
  return out;
}

/** inspectOf builds the inspect document of a container from its records; `layers` are its root filesystem's layers, top (init) first. Pure. */
export function inspectOf(rec: ContainerRecord, st: StateRecord, paths: ContainerPaths, layers: readonly string[], cgroupParent = ''): ContainerInspect {
  const ep = st.held?.endpoint;
  const ports: Record<string, PortBinding[] | null> = {};
  for (const k of Object.keys(rec.Config.ExposedPorts ?? {})) ports[k] = null;
  if (st.Running) for (const [k, v] of Object.entries(portBindings(ep?.ports ?? []))) ports[k] = v.map((b) => ({ HostIp: b.HostIp || '0.0.0.0', HostPort: b.HostPort }));
  const networks: ContainerInspect['NetworkSettings']['Networks'] = {};
  if (rec.network.mode === 'bridge') {
    networks[rec.network.name!] = {
      NetworkID: '',
      EndpointID: st.Running ? ep?.attachmentId ?? '' : '',
      Gateway: st.Running ? ep?.gateway ?? '' : '',
      IPAddress: st.Running ? ep?.ip ?? '' : '',
      IPPrefixLen: st.Running ? ep?.prefixLen ?? 0 : 0,
      MacAddress: st.Running ? ep?.mac ?? '' : '',
      Aliases: null,
    };
  } else if (rec.network.mode !== 'container') {
    networks[rec.network.mode] = { NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '', Aliases: null };
  }
  const live = st.Running && ep !== undefined;
  const driver = driverOf(rec);
  const dirs = rootfsDirs(paths, rec);
  return {
    Id: rec.Id,
    Created: rec.Created,
    Path: rec.Path,
    Args: rec.Args,
    State: (({ RestartCount: _r, monitor: _m, process: _p, held: _h, ...docker }) => docker)(st),
    Image: rec.image?.id ?? '',
    ResolvConfPath: paths.resolvConf,
    HostnamePath: paths.hostname,
    HostsPath: paths.hosts,
    LogPath: paths.log,
    Name: `/${rec.Name}`,
    RestartCount: st.RestartCount,
    Driver: driver,
    Platform: 'linux',
    HostConfig: { ...rec.HostConfig, LogConfig: { Type: 'json-file', Config: {} }, CgroupParent: cgroupParent },
    GraphDriver: {
      Name: driver,
      Data: {
        LowerDir: layers.join(':'),
        MergedDir: dirs.merged,
        ...(dirs.upper !== undefined ? { UpperDir: dirs.upper } : {}),
        ...(dirs.work !== undefined ? { WorkDir: dirs.work } : {}),
        ...(dirs.base !== undefined ? { BaseDir: dirs.base } : {}),
      },
    },
    Mounts: rec.mounts.map(({ spawn: _s, Spec: _p, ...m }) => m),
    // Docker shows the hostname the container got (the short id unless -h or the host network).
    Config: { ...rec.Config, Hostname: containerHostname(rec) },
    NetworkSettings: {
      Bridge: '',
      SandboxKey: st.Running && st.Pid ? `/proc/${st.Pid}/ns/net` : '',
      Ports: ports,
      Gateway: live ? ep.gateway : '',
      IPAddress: live ? ep.ip : '',
      IPPrefixLen: live ? ep.prefixLen : 0,
      MacAddress: live ? ep.mac : '',
      Networks: networks,
    },
  };
}

/** ContainerSummary: one row of {@link Container.list} (Docker's `GET /containers/json`, what `docker ps` prints). */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  /** The image as given (`busybox:latest`), or the rootfs directory. */
  Image: string;
  ImageID: string;
  /** The command line, as `docker ps` shows it. */
  Command: string;
  /** Unix seconds. */
  Created: number;
  State: string;
  /** `Up 5 seconds`, `Exited (0) 3 minutes ago`, `Created`, `Up 2 minutes (Paused)`. */
  Status: string;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
  Labels: Record<string, string>;
  Mounts: ContainerInspect['Mounts'];
}

/** humanDuration: Docker's go-units HumanDuration ("Less than a second", "5 seconds", "About a minute", "3 hours" …). Pure. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** summaryOf builds a `docker ps` row. Pure apart from the clock. */
export function summaryOf(rec: ContainerRecord, st: StateRecord, now = Date.now()): ContainerSummary {
  let status: string;
  if (st.Running) status = `Up ${humanDuration(now - Date.parse(st.StartedAt))}${st.Paused ? ' (Paused)' : ''}`;
  else if (st.Status === 'created') status = 'Created';
  else if (st.Status === 'dead') status = 'Dead';
  else status = `Exited (${st.ExitCode}) ${humanDuration(now - Date.parse(st.FinishedAt))} ago`;
  const ports: ContainerSummary['Ports'] = [];
  if (st.Running) for (const p of st.held?.endpoint?.ports ?? []) ports.push({ IP: p.hostIp, PrivatePort: p.container, PublicPort: p.host, Type: p.protocol });
  return {
    Id: rec.Id,
    Names: [`/${rec.Name}`],
    Image: rec.image?.ref ?? rec.rootfs ?? '',
    ImageID: rec.image?.id ?? '',
    Command: [rec.Path, ...rec.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    State: st.Status,
    Status: status,
    Ports: ports,
    Labels: rec.Config.Labels,
    Mounts: rec.mounts.map(({ spawn: _s, Spec: _p, ...m }) => m),
  };
}
