import { native } from './native.js';

const c = native.constants;

/** O holds the open(2) flags of the running architecture (`O.RDONLY`, `O.PATH`, `O.DIRECTORY` …). O_CLOEXEC is always added by this package. */
export const O = Object.freeze(c.O) as Readonly<{
  RDONLY: number; WRONLY: number; RDWR: number; CREAT: number; EXCL: number; TRUNC: number; DIRECTORY: number;
  NOFOLLOW: number; PATH: number; CLOEXEC: number; APPEND: number; NONBLOCK: number; NOCTTY: number; TMPFILE: number;
  NOATIME: number; SYNC: number; DSYNC: number;
}>;

/** RESOLVE holds the openat2(2) `resolve` flags: NO_XDEV, NO_MAGICLINKS, NO_SYMLINKS, BENEATH, IN_ROOT, CACHED. */
export const RESOLVE = Object.freeze(c.RESOLVE) as Readonly<{
  NO_XDEV: number; NO_MAGICLINKS: number; NO_SYMLINKS: number; BENEATH: number; IN_ROOT: number; CACHED: number;
}>;

/** AT holds the *at(2) flags: FDCWD (the current directory as a dirfd), SYMLINK_NOFOLLOW, REMOVEDIR, EMPTY_PATH, SYMLINK_FOLLOW, RECURSIVE, NO_AUTOMOUNT. */
export const AT = Object.freeze(c.AT) as Readonly<{
  FDCWD: number; SYMLINK_NOFOLLOW: number; REMOVEDIR: number; EMPTY_PATH: number; SYMLINK_FOLLOW: number; RECURSIVE: number;
  NO_AUTOMOUNT: number;
}>;

/** MS holds the mount(2) flags (`MS.BIND | MS.REC`, `MS.PRIVATE`, `MS.REMOUNT | MS.RDONLY` …). */
export const MS = Object.freeze(c.MS) as Readonly<{
  RDONLY: number; NOSUID: number; NODEV: number; NOEXEC: number; SYNCHRONOUS: number; REMOUNT: number; MANDLOCK: number;
  DIRSYNC: number; NOSYMFOLLOW: number; NOATIME: number; NODIRATIME: number; BIND: number; MOVE: number; REC: number;
  SILENT: number; UNBINDABLE: number; PRIVATE: number; SLAVE: number; SHARED: number; RELATIME: number; STRICTATIME: number;
  LAZYTIME: number;
}>;

/** MNT holds the umount2(2) flags: FORCE, DETACH (lazy, `umount -l`), EXPIRE, UMOUNT_NOFOLLOW. */
export const MNT = Object.freeze(c.MNT) as Readonly<{ FORCE: number; DETACH: number; EXPIRE: number; UMOUNT_NOFOLLOW: number }>;

/** CLONE holds the namespace flags for unshare(2)/setns(2): NEWNS, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWCGROUP, NEWTIME. */
export const CLONE = Object.freeze(c.CLONE) as Readonly<{
  NEWNS: number; NEWUTS: number; NEWIPC: number; NEWUSER: number; NEWPID: number; NEWNET: number; NEWCGROUP: number; NEWTIME: number;
}>;

/** RENAME holds the renameat2(2) flags: NOREPLACE, EXCHANGE, WHITEOUT. */
export const RENAME = Object.freeze(c.RENAME) as Readonly<{ NOREPLACE: number; EXCHANGE: number; WHITEOUT: number }>;

/** MOUNT_ATTR holds the mount attributes of fsmount(2)/mount_setattr(2) (RDONLY, NOSUID, NODEV, NOEXEC, IDMAP, NOSYMFOLLOW, the atime modes). */
export const MOUNT_ATTR = Object.freeze(c.MOUNT_ATTR) as Readonly<{
  RDONLY: number; NOSUID: number; NODEV: number; NOEXEC: number; _ATIME: number; RELATIME: number; NOATIME: number;
  STRICTATIME: number; NODIRATIME: number; IDMAP: number; NOSYMFOLLOW: number;
}>;

/** FSCONFIG holds the fsconfig(2) commands (SET_FLAG, SET_STRING, SET_BINARY, SET_PATH, SET_PATH_EMPTY, SET_FD, CMD_CREATE, CMD_RECONFIGURE). */
export const FSCONFIG = Object.freeze(c.FSCONFIG) as Readonly<{
  SET_FLAG: number; SET_STRING: number; SET_BINARY: number; SET_PATH: number; SET_PATH_EMPTY: number; SET_FD: number;
  CMD_CREATE: number; CMD_RECONFIGURE: number;
}>;

/** MOVE_MOUNT holds the move_mount(2) flags (F_EMPTY_PATH, T_EMPTY_PATH, F_SYMLINKS, … BENEATH). */
export const MOVE_MOUNT = Object.freeze(c.MOVE_MOUNT) as Readonly<{
  F_SYMLINKS: number; F_AUTOMOUNTS: number; F_EMPTY_PATH: number; T_SYMLINKS: number; T_AUTOMOUNTS: number; T_EMPTY_PATH: number;
  BENEATH: number;
}>;

/** OPEN_TREE holds the open_tree(2) flags (CLONE makes a detached copy of the tree; combine with AT.RECURSIVE for `--rbind`). */
export const OPEN_TREE = Object.freeze(c.OPEN_TREE) as Readonly<{ CLONE: number; CLOEXEC: number }>;

/** XATTR holds the setxattr(2) flags: CREATE (fail if present), REPLACE (fail if absent). */
export const XATTR = Object.freeze(c.XATTR) as Readonly<{ CREATE: number; REPLACE: number }>;

/** S holds the file type and mode bits (`S.IFMT`, `S.IFDIR`, `S.IFCHR` … `S.ISUID`), e.g. for mknodat's mode. */
export const S = Object.freeze(c.S) as Readonly<{
  IFMT: number; IFREG: number; IFDIR: number; IFLNK: number; IFCHR: number; IFBLK: number; IFIFO: number; IFSOCK: number;
  ISUID: number; ISGID: number; ISVTX: number;
}>;

/** UTIME holds the special nanosecond values of utimensat(2): NOW and OMIT. */
export const UTIME = Object.freeze(c.UTIME) as Readonly<{ NOW: number; OMIT: number }>;

/** LOCK holds the flock(2) operations (SH, EX, UN, NB); {@link flock} takes names instead. */
export const LOCK = Object.freeze(c.LOCK) as Readonly<{ SH: number; EX: number; UN: number; NB: number }>;
