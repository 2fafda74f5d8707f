import { AT, FSCONFIG, MOUNT_ATTR, MOVE_MOUNT, MS } from './constants.js';
import { Fd, fdNumber, describe, type FdLike } from './fd.js';
import { native } from './native.js';
import { flags as flagsArg, obj, str } from './validate.js';

/** Options of {@link mount}: mount(2)'s arguments by name. */
export interface MountOptions {
  /** Device, directory (bind), or a name for virtual filesystems (shows in /proc/mounts). */
  source?: string;
  target: string;
  /** Filesystem type ('tmpfs', 'overlay', 'proc' …); omitted for bind/move/propagation changes. */
  fstype?: string;
  /** MS_* bits (`MS.BIND | MS.REC`, `MS.PRIVATE | MS.REC`, `MS.REMOUNT | MS.BIND | MS.RDONLY`). */
  flags?: number;
  /** Filesystem-specific options as mount(2) takes them ('size=16m,mode=755'). */
  data?: string;
}

/**
 * mount attaches a filesystem, bind mount or propagation change with mount(2), like
 * `mount -t FSTYPE -o DATA SOURCE TARGET`. Not idempotent: mounting twice stacks two mounts.
 * Prefer {@link mountFs} for overlay (its errors carry the kernel's reason).
 */
export function mount(opts: MountOptions): void {
  const o = obj<MountOptions>(opts, 'mount');
  const target = str(o.target, 'mount', 'options.target');
  const source = o.source === undefined ? null : str(o.source, 'mount', 'options.source', { empty: true });
  const fstype = o.fstype === undefined ? null : str(o.fstype, 'mount', 'options.fstype');
  const data = o.data === undefined ? null : str(o.data, 'mount', 'options.data', { empty: true });
  native.mount(source, target, fstype, flagsArg(o.flags, 'mount', 'options.flags'), data);
}

/**
 * mountAt is {@link mount} with relative paths — `target`, `source` and the paths inside `data`
 * (overlay's `lowerdir=l/A:l/B`) — resolved against the directory `dirfd` instead of the
 * process's working directory, which never changes: the call runs on a short-lived thread that
 * unshare(CLONE_FS)s and fchdir()s first. This is how Docker's overlay2 keeps the one-page
 * mount(2) data string short with `l/` symlinks, without its re-exec. An ErrnoError's `syscall`
 * is 'mount' (or 'fchdir' when `dirfd` is not a directory). Not idempotent, like mount.
 */
export function mountAt(dirfd: FdLike, opts: MountOptions): void {
  const fd = fdNumber(dirfd, 'mountAt', 'dirfd');
  const o = obj<MountOptions>(opts, 'mountAt');
  const target = str(o.target, 'mountAt', 'options.target');
  const source = o.source === undefined ? null : str(o.source, 'mountAt', 'options.source', { empty: true });
  const fstype = o.fstype === undefined ? null : str(o.fstype, 'mountAt', 'options.fstype');
  const data = o.data === undefined ? null : str(o.data, 'mountAt', 'options.data', { empty: true });
  native.mountAt(fd, source, target, fstype, flagsArg(o.flags, 'mountAt', 'options.flags'), data);
}

/**
 * umount2 detaches the mount at `target`; `MNT.DETACH` is `umount -l` (lazy: gone from the tree
 * now, freed when unused), `MNT.FORCE` is `umount -f`. EINVAL when target is not a mount point.
 */
export function umount2(target: string, flags = 0): void {
  native.umount2(str(target, 'umount2', 'target'), flagsArg(flags, 'umount2'));
}

/**
 * pivotRoot makes `newRoot` the root mount of the calling process's mount namespace and moves
 * the old root to `putOld` (which must be at or under newRoot); `pivotRoot('.', '.')` then
 * `umount2('.', MNT.DETACH)` is crun's way of dropping the old root. Only in a private mount
 * namespace (never in the Node process serving the host): this is what the init helper does.
 * pivot_root(2), `pivot_root NEW OLD`.
 */
export function pivotRoot(newRoot: string, putOld: string): void {
  native.pivotRoot(str(newRoot, 'pivotRoot', 'newRoot'), str(putOld, 'pivotRoot', 'putOld'));
}

/** fsopen opens a filesystem context for `fsname` ('overlay', 'tmpfs' …) to configure with {@link fsconfig}. fsopen(2), Linux ≥ 5.2. */
export function fsopen(fsname: string, flags = 0): Fd {
  return new Fd(native.fsopen(str(fsname, 'fsopen', 'fsname'), flagsArg(flags, 'fsopen')));
}

/** The fsconfig commands by name (or pass an `FSCONFIG.*` number). */
export type FsconfigCmd = 'flag' | 'string' | 'binary' | 'path' | 'path-empty' | 'fd' | 'create' | 'reconfigure';

