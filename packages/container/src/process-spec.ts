/**
 * What a container's process is started with: the spawn spec of @stratum/namespace built from
 * the container's record (also the source of exportBundle's OCI config.json).
 */
import { hostname as osHostname } from 'node:os';
import {
  DEFAULT_MOUNTS,
  DOCKER_DEFAULT_CAPABILITIES,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  CAPABILITY_NAMES,
  type MountSpec,
} from '@stratum/namespace';
import { processEnv } from './env.js';
import type { ContainerPaths, ContainerRecord } from './record.js';
import type { ExecUser } from './user.js';

/**
 * DEFAULT_CAPABILITIES: Docker's default set without CAP_MKNOD. Docker can give a container
 * CAP_MKNOD because its device cgroup (`devices.deny a` plus a short allow list) stops the nodes
 * from being opened; this runtime manages no device cgroup (@stratum/cgroup does not), so a root
 * container with CAP_MKNOD could make and read the host's disks. `capAdd: ['MKNOD']` brings it
 * back for trusted images.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze(DOCKER_DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD'));

/** capabilitySet applies `--cap-add`/`--cap-drop` to {@link DEFAULT_CAPABILITIES} (`ALL` adds or drops every one). Pure. */
export function capabilitySet(add: readonly string[] | null, drop: readonly string[] | null): string[] {
  let caps = new Set<string>(DEFAULT_CAPABILITIES);
  if (add?.includes('ALL')) caps = new Set(CAPABILITY_NAMES);
  else for (const c of add ?? []) caps.add(c);
  if (drop?.includes('ALL')) caps.clear();
  else for (const c of drop ?? []) caps.delete(c);
  if (drop?.includes('ALL')) for (const c of add ?? []) if (c !== 'ALL') caps.add(c);
  return CAPABILITY_NAMES.filter((c) => caps.has(c));
}

/** containerHostname: the hostname a container gets: `-h`, else the host's with the host network, else the short id. */
export function containerHostname(rec: ContainerRecord): string {
  if (rec.Config.Hostname) return rec.Config.Hostname;
  return rec.network.mode === 'host' ? osHostname() : rec.Id.slice(0, 12);
}

/** ProcessSpecParts: the parts of a container's process that do not depend on how it is started. */
export interface ProcessSpecParts {
  argv: string[];
  env: string[];
  cwd: string;
  hostname: string;
  mounts: MountSpec[];
  capabilities: string[];
  maskedPaths: readonly string[];
  readonlyPaths: readonly string[];
}

/**
 * processSpecParts builds argv, env, cwd, mounts (Docker's defaults, then /etc/hosts,
 * /etc/hostname, /etc/resolv.conf from `etc`, then volumes, binds and tmpfs) and capabilities from a
 * container record and its resolved user. Pure.
 */
export function processSpecParts(rec: ContainerRecord, paths: Pick<ContainerPaths, 'hosts' | 'hostname' | 'resolvConf'>, user: ExecUser): ProcessSpecParts {
  const host = containerHostname(rec);
  const ro = rec.HostConfig.ReadonlyRootfs;
  const bind = (source: string, destination: string): MountSpec => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate', ...(ro ? ['ro'] : [])] });
  const mounts: MountSpec[] = [
    ...DEFAULT_MOUNTS,
    bind(paths.resolvConf, '/etc/resolv.conf'),
    bind(paths.hostname, '/etc/hostname'),
    bind(paths.hosts, '/etc/hosts'),
    ...rec.mounts.map((m) => m.spawn as MountSpec),
  ];
  return {
    argv: [rec.Path, ...rec.Args],
    env: processEnv(rec.Config.Env, { hostname: host, tty: rec.Config.Tty ?? false, home: user.home }),
    cwd: rec.Config.WorkingDir || '/',
    hostname: host,
    mounts,
    capabilities: capabilitySet(rec.HostConfig.CapAdd, rec.HostConfig.CapDrop),
    maskedPaths: DOCKER_MASKED_PATHS,
    readonlyPaths: DOCKER_READONLY_PATHS,
  };
}
