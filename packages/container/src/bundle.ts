/**
 * exportBundle: a container as an OCI runtime bundle — `config.json` (runtime-spec 1.0.2) and
 * `rootfs/` (a copy of the container's filesystem: image layers plus its own changes, with its
 * /etc/hosts, /etc/hostname and /etc/resolv.conf filled in) — that `runc run` and `crun run`
 * start as they are.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeSpec } from '@stratum/oci';
import { copyTree } from './copy-tree.js';
import { ContainerError } from './errors.js';
import { containerHostname, processSpecParts } from './process-spec.js';
import type { ContainerPaths, ContainerRecord } from './record.js';
import { resolveUserInRoot } from './user.js';

/** ExportBundleOptions: what goes into the bundle. */
export interface ExportBundleOptions {
  /** Copy the root filesystem into `rootfs/` (default true); false writes config.json only (root.path still `rootfs`). */
  rootfs?: boolean;
  /** The network namespace: `new` (default: an unconfigured one, only `lo`), or `host`. */
  network?: 'new' | 'host';
  /** Put the container's cgroup limits in `linux.resources` (default true). */
  resources?: boolean;
}

/** runtimeSpec builds the bundle's config.json from a container record (its user resolved in `rootfs`). Pure but for reading the rootfs's passwd. */
export function runtimeSpec(rec: ContainerRecord, paths: ContainerPaths, rootfs: string, opts: ExportBundleOptions = {}): RuntimeSpec {
  const user = resolveUserInRoot(rootfs, rec.Config.User, rec.HostConfig.GroupAdd ?? []);
  const parts = processSpecParts(rec, paths, user);
  const caps = parts.capabilities;
  const hc = rec.HostConfig;
  const resources: NonNullable<NonNullable<RuntimeSpec['linux']>['resources']> = {};
  if (opts.resources ?? true) {
    if (hc.Memory > 0) resources.memory = { limit: hc.Memory, ...(hc.MemorySwap !== 0 ? { swap: hc.MemorySwap } : {}) };
    if (hc.NanoCpus > 0 || hc.CpuShares > 0 || hc.CpusetCpus) {
      resources.cpu = {
        ...(hc.CpuShares > 0 ? { shares: hc.CpuShares } : {}),
        ...(hc.NanoCpus > 0 ? { quota: Math.round(hc.NanoCpus / 1e4), period: 100_000 } : {}),
        ...(hc.CpusetCpus ? { cpus: hc.CpusetCpus } : {}),
      };
    }
    if (hc.PidsLimit > 0) resources.pids = { limit: hc.PidsLimit };
  }
  const namespaces: NonNullable<RuntimeSpec['linux']>['namespaces'] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if ((opts.network ?? 'new') === 'new') namespaces.push({ type: 'network' });
  // The /etc files are copied into the rootfs: the bundle does not depend on the state dir.
  const etc = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']);
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: rec.Config.Tty ?? false,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args: parts.argv,
      env: parts.env,
      cwd: parts.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: hc.ReadonlyRootfs },
    hostname: containerHostname(rec),
    ...(rec.Config.Domainname ? { domainname: rec.Config.Domainname } : {}),
    mounts: parts.mounts.filter((m) => !etc.has(m.destination)).map((m) => ({ destination: m.destination, ...(m.type ? { type: m.type } : {}), ...(m.source ? { source: m.source } : {}), options: [...(m.options ?? [])] })),
    linux: {
      namespaces,
      ...(Object.keys(resources).length ? { resources } : {}),
      maskedPaths: [...parts.maskedPaths],
      readonlyPaths: [...parts.readonlyPaths],
    },
  };
}

/**
 * writeBundle writes a container's bundle into `dir` (which must be empty or missing), copying
 * its filesystem from `root` (its root filesystem, mounted by the caller). Not atomic: on failure
 * the caller removes `dir`.
 */
export function writeBundle(rec: ContainerRecord, paths: ContainerPaths, root: string, dir: string, opts: ExportBundleOptions = {}): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new ContainerError('BUNDLE_EXISTS', `exportBundle: ${dir} is not empty`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const rootfs = join(dir, 'rootfs');
  if (opts.rootfs ?? true) {
    copyTree(root, rootfs);
    for (const [from, to] of [[paths.hosts, 'hosts'], [paths.hostname, 'hostname'], [paths.resolvConf, 'resolv.conf']] as const) {
      if (existsSync(from)) writeFileSync(join(rootfs, 'etc', to), readFileSync(from));
    }
  } else mkdirSync(rootfs, { recursive: true });
  const spec = runtimeSpec(rec, paths, root, opts);
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(spec, null, 2)}\n`);
}
