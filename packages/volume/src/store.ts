import { randomBytes } from 'node:crypto';
import { mkdirSync, chmodSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { AT, O, RENAME, fsyncDir, fstat, fstatat, openat, renameat2, type Fd } from '@stratum/native';
import { attachVolumes, detachVolumes, type AttachedVolumes, type AttachOptions, type DetachOptions, type DetachResult, type StoreOps } from './attach.js';
import { checkDriver, isMounted, mountDriver, needsMount, unmountDriver } from './driver.js';
import { InvalidContainerIdError, VolumeConflictError, VolumeInUseError, VolumeNotFoundError } from './errors.js';
import { isErrno, lockFd, pidAlive, readJson, serialize, writeFileAtomic } from './fsutil.js';
import { checkVolumeName } from './spec.js';
import type { VolumeSpec } from './spec.js';
import { treeSize } from './usage.js';

/**
 * VolumeInfo: a volume as `docker volume inspect` shows it (Docker's field names). `Mountpoint`
 * is the host directory bound into containers; `CreatedAt` is RFC 3339 in UTC.
 */
export interface VolumeInfo {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string>;
  Scope: 'local';
  CreatedAt: string;
  Options: Record<string, string>;
}

/** CreateVolumeOptions: `docker volume create --label K=V --driver local --opt K=V`. */
export interface CreateVolumeOptions {
  labels?: Readonly<Record<string, string>>;
  /** Only `local` (the default). */
  driver?: string;
  /** Local-driver options: `type`, `device`, `o` (a filesystem mounted on the volume while containers use it). */
  options?: Readonly<Record<string, string>>;
}

/**
 * VolumeFilters: `docker volume ls --filter` keys. Several values of `name` or `driver` match
 * any of them; several `label`s must all match (`key` or `key=value`); `name` matches a
 * substring; `dangling: true` keeps volumes no container uses.
 */
export interface VolumeFilters {
  name?: string | readonly string[];
  driver?: string | readonly string[];
  label?: string | readonly string[];
  dangling?: boolean;
}

/** PruneOptions: `docker volume prune [--all] [--filter label=…]`. */
export interface PruneOptions {
  /** Also remove unused NAMED volumes (Docker ≥ 23 prunes only anonymous ones by default). */
  all?: boolean;
  filters?: Omit<VolumeFilters, 'dangling'>;
}

/** PruneResult: what `docker volume prune` reports (Docker's API field names). */
export interface PruneResult {
  VolumesDeleted: string[];
  /** Bytes of file content freed (hard links counted once). */
  SpaceReclaimed: number;
}

/**
 * ANONYMOUS_LABEL marks anonymous volumes (Docker ≥ 23 uses the same label): `prune` removes
 * these by default, `detach({ removeAnonymous })` (= `docker rm -v`) removes these only.
 */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const CONTAINER_ID = /^[a-zA-Z0-9_.-]{1,128}$/;

/** checkContainerId returns `id` or throws {@link InvalidContainerIdError}. */
export function checkContainerId(id: unknown): string {
  if (typeof id !== 'string' || !CONTAINER_ID.test(id) || id === '.' || id === '..') throw new InvalidContainerIdError(String(id));
  return id;
}

/**
 * defaultVolumeRoot is where {@link VolumeStore.open} keeps volumes without a directory:
 * `$STRATUM_ROOT/volumes`, else `$XDG_DATA_HOME/stratum/volumes`, else
 * `~/.local/share/stratum/volumes` (beside the image store's default `~/.local/share/stratum`).
 */
export function defaultVolumeRoot(): string {
  if (process.env['STRATUM_ROOT']) return join(process.env['STRATUM_ROOT'], 'volumes');
  const data = process.env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share');
  return join(data, 'stratum', 'volumes');
}

interface Users {
  containers: string[];
}

const toList = (v: string | readonly string[] | undefined): readonly string[] | undefined => (v === undefined ? undefined : typeof v === 'string' ? [v] : v);

function matches(info: VolumeInfo, users: number, f: VolumeFilters): boolean {
  const names = toList(f.name);
  if (names && !names.some((n) => info.Name.includes(n))) return false;
  const drivers = toList(f.driver);
  if (drivers && !drivers.includes(info.Driver)) return false;
  for (const l of toList(f.label) ?? []) {
    const eq = l.indexOf('=');
    if (eq < 0 ? !(l in info.Labels) : info.Labels[l.slice(0, eq)] !== l.slice(eq + 1)) return false;
  }
  if (f.dangling !== undefined && f.dangling !== (users === 0)) return false;
  return true;
}

function stringRecord(v: unknown, what: string): Record<string, string> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`VolumeStore.create: ${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string' || k === '') throw new TypeError(`VolumeStore.create: ${what}.${k} must be a string`);
    out[k] = val;
  }
  return out;
}

/**
 * VolumeStore: Docker's managed volumes (the `local` driver) under one directory:
 *
 * ```
 * <root>/<name>/_data        the Mountpoint, bound into containers
 * <root>/<name>/volume.json  Name, Driver, Labels, Options, CreatedAt (written once)
 * <root>/<name>/users.json   the container ids using the volume (replaced atomically)
 * ```
 *
 * A volume appears by one rename of a fully written directory and disappears by one rename to
 * a trash name, so a crash leaves either a whole volume or none (leftovers of dead processes are
 * removed by the next `open`). Changes to one volume (users, removal, copy-up, driver mounts)
 * hold an exclusive flock on its directory, so several processes can share a store.
 */
export class VolumeStore {
  /** The store directory (absolute). */
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * VolumeStore.open opens (creating it, mode 0701 like Docker's) the store at `dir`, default
   * {@link defaultVolumeRoot}. Removes what crashed creators and removers left (their temp and
   * trash directories); a directory of a live process is kept. Idempotent.
   */
  static async open(dir: string = defaultVolumeRoot()): Promise<VolumeStore> {
    if (typeof dir !== 'string' || dir === '' || dir.includes('\0')) throw new TypeError('VolumeStore.open: dir must be a path');
    const root = resolvePath(dir);
    mkdirSync(dirname(root), { recursive: true });
    try {
      mkdirSync(root, { mode: 0o701 });
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
    }
    const store = new VolumeStore(root);
    for (const name of readdirSync(root)) {
      const m = /^\.(tmp|trash)-(\d+)-[0-9a-f]+$/.exec(name);
      if (!m) continue;
      const pid = Number(m[2]);
      if (pid === process.pid || pidAlive(pid)) continue;
      await rm(join(root, name), { recursive: true, force: true });
    }
    return store;
  }

  /** mountpoint is the host directory of volume `name` (`<root>/<name>/_data`); no I/O. */
  mountpoint(name: string): string {
    return join(this.root, checkVolumeName(name), '_data');
  }

  private dir(name: string): string {
    return join(this.root, checkVolumeName(name));
  }

  private info(name: string): VolumeInfo | undefined {
    const meta = readJson<Omit<VolumeInfo, 'Mountpoint' | 'Scope'>>(join(this.dir(name), 'volume.json'));
    if (!meta) return undefined;
    return {
      Name: meta.Name,
      Driver: meta.Driver,
      Mountpoint: this.mountpoint(name),
      Labels: { ...meta.Labels },
      Scope: 'local',
      CreatedAt: meta.CreatedAt,
      Options: { ...meta.Options },
    };
  }

  private readUsers(name: string): string[] {
    return readJson<Users>(join(this.dir(name), 'users.json'))?.containers ?? [];
  }

  /**
   * Runs `fn` holding the exclusive lock of volume `name` (flock on its directory, after every
   * earlier caller of this process), with the directory's fd. Throws VolumeNotFoundError when
   * the volume does not exist or was removed while waiting.
   */
  private withVolume<T>(name: string, fn: (dir: Fd) => Promise<T>): Promise<T> {
    const path = this.dir(name);
    return serialize(path, async () => {
      for (;;) {
        let fd: Fd;
        try {
          fd = openat(AT.FDCWD, path, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
        } catch (e) {
          if (isErrno(e, 'ENOENT', 'ENOTDIR', 'ELOOP')) throw new VolumeNotFoundError(name);
          throw e;
        }
        try {
          await lockFd(fd);
          let now;
          try {
            now = fstatat(AT.FDCWD, path, AT.SYMLINK_NOFOLLOW);
          } catch (e) {
            if (isErrno(e, 'ENOENT')) throw new VolumeNotFoundError(name);
            throw e;
          }
          // Replaced while we waited (removed, then created again): lock the new one.
          if (now.ino !== fstat(fd).ino) continue;
          return await fn(fd);
        } finally {
          fd.close();
        }
      }
    });
  }

  /**
   * create makes a volume (`docker volume create [NAME]`): without a name, an anonymous one with a
   * random 64-hex name and the {@link ANONYMOUS_LABEL}. Creating a name that exists returns the
   * existing volume unchanged (its labels and options are kept), as Docker does — unless the
   * drivers differ ({@link VolumeConflictError}). Atomic: the volume directory appears complete
   * or not at all. Bad names/options throw before anything is written.
   */
  async create(name?: string, opts: CreateVolumeOptions = {}): Promise<VolumeInfo> {
    const { created: _, ...info } = await this.createVolume(name, opts);
    return info;
  }

  /** Like create, also telling whether the volume was made by this call. */
  private async createVolume(name: string | undefined, opts: CreateVolumeOptions): Promise<VolumeInfo & { created?: boolean }> {
    if (opts === null || typeof opts !== 'object') throw new TypeError('VolumeStore.create: options must be an object');
    const anonymous = name === undefined || name === '';
    const volName = anonymous ? randomBytes(32).toString('hex') : checkVolumeName(name);
    const driver = opts.driver ?? 'local';
    const labels = stringRecord(opts.labels, 'labels');
    const options = stringRecord(opts.options, 'options');
    checkDriver(driver, options);
    if (anonymous) labels[ANONYMOUS_LABEL] ??= '';
    const existing = this.info(volName);
    if (existing) {
      if (existing.Driver !== driver) throw new VolumeConflictError(volName, existing.Driver, driver);
      return existing;
    }
    const tmpName = `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    const tmp = join(this.root, tmpName);
    try {
      mkdirSync(tmp, { mode: 0o755 });
      chmodSync(tmp, 0o755);
      mkdirSync(join(tmp, '_data'), { mode: 0o755 });
      chmodSync(join(tmp, '_data'), 0o755);
      const meta = { Name: volName, Driver: driver, Labels: labels, Options: options, CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
      await writeFileAtomic(join(tmp, 'volume.json'), `${JSON.stringify(meta, null, 2)}\n`);
      await writeFileAtomic(join(tmp, 'users.json'), `${JSON.stringify({ containers: [] })}\n`);
      using rootFd = openat(AT.FDCWD, this.root, O.RDONLY | O.DIRECTORY);
      try {
        renameat2(rootFd, tmpName, rootFd, volName, RENAME.NOREPLACE);
      } catch (e) {
        if (!isErrno(e, 'EEXIST', 'ENOTEMPTY')) throw e;
        // Created meanwhile by someone else: theirs stands.
        await rm(tmp, { recursive: true, force: true });
        const now = this.info(volName);
        if (!now) throw e;
        if (now.Driver !== driver) throw new VolumeConflictError(volName, now.Driver, driver);
        return now;
      }
      await fsyncDir(rootFd);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return { ...this.info(volName)!, created: true };
  }

  /** inspect returns a volume's {@link VolumeInfo} (`docker volume inspect NAME`); VolumeNotFoundError when absent. */
  async inspect(name: string): Promise<VolumeInfo> {
    const info = this.info(name);
    if (!info) throw new VolumeNotFoundError(name);
    return info;
  }

  /** has tells whether volume `name` exists (InvalidVolumeNameError for a bad name). */
  async has(name: string): Promise<boolean> {
    return this.info(name) !== undefined;
  }

  /** list returns the volumes, sorted by name, that pass `filters` (`docker volume ls --filter`). */
  async list(opts: { filters?: VolumeFilters } = {}): Promise<VolumeInfo[]> {
    const f = opts.filters ?? {};
    const out: VolumeInfo[] = [];
    for (const name of readdirSync(this.root).sort()) {
      if (name.startsWith('.')) continue;
      let info: VolumeInfo | undefined;
      try {
        info = this.info(name);
      } catch {
        continue; // not a volume directory, or vanished meanwhile
      }
      if (info && matches(info, f.dangling === undefined ? 0 : this.readUsers(name).length, f)) out.push(info);
    }
    return out;
  }

  /** users returns the ids of the containers recorded as using volume `name`. */
  async users(name: string): Promise<string[]> {
    if (!this.info(name)) throw new VolumeNotFoundError(name);
    return this.readUsers(name);
  }

  private async writeUsers(name: string, containers: string[]): Promise<void> {
    await writeFileAtomic(join(this.dir(name), 'users.json'), `${JSON.stringify({ containers } satisfies Users)}\n`);
  }

  /**
   * acquire records `containerId` as a user of volume `name` (idempotent; the users file is
   * replaced atomically under the volume's lock) and, for a volume with driver options, mounts
   * its filesystem on first use. While recorded, `remove` and `prune` refuse the volume. `then`
   * runs under the same lock after the user is recorded (the store's copy-up uses it); if it
   * fails, the acquisition is undone.
   */
  async acquire(name: string, containerId: string, then?: (info: VolumeInfo) => Promise<void>): Promise<VolumeInfo> {
    checkContainerId(containerId);
    return this.withVolume(name, async (dir) => {
      const info = this.info(name);
      if (!info) throw new VolumeNotFoundError(name);
      const users = this.readUsers(name);
      const added = !users.includes(containerId);
      if (added) await this.writeUsers(name, [...users, containerId]);
      let mounted = false;
      try {
        if (needsMount(info.Options) && !isMounted(dir)) {
          mountDriver(info.Options, info.Mountpoint);
          mounted = true;
        }
        await then?.(info);
      } catch (e) {
        if (mounted) unmountDriver(info.Mountpoint);
        if (added) await this.writeUsers(name, users);
        throw e;
      }
      return info;
    });
  }

  /**
   * release removes `containerId` from the users of volume `name`; when the last user goes, a
   * volume with driver options is unmounted. Idempotent: returns false when the volume or the
   * user was not there.
   */
  async release(name: string, containerId: string): Promise<boolean> {
    checkContainerId(containerId);
    try {
      return await this.withVolume(name, async (dir) => {
        const users = this.readUsers(name);
        if (!users.includes(containerId)) return false;
        const rest = users.filter((u) => u !== containerId);
        if (rest.length === 0 && isMounted(dir)) unmountDriver(this.mountpoint(name));
        await this.writeUsers(name, rest);
        return true;
      });
    } catch (e) {
      if (e instanceof VolumeNotFoundError) return false;
      throw e;
    }
  }

  /**
   * remove deletes volume `name` and its content (`docker volume rm [-f] NAME`). A volume in use
   * is refused with {@link VolumeInUseError}, `force` or not (as Docker); `force` only turns a
   * missing volume into `false` instead of VolumeNotFoundError. Atomic: one rename takes the
   * volume away, then its files are deleted.
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<boolean> {
    checkVolumeName(name);
    try {
      await this.removeLocked(name, () => true);
      return true;
    } catch (e) {
      if (opts.force && e instanceof VolumeNotFoundError) return false;
      throw e;
    }
  }

  /** Removes `name` under its lock if `ok(info)`; returns the bytes it held (0 when `ok` said no: then nothing is done). */
  private async removeLocked(name: string, ok: (info: VolumeInfo) => boolean, measure = false): Promise<number | undefined> {
    const trash = `.trash-${process.pid}-${randomBytes(6).toString('hex')}`;
    const size = await this.withVolume(name, async (dir) => {
      const info = this.info(name);
      if (!info) throw new VolumeNotFoundError(name);
      const users = this.readUsers(name);
      if (users.length) throw new VolumeInUseError(name, users);
      if (!ok(info)) return undefined;
      if (isMounted(dir)) unmountDriver(info.Mountpoint);
      const bytes = measure ? treeSize(info.Mountpoint) : 0;
      using rootFd = openat(AT.FDCWD, this.root, O.RDONLY | O.DIRECTORY);
      renameat2(rootFd, name, rootFd, trash, RENAME.NOREPLACE);
      await fsyncDir(rootFd);
      return bytes;
    });
    if (size !== undefined) await rm(join(this.root, trash), { recursive: true, force: true });
    return size;
  }

  /**
   * prune removes the volumes no container uses (`docker volume prune`): only anonymous ones
   * unless `all` (Docker ≥ 23), narrowed by `filters`. A volume that gains a user meanwhile is
   * kept. Returns the names removed and the bytes freed.
   */
  async prune(opts: PruneOptions = {}): Promise<PruneResult> {
    const candidates = await this.list({ filters: { ...(opts.filters ?? {}), dangling: true } });
    const out: PruneResult = { VolumesDeleted: [], SpaceReclaimed: 0 };
    for (const v of candidates) {
      if (!opts.all && !(ANONYMOUS_LABEL in v.Labels)) continue;
      try {
        const bytes = await this.removeLocked(v.Name, () => true, true);
        if (bytes !== undefined) {
          out.VolumesDeleted.push(v.Name);
          out.SpaceReclaimed += bytes;
        }
      } catch (e) {
        if (!(e instanceof VolumeInUseError || e instanceof VolumeNotFoundError)) throw e;
      }
    }
    return out;
  }

  /**
   * attach prepares the mounts of container `containerId` from its volume specs (what
   * `docker run -v/--mount/--tmpfs/--volumes-from` and the image's VOLUMEs ask for): explicit specs
   * win over `volumes-from` ones, which win over `image` ones, at the same path (two explicit ones
   * are a {@link DuplicateMountPointError}); bind sources are checked (or created for `-v`);
   * named volumes are created when missing, anonymous ones made; every volume records the
   * container as a user; with `rootfs`, an empty volume gets the image's content at its path
   * (copy-up, unless `nocopy`). Returns the MountSpecs for `spawn` (parents first) and the
   * `docker inspect` Mounts. All or nothing: on any error, volumes acquired or created by this
   * call are released or removed again.
   */
  async attach(containerId: string, specs: readonly VolumeSpec[], opts: AttachOptions = {}): Promise<AttachedVolumes> {
    return attachVolumes(this.ops(), checkContainerId(containerId), specs, opts);
  }

  /**
   * detach releases every volume container `containerId` uses (after it is removed); with
   * `removeAnonymous` (`docker rm -v`) its anonymous volumes that no other container uses are
   * removed too. Idempotent.
   */
  async detach(containerId: string, opts: DetachOptions = {}): Promise<DetachResult> {
    return detachVolumes(this.ops(), checkContainerId(containerId), opts);
  }

  /** The store operations attach/detach build on (closures over the private methods). */
  private ops(): StoreOps {
    return {
      create: (name, opts) => this.createVolume(name, opts),
      acquire: (name, id, then) => this.acquire(name, id, then),
      release: (name, id) => this.release(name, id),
      usedBy: (id) => {
        const out: string[] = [];
        for (const name of readdirSync(this.root).sort()) {
          if (name.startsWith('.')) continue;
          try {
            if (this.readUsers(name).includes(id)) out.push(name);
          } catch {
            // not a volume, or vanished meanwhile
          }
        }
        return out;
      },
      removeIfUnused: async (name, onlyAnonymous) => {
        try {
          return (await this.removeLocked(name, (info) => !onlyAnonymous || ANONYMOUS_LABEL in info.Labels)) !== undefined;
        } catch (e) {
          if (e instanceof VolumeInUseError || e instanceof VolumeNotFoundError) return false;
          throw e;
        }
      },
    };
  }
}