const CMDS: Record<FsconfigCmd, number> = {
  flag: FSCONFIG.SET_FLAG,
  string: FSCONFIG.SET_STRING,
  binary: FSCONFIG.SET_BINARY,
  path: FSCONFIG.SET_PATH,
  'path-empty': FSCONFIG.SET_PATH_EMPTY,
  fd: FSCONFIG.SET_FD,
  create: FSCONFIG.CMD_CREATE,
  reconfigure: FSCONFIG.CMD_RECONFIGURE,
};

/**
 * fsconfig sets one parameter of a filesystem context or runs a command on it:
 * `fsconfig(fs, 'string', 'lowerdir+', '/l1')`, `fsconfig(fs, 'flag', 'userxattr')`,
 * `fsconfig(fs, 'create')`. For 'path'/'path-empty' `value` is the path and `aux` the dirfd
 * (default AT.FDCWD); for 'fd' `value` is the fd; for 'binary' a Buffer. A failure's
 * ErrnoError carries the kernel's fs-context log in `detail`. fsconfig(2).
 */
export function fsconfig(fd: FdLike, cmd: FsconfigCmd | number, key?: string, value?: string | Buffer | FdLike, aux?: FdLike): void {
  const n = fdNumber(fd, 'fsconfig');
  const c = typeof cmd === 'string' ? CMDS[cmd] : cmd;
  if (c === undefined || !Object.values(CMDS).includes(c)) throw new TypeError(`fsconfig: unknown command ${describe(cmd)}`);
  const isCmd = c === FSCONFIG.CMD_CREATE || c === FSCONFIG.CMD_RECONFIGURE;
  const k = isCmd ? null : str(key, 'fsconfig', 'key');
  let v: string | Buffer | null = null;
  let a = 0;
  switch (c) {
    case FSCONFIG.SET_STRING:
      v = str(value, 'fsconfig', 'value', { empty: true });
      break;
    case FSCONFIG.SET_BINARY:
      if (!Buffer.isBuffer(value)) throw new TypeError(`fsconfig: a 'binary' value must be a Buffer, got ${describe(value)}`);
      v = value;
      break;
    case FSCONFIG.SET_PATH:
    case FSCONFIG.SET_PATH_EMPTY:
      v = str(value, 'fsconfig', 'value', { empty: c === FSCONFIG.SET_PATH_EMPTY });
      a = aux === undefined ? AT.FDCWD : fdNumber(aux, 'fsconfig', 'aux');
      break;
    case FSCONFIG.SET_FD:
      a = fdNumber(value as FdLike, 'fsconfig', 'value');
      break;
  }
  native.fsconfig(n, c, k, v, a);
}

/** fsmount turns a created filesystem context into a detached mount (an Fd) with `MOUNT_ATTR.*` attributes; attach it with {@link moveMount}. fsmount(2). */
export function fsmount(fd: FdLike, flags = 0, attrs = 0): Fd {
  return new Fd(native.fsmount(fdNumber(fd, 'fsmount'), flagsArg(flags, 'fsmount'), flagsArg(attrs, 'fsmount', 'attrs')));
}

/**
 * moveMount attaches (or moves) a mount: `moveMount(mnt, '', AT.FDCWD, '/target', MOVE_MOUNT.F_EMPTY_PATH)`
 * attaches a detached mount from {@link fsmount} or {@link openTree}. move_mount(2).
 */
export function moveMount(fromDirfd: FdLike, fromPath: string, toDirfd: FdLike, toPath: string, flags = 0): void {
  native.moveMount(
    fdNumber(fromDirfd, 'moveMount', 'fromDirfd'),
    str(fromPath, 'moveMount', 'fromPath', { empty: true }),
    fdNumber(toDirfd, 'moveMount', 'toDirfd'),
    str(toPath, 'moveMount', 'toPath', { empty: true }),
    flagsArg(flags, 'moveMount'),
  );
}

/**
 * openTree returns an O_PATH-like Fd for the mount at `path`; with `OPEN_TREE.CLONE` (| `AT.RECURSIVE`)
 * a detached copy of it — a bind mount (`mount --rbind`) not yet attached anywhere. open_tree(2).
 */
export function openTree(dirfd: FdLike, path: string, flags = 0): Fd {
  return new Fd(native.openTree(fdNumber(dirfd, 'openTree', 'dirfd'), str(path, 'openTree', 'path', { empty: true }), flagsArg(flags, 'openTree')));
}

/** Attribute changes of {@link mountSetattr}. */
export interface MountAttr {
  /** MOUNT_ATTR.* bits to set. */
  attrSet?: number;
  /** MOUNT_ATTR.* bits to clear (to change the atime mode, clear `MOUNT_ATTR._ATIME`). */
  attrClr?: number;
  /** MS.PRIVATE, MS.SLAVE, MS.SHARED or MS.UNBINDABLE (0 leaves propagation alone). */
  propagation?: number;
  /** A user namespace fd for `MOUNT_ATTR.IDMAP` (an idmapped mount). */
  userns?: FdLike;
}

