import { mkdirSync, statSync } from 'node:fs';
import type { MountSpec } from '@stratum/namespace';
import { copyUp } from './copy-up.js';
import { checkDriver } from './driver.js';
import { BindSourceNotFoundError, DuplicateMountPointError, VolumeNotFoundError } from './errors.js';
import { isErrno } from './fsutil.js';
import { bindMount, mountMode, sortMounts, tmpfsMount, volumeMountSpec, type VolumeMount } from './mounts.js';
import { normalizeSpec, type BindSpec, type NamedVolumeSpec, type VolumeSpec } from './spec.js';
import type { CreateVolumeOptions, VolumeInfo } from './store.js';

/** AttachProgress: copy-up progress of one volume during `VolumeStore.attach`. */
export interface AttachProgress {
  volume: string;
  target: string;
  entries: number;
  bytes: number;
}

/** AttachOptions: the container's rootfs (source of copy-up), abort and progress. */
export interface AttachOptions {
  /**
   * The container's root filesystem (e.g. its mounted overlay): an empty volume gets what the
   * image has at the volume's path (copy-up). Without it nothing is copied.
   */
  rootfs?: string;
  /** Aborting stops a copy-up; everything this attach did is undone. */
  signal?: AbortSignal;
  onProgress?: (p: AttachProgress) => void;
}

/**
 * AttachedVolumes: what `VolumeStore.attach` prepared for one container. Disposing it (`await
 * using`) is `docker run --rm`'s cleanup: the volumes it acquired are released and the anonymous
 * ones it created are removed when no other container uses them (named ones stay). A container
 * that outlives the call keeps `points` instead and calls `VolumeStore.detach` later.
 */
export interface AttachedVolumes extends AsyncDisposable {
  /** For `spawn({ mounts: [...DEFAULT_MOUNTS, ...mounts] })`, parents first. */
  mounts: MountSpec[];
  /** The container's `docker inspect` Mounts (same order); keep them for {@link volumesFrom}. */
  points: VolumeMount[];
  /** Names of the volumes the container now uses. */
  volumes: string[];
  /** Names of the volumes this attach created (anonymous ones and named ones that did not exist). */
  created: string[];
}

/** DetachOptions: `removeAnonymous` = `docker rm -v`. */
export interface DetachOptions {
  removeAnonymous?: boolean;
}

/** DetachResult: the volumes released and the anonymous ones removed. */
export interface DetachResult {
  released: string[];
  removed: string[];
}

/** StoreOps: what attach and detach need of a VolumeStore (it hands them these). */
export interface StoreOps {
  /** Get or create; `created` when this call made it. */
  create(name: string | undefined, opts: CreateVolumeOptions): Promise<VolumeInfo & { created?: boolean }>;
  acquire(name: string, containerId: string, then?: (info: VolumeInfo) => Promise<void>): Promise<VolumeInfo>;
  release(name: string, containerId: string): Promise<boolean>;
  /** Names of the volumes whose users include the container. */
  usedBy(containerId: string): string[];
  /** Removes the volume when nobody uses it (and, with onlyAnonymous, when it is anonymous); false otherwise. */
  removeIfUnused(name: string, onlyAnonymous: boolean): Promise<boolean>;
}

/**
 * mergeVolumeSpecs validates specs (normalizeSpec) and applies Docker's precedence at one
 * container path: explicit > volumes-from (first wins) > image (first wins); two explicit specs
 * at one path are a {@link DuplicateMountPointError}. Returns them parents first. Pure.
 */
export function mergeVolumeSpecs(specs: readonly VolumeSpec[]): Array<Readonly<VolumeSpec>> {
  if (!Array.isArray(specs)) throw new TypeError('volume specs must be an array');
  const normalized = specs.map((s) => normalizeSpec(s));
  const rank = { explicit: 0, 'volumes-from': 1, image: 2 } as const;
  const byTarget = new Map<string, Readonly<VolumeSpec>>();
  for (const s of normalized) {
    const prev = byTarget.get(s.target);
    if (!prev) {
      byTarget.set(s.target, s);
      continue;
    }
    const a = rank[prev.origin ?? 'explicit'];
    const b = rank[s.origin ?? 'explicit'];
    if (a === 0 && b === 0) throw new DuplicateMountPointError(s.target);
    if (b < a) byTarget.set(s.target, s);
  }
  return sortMounts([...byTarget.values()].map((s) => ({ s, Destination: s.target }))).map((x) => x.s);
}

