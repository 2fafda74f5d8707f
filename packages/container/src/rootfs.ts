/**
 * The container's root filesystem, made by a storage driver of @stratum/union-fs over the
 * layers [init layer, image layers…] (top first): kernel `overlay`, `fuse-overlayfs`, or `vfs`
 * (full copies). Docker's "init layer" holds the mount points and /etc files a container always
 * has, so they never land in a commit. The driver is chosen once per container, at create
 * (`selectDriver`, or forced), and recorded in config.json; its state lives in the container's
 * directory (`upper/ work/ merged/` for the union drivers, `base/ rootfs/ vfs.json` for vfs).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import type { LayerChange } from '@stratum/layer';
import { AT, MNT, MOUNT_ATTR, MOVE_MOUNT, OPEN_TREE, moveMount, mountSetattr, openTree, umount2 } from '@stratum/native';
import { DriverUnavailableError, fuseOverlayDriver, overlayDriver, selectDriver, vfsDriver, type Driver, type DriverName, type Rootfs } from '@stratum/union-fs';
import { FeatureUnavailableError } from './errors.js';
import { isErrno, withLock } from './fsutil.js';
import { isRootless, removeTree } from './rootless.js';
import type { ContainerPaths, ContainerRecord } from './record.js';
import type { Runtime } from './runtime.js';

const INIT_DIRS = ['dev', 'dev/pts', 'dev/shm', 'dev/mqueue', 'proc', 'sys', 'etc'];
const INIT_FILES = ['etc/hosts', 'etc/hostname', 'etc/resolv.conf'];


function lookup(lowers: readonly string[], rel: string): { mode: number; uid: number; gid: number; dir: boolean } | undefined {
  for (const lower of lowers) {
    // Component by component without following symlinks: a lower's symlink must not make us read the host.
    let cur = lower;
    let ok = true;
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      cur = join(cur, parts[i]!);
      let st;
      try {
        st = lstatSync(cur);
      } catch {
        ok = false;
        break;
      }
      const whiteout = st.isCharacterDevice() && st.rdev === 0;
      if (whiteout) return undefined;
      if (i < parts.length - 1 && !st.isDirectory()) {
        ok = false;
        break;
      }
      if (i === parts.length - 1) return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, dir: st.isDirectory() };
    }
    if (!ok) continue;
  }
  return undefined;
}

/**
 * prepareInitLayer fills `init` (a layer above the image, below the container's own changes)
 * like Docker's init layer: /dev, /dev/pts, /dev/shm, /dev/mqueue, /proc, /sys, /etc as
 * directories (mode and owner of the image's own when it has them) and empty /etc/hosts,
 * /etc/hostname, /etc/resolv.conf to bind the container's files onto. So these mount points never
 * land in the container's changes (and never in a commit), and they exist even under a read-only
 * root. `lowers` are the image's layer dirs, top first.
 */
export function prepareInitLayer(init: string, lowers: readonly string[]): void {
  mkdirSync(init, { recursive: true, mode: 0o755 });
  for (const d of INIT_DIRS) {
    const have = lookup(lowers, d);
    const p = join(init, d);
    mkdirSync(p, { mode: have?.dir ? have.mode : 0o755 });
    if (have?.dir) chownSync(p, have.uid, have.gid);
  }
  for (const f of INIT_FILES) closeSync(openSync(join(init, f), fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644));
}

/** initLayerDir: where the init layer shared by every container of the layer stack `diffIDs` (bottom first) is kept. */
export function initLayerDir(rt: Runtime, diffIDs: readonly string[]): string {
  return join(rt.root, 'layers', 'init', createHash('sha256').update(diffIDs.join('\n')).digest('hex'));
}

/**
 * ensureInitLayer returns the init layer (see prepareInitLayer) of the layer stack `diffIDs`,
 * making it once (under a lock, in a temp dir renamed into place) from `lowers` (its layer dirs,
 * top first). Docker makes one per container; its content depends only on the image's layers, and
 * it is a read-only layer below each container's own changes, so containers of one image share
 * it: creating and removing a container then touch none of its dozen entries.
 */