/**
 * mountSetattr changes attributes of the mount at `path` (and, with `AT.RECURSIVE` in `flags`,
 * of every mount below it) atomically: read-only, nosuid, propagation, idmap.
 * mount_setattr(2), Linux ≥ 5.12, like `mount -o remount,bind,ro` or `mount --make-rprivate`.
 */
export function mountSetattr(dirfd: FdLike, path: string, flags: number, attr: MountAttr): void {
  const a = obj<MountAttr>(attr, 'mountSetattr', 'attr');
  const prop = flagsArg(a.propagation, 'mountSetattr', 'attr.propagation');
  if (prop !== 0 && ![MS.PRIVATE, MS.SLAVE, MS.SHARED, MS.UNBINDABLE].includes(prop)) {
    throw new TypeError('mountSetattr: attr.propagation must be one of MS.PRIVATE, MS.SLAVE, MS.SHARED, MS.UNBINDABLE');
  }
  const set = flagsArg(a.attrSet, 'mountSetattr', 'attr.attrSet');
  const userns = a.userns === undefined ? -1 : fdNumber(a.userns, 'mountSetattr', 'attr.userns');
  if (set & MOUNT_ATTR.IDMAP && userns < 0) throw new TypeError('mountSetattr: MOUNT_ATTR.IDMAP needs attr.userns');
  native.mountSetattr(
    fdNumber(dirfd, 'mountSetattr', 'dirfd'),
    str(path, 'mountSetattr', 'path', { empty: true }),
    flagsArg(flags, 'mountSetattr'),
    set,
    flagsArg(a.attrClr, 'mountSetattr', 'attr.attrClr'),
    prop,
    userns,
  );
}

/** Options of {@link mountFs}. */
export interface MountFsOptions {
  /** Filesystem type: 'overlay', 'tmpfs', 'proc' … */
  fstype: string;
  /** The `source` parameter (shows in /proc/mounts; put "stratum" in it so leak checks find it). */
  source?: string;
  /** Parameters in order: `[key]` is a flag, `[key, value]` a string. Keys may repeat (`lowerdir+`). */
  options?: Array<[key: string, value?: string]>;
  /** Where to attach the new mount. */
  target: string;
  /** MOUNT_ATTR.* bits of the mount (RDONLY, NOSUID, NODEV, NOEXEC …). */
  attrs?: number;
  /** Extra move_mount flags for attaching at `target`: MOVE_MOUNT.T_SYMLINKS (follow a symlink target), MOVE_MOUNT.BENEATH (Linux ≥ 6.5). */
  flags?: number;
}

/**
 * mountFs mounts a filesystem through the new mount API in one native call: fsopen → fsconfig of
 * `source` and each option in order → create → fsmount → move_mount onto `target`. Nothing is
 * left half-made on failure, and the ErrnoError carries the option that failed and the kernel's
 * fs-context log in `detail` (overlay explains itself there: "overlay: failed to resolve
 * '/x': -2"). Like `mount -t overlay -o lowerdir+=/l1,lowerdir+=/l2,... stratum /target`.
 */
export function mountFs(opts: MountFsOptions): void {
  const o = obj<MountFsOptions>(opts, 'mountFs');
  const fstype = str(o.fstype, 'mountFs', 'options.fstype');
  const target = str(o.target, 'mountFs', 'options.target');
  const source = o.source === undefined ? null : str(o.source, 'mountFs', 'options.source', { empty: true });
  const list = o.options ?? [];
  if (!Array.isArray(list)) throw new TypeError(`mountFs: options.options must be an array of [key, value?], got ${describe(list)}`);
  const keys: string[] = [];
  const values: Array<string | null> = [];
  list.forEach((entry, i) => {
    if (!Array.isArray(entry) || entry.length < 1 || entry.length > 2) {
      throw new TypeError(`mountFs: options.options[${i}] must be [key] or [key, value], got ${describe(entry)}`);
    }
    keys.push(str(entry[0], 'mountFs', `options.options[${i}][0]`));
    values.push(entry[1] === undefined ? null : str(entry[1], 'mountFs', `options.options[${i}][1]`, { empty: true }));
  });
  const moveFlags = flagsArg(o.flags, 'mountFs', 'options.flags');
  if (moveFlags & (MOVE_MOUNT.F_EMPTY_PATH | MOVE_MOUNT.F_SYMLINKS | MOVE_MOUNT.F_AUTOMOUNTS | MOVE_MOUNT.T_EMPTY_PATH)) {
    throw new TypeError('mountFs: options.flags may only hold MOVE_MOUNT.T_SYMLINKS, T_AUTOMOUNTS or BENEATH');
  }
  native.mountFs(fstype, source, keys, values, target, flagsArg(o.attrs, 'mountFs', 'options.attrs'), moveFlags);
}