/**
 * imageVolumes turns an image config's `Volumes` (`{ "/data": {} }`, Dockerfile `VOLUME`) into
 * anonymous volume specs of origin `image`: made only where nothing else is mounted.
 */
export function imageVolumes(volumes: Readonly<Record<string, unknown>> | undefined | null): NamedVolumeSpec[] {
  return Object.keys(volumes ?? {}).map((target) => ({ type: 'volume', target, origin: 'image' }));
}

function checkBind(s: BindSpec): void {
  try {
    statSync(s.source);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    if (!s.createHostPath) throw new BindSourceNotFoundError(s.source);
  }
}

/** The implementation of `VolumeStore.attach`. */
export async function attachVolumes(store: StoreOps, containerId: string, specs: readonly VolumeSpec[], opts: AttachOptions): Promise<AttachedVolumes> {
  const merged = mergeVolumeSpecs(specs);
  opts.signal?.throwIfAborted();
  // Everything that can be refused is refused before anything is written.
  for (const s of merged) {
    if (s.type === 'bind') checkBind(s);
    if (s.type === 'volume') checkDriver(s.driver ?? 'local', s.driverOptions ?? {});
  }
  for (const s of merged) if (s.type === 'bind' && s.createHostPath) mkdirSync(s.source, { recursive: true, mode: 0o755 });

  const acquired: string[] = [];
  const created: string[] = [];
  const mounts: MountSpec[] = [];
  const points: VolumeMount[] = [];
  try {
    for (const s of merged) {
      const base = { Destination: s.target, Mode: mountMode(s), RW: !s.readonly, Spec: s };
      if (s.type === 'bind') {
        mounts.push(bindMount(s));
        points.push({ Type: 'bind', Source: s.source, ...base, Propagation: s.propagation ?? 'rprivate' });
      } else if (s.type === 'tmpfs') {
        mounts.push(tmpfsMount(s));
        points.push({ Type: 'tmpfs', Source: '', ...base, Propagation: '' });
      } else {
        const info = await useVolume(store, containerId, s, opts, created);
        acquired.push(info.Name);
        mounts.push(volumeMountSpec(s, info.Mountpoint));
        points.push({ Type: 'volume', Name: info.Name, Source: info.Mountpoint, ...base, Driver: info.Driver, Propagation: '' });
      }
    }
  } catch (e) {
    for (const name of acquired) await store.release(name, containerId);
    for (const name of created) await store.removeIfUnused(name, false);
    throw e;
  }
  return {
    mounts,
    points,
    volumes: acquired,
    created,
    [Symbol.asyncDispose]: async () => {
      for (const name of acquired) await store.release(name, containerId);
      for (const name of created) await store.removeIfUnused(name, true);
    },
  };
}

// Gets (creating if needed) the spec's volume and records the container as its user, copying
// the image's content in while holding the volume's lock.
async function useVolume(store: StoreOps, containerId: string, s: NamedVolumeSpec, opts: AttachOptions, created: string[]): Promise<VolumeInfo> {
  const copy =
    opts.rootfs !== undefined && !s.nocopy
      ? async (info: VolumeInfo): Promise<void> => {
          await copyUp(opts.rootfs!, s.target, info.Mountpoint, {
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.onProgress ? { onProgress: (p) => opts.onProgress!({ volume: info.Name, target: s.target, ...p }) } : {}),
          });
        }
      : undefined;
  for (let attempt = 0; ; attempt++) {
    const info = await store.create(s.source, {
      ...(s.labels ? { labels: s.labels } : {}),
      ...(s.driver ? { driver: s.driver } : {}),
      ...(s.driverOptions ? { options: s.driverOptions } : {}),
    });
    if (info.created) created.push(info.Name);
    try {
      return await store.acquire(info.Name, containerId, copy);
    } catch (e) {
      // Removed between create and acquire (a concurrent prune): make it again.
      if (!(e instanceof VolumeNotFoundError) || attempt >= 3) throw e;
    }
  }
}

/** The implementation of `VolumeStore.detach`. */
export async function detachVolumes(store: StoreOps, containerId: string, opts: DetachOptions): Promise<DetachResult> {
  const out: DetachResult = { released: [], removed: [] };
  for (const name of store.usedBy(containerId)) {
    if (await store.release(name, containerId)) out.released.push(name);
    if (opts.removeAnonymous && (await store.removeIfUnused(name, true))) out.removed.push(name);
  }
  return out;
}