export async function ensureInitLayer(rt: Runtime, diffIDs: readonly string[], lowers: readonly string[]): Promise<string> {
  const dir = initLayerDir(rt, diffIDs);
  if (existsSync(dir)) return dir;
  const parent = join(dir, '..');
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const key = dir.split('/').pop()!;
  await withLock(join(rt.root, 'layers', `.lock-init-${key}`), () => {
    if (existsSync(dir)) return;
    const tmp = join(parent, `.tmp-${key}-${randomBytes(4).toString('hex')}`);
    try {
      prepareInitLayer(tmp, lowers);
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  });
  return dir;
}

const drivers = new Map<DriverName, Driver>();

/**
 * containerDriver returns the union-fs driver containers use for `name`: the union drivers mount
 * with `nodev` (no device cgroup is managed here, so a device node an image ships must not open
 * the host's device), vfs as is (its root is bound `nodev` at start, see {@link ContainerRootfs}).
 */
export function containerDriver(name: DriverName): Driver {
  let d = drivers.get(name);
  if (!d) {
    if (name === 'overlay') d = overlayDriver({ nodev: true });
    else if (name === 'fuse-overlayfs') d = fuseOverlayDriver({ nodev: true });
    else if (name === 'vfs') d = vfsDriver();
    else throw new TypeError(`unknown storage driver ${JSON.stringify(name)} (overlay, fuse-overlayfs or vfs)`);
    drivers.set(name, d);
  }
  return d;
}

/**
 * chooseDriver picks the storage driver of a new container: `forced` when given (its check must
 * pass, else DriverUnavailableError with the reason), else the best one that works for this
 * process on the state dir's filesystem (union-fs `selectDriver`: overlay → fuse-overlayfs →
 * vfs, each tried for real once per process).
 */
export async function chooseDriver(rt: Runtime, forced?: DriverName): Promise<{ name: DriverName; reason: string }> {
  if (forced !== undefined) {
    const c = await containerDriver(forced).check({ dir: rt.root });
    if (!c.available) throw new DriverUnavailableError(forced, c.reason);
    return { name: forced, reason: c.reason };
  }
  const choice = await selectDriver({ dir: rt.root });
  return { name: choice.driver.name, reason: choice.reason };
}

/** driverOf: a container's storage driver (records made before drivers were recorded are overlay). */
export function driverOf(rec: Pick<ContainerRecord, 'driver'>): DriverName {
  return rec.driver ?? 'overlay';
}

/** RootfsDirs: where a driver keeps a container's root filesystem (what `inspect().GraphDriver.Data` shows). */
export interface RootfsDirs {
  /** The directory the container sees as `/` (mounted while it runs). */
  merged: string;
  /** The container's own changes (union drivers). */
  upper?: string;
  work?: string;
  /** The untouched copy of the layers (vfs). */
  base?: string;
}

/**
 * rootfsDirs lays out a container's storage directories in its directory, for its recorded driver
 * (records without one are overlay, whose upper dir may still be the `diff/` of before the
 * drivers, until their next prepare renames it).
 */
export function rootfsDirs(paths: Pick<ContainerPaths, 'dir'>, rec: Pick<ContainerRecord, 'driver'>): RootfsDirs {
  if (rec.driver === 'vfs') return { merged: join(paths.dir, 'rootfs'), base: join(paths.dir, 'base') };
  const legacy = rec.driver === undefined && !existsSync(join(paths.dir, 'upper')) && existsSync(join(paths.dir, 'diff'));
  return { merged: join(paths.dir, 'merged'), upper: join(paths.dir, legacy ? 'diff' : 'upper'), work: join(paths.dir, 'work') };
}

/** LowerDirsProvider: the image layer dirs of a container (top first); installed by the image support. */
export type LowerDirsProvider = (rt: Runtime, rec: ContainerRecord) => Promise<string[]>;

let lowerProvider: LowerDirsProvider | undefined;

/** setLowerDirsProvider installs how image layers become layer dirs (the layer cache). @internal */
export function setLowerDirsProvider(p: LowerDirsProvider): void {
  lowerProvider = p;
}

/**
 * layersOf: a container's layers for the driver, top first: its init layer (its own, or the one
 * its image's containers share, made again if gc removed it meanwhile), then its image's layers
 * (or its rootfs directory).
 */
export async function layersOf(rt: Runtime, rec: ContainerRecord, paths: Pick<ContainerPaths, 'init'>): Promise<string[]> {
  if (rec.rootfs !== undefined) return [paths.init, rec.rootfs];
  if (!lowerProvider) throw new TypeError('this container needs image layers, but no image support is loaded');
  const lowers = await lowerProvider(rt, rec);
  let init = paths.init;
  if (rec.initLayer !== undefined) {
    init = rec.initLayer;
    if (!existsSync(init)) await ensureInitLayer(rt, rec.image?.diffIDs ?? [], lowers);
  }
  return [init, ...lowers];
}

/**
 * ContainerRootfs is a container's root filesystem prepared by its driver in this process: `path`
 * is what the container sees as `/`. With `bound` (for running it) a vfs root is also bound onto
 * itself `nodev` — the union drivers mount `nodev` already — so that one kernel mount backs every
 * driver's running root, which `makeReadOnly` can turn read-only and gc can find under the
 * container's directory. `release()` unmounts and keeps every change; the changes are `diff()`.
 */
export class ContainerRootfs {
  readonly driver: DriverName;
  /** The directory the container sees as `/`. */
  readonly path: string;
  readonly #rootfs: Rootfs;
  #bound: boolean;

  private constructor(driver: DriverName, rootfs: Rootfs, bound: boolean) {
    this.driver = driver;
    this.#rootfs = rootfs;
    this.path = rootfs.path;
    this.#bound = bound;
  }

  /**
   * ContainerRootfs.prepare makes the root filesystem of `rec` in its directory `dir` (the
   * container's, or a scratch one), layers as {@link layersOf} gives them. Not idempotent for the
   * union drivers (a second prepare would mount again): callers hold the container's lock and
   * know it is not mounted. On failure nothing stays mounted.
   */
  static async prepare(rt: Runtime, rec: ContainerRecord, paths: Pick<ContainerPaths, 'dir' | 'init'>, opts: { bound?: boolean; readonly?: boolean; signal?: AbortSignal } = {}): Promise<ContainerRootfs> {
    const driver = driverOf(rec);
    const layers = await layersOf(rt, rec, paths);
    // Containers made before the drivers of @stratum/union-fs kept their overlay upper dir in diff/.
    if (rec.driver === undefined && !existsSync(join(paths.dir, 'upper')) && existsSync(join(paths.dir, 'diff'))) renameSync(join(paths.dir, 'diff'), join(paths.dir, 'upper'));
    let rootfs: Rootfs;
    try {
      rootfs = await containerDriver(driver).prepare(layers, { dir: paths.dir, ...(opts.readonly ? { readonly: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (e) {
      if (e instanceof DriverUnavailableError) throw new FeatureUnavailableError(`the ${driver} storage driver`, `${e.reason} (the container was created with it; containers created where it works use it)`);
      throw e;
    }
    const bind = (opts.bound ?? false) && driver === 'vfs';
    if (bind) {
      try {
        bindNodev(rootfs.path);
      } catch (e) {
        await rootfs.release().catch(() => undefined);
        throw e;
      }
    }
    return new ContainerRootfs(driver, rootfs, bind);
  }

  /** makeReadOnly turns the running root read-only (mount_setattr MOUNT_ATTR_RDONLY), like `mount -o remount,ro,bind`. */
  makeReadOnly(): void {
    mountSetattr(AT.FDCWD, this.path, 0, { attrSet: MOUNT_ATTR.RDONLY });
  }

  /** diff: the changes since the layers, in the shape `createLayer` takes (the union-fs Rootfs's diff). */
  diff(): Promise<LayerChange> {
    return this.#rootfs.diff();
  }

  /** remove releases, then deletes what prepare made (the changes too): for scratch roots. */
  async remove(): Promise<void> {
    await this.release();
    try {
      await this.#rootfs.remove();
    } catch (e) {
      // Rootless: files the container gave its subordinate ids (only ever in the root it wrote,
      // `path`) are deleted inside a user namespace, then the driver's removal is done again.
      if (!isRootless() || !isErrno(e, 'EACCES', 'EPERM')) throw e;
      await removeTree(this.path);
      await this.#rootfs.remove();
    }
  }

  /** release unmounts (what this process mounted) and keeps every change on disk. Idempotent. */
  async release(): Promise<void> {
    if (this.#bound) {
      unmountRoot(this.path);
      this.#bound = false;
    }
    await this.#rootfs.release();
  }
}

/**
 * bindNodev binds `dir` onto itself with MOUNT_ATTR_NODEV (open_tree clone → mount_setattr →
 * move_mount), like `mount --bind -o nodev DIR DIR`: the attributes are set on the detached copy,
 * so the bind is never visible without them.
 */
function bindNodev(dir: string): void {
  const fd = openTree(AT.FDCWD, dir, OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC);
  try {
    mountSetattr(fd, '', AT.EMPTY_PATH, { attrSet: MOUNT_ATTR.NODEV });
    moveMount(fd, '', AT.FDCWD, dir, MOVE_MOUNT.F_EMPTY_PATH);
  } finally {
    fd.close();
  }
}

/**
 * recordedChange: the changes of a container whose root another process (its monitor) has
 * mounted, from the driver's layout alone: overlay's upper dir, vfs's two trees. fuse-overlayfs
 * writes its upper dir in its own form, which only its Rootfs handle turns into the kernel's.
 */
export function recordedChange(id: string, driver: DriverName, dirs: RootfsDirs): LayerChange {
  if (driver === 'overlay') return { upper: dirs.upper!, xattrPrefix: 'trusted' };
  if (driver === 'vfs') return { from: dirs.base!, to: dirs.merged };
  throw new FeatureUnavailableError(
    'reading the changes of a running fuse-overlayfs container from another process',
    `container ${id.slice(0, 12)} runs under a monitor in another process; stop it (or use its monitor's process) to commit or export it`,
  );
}

/** unmountRoot detaches the mount at `target` (`umount -l`); fine when nothing is mounted there. Idempotent. */
export function unmountRoot(target: string): void {
  try {
    umount2(target, MNT.DETACH);
  } catch (e) {
    if (isErrno(e, 'EINVAL', 'ENOENT')) return;
    // Not root: this process mounted nothing in the host's namespace (a rootless container's
    // mounts live and die in its own mount namespace), and may not unmount anything there.
    if (isErrno(e, 'EPERM') && (process.geteuid?.() ?? 0) !== 0) return;
    throw e;
  }
}
