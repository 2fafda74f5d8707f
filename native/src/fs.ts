import { open as openAsync } from 'node:fs/promises';
import { fsync, readlinkSync } from 'node:fs';
import { AT, LOCK, O, RESOLVE, S, UTIME } from './constants.js';
import { ErrnoError } from './errors.js';
import { Fd, fdNumber, describe, type FdLike } from './fd.js';
import { native, type RawStat } from './native.js';
import { flags as flagsArg, int, obj, str } from './validate.js';

/**
 * Stat is what {@link fstatat} and {@link fstat} return (from statx(2)). Times are nanoseconds
 * since the epoch as bigint; `ino` is a bigint because overlayfs (xino) and some filesystems use
 * all 64 bits, which a number cannot hold exactly. `mntId` is the mount id (Linux ≥ 5.8) and tells
 * two mounts of the same filesystem apart, which `dev` cannot.
 */
export interface Stat {
  dev: number;
  ino: bigint;
  /** File type and permission bits: `(mode & S.IFMT) === S.IFDIR`, `mode & 0o7777`. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  rdevMajor: number;
  rdevMinor: number;
  size: number;
  blocks: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mntId?: number;
}

/** The file types of {@link fileType}. */
export type FileType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket' | 'unknown';

/** fileType names the type encoded in a mode (`fileType(st.mode) === 'directory'`). */
export function fileType(mode: number): FileType {
  switch (mode & S.IFMT) {
    case S.IFREG: return 'file';
    case S.IFDIR: return 'directory';
    case S.IFLNK: return 'symlink';
    case S.IFCHR: return 'char';
    case S.IFBLK: return 'block';
    case S.IFIFO: return 'fifo';
    case S.IFSOCK: return 'socket';
    default: return 'unknown';
  }
}

/**
 * A timestamp for {@link utimensat}: `{ sec, nsec }` (nsec in [0, 1e9)), a bigint of nanoseconds
 * since the epoch, `'now'` (UTIME_NOW) or `'omit'` (UTIME_OMIT: leave unchanged).
 */
export type Timestamp = { sec: number; nsec: number } | bigint | 'now' | 'omit';

function path(v: unknown, fn: string, what = 'path', empty = false): string {
  return str(v, fn, what, { empty });
}

function mode(v: unknown, fn: string, dflt?: number): number {
  return int(v, fn, 'mode', 0, 0o177777, dflt);
}

function toStat(r: RawStat): Stat {
  const s: Stat = { ...r, mntId: r.mntId };
  if (r.mntId === undefined) delete s.mntId;
  return s;
}

/**
 * openat opens `path` relative to `dirfd` (an Fd, a number or AT.FDCWD) and returns an owning
 * {@link Fd}. O_CLOEXEC is always added; `mode` (default 0o666, before umask) applies with
 * O_CREAT/O_TMPFILE. Equivalent of openat(2).
 */
export function openat(dirfd: FdLike, path_: string, flags = 0, mode_ = 0o666): Fd {
  const d = fdNumber(dirfd, 'openat', 'dirfd');
  return new Fd(native.openat(d, path(path_, 'openat', 'path', true), flagsArg(flags, 'openat'), mode(mode_, 'openat')));
}

/** Options of {@link openat2}: open(2) `flags`, creation `mode`, and RESOLVE_* bits in `resolve`. */
export interface OpenHow {
  flags?: number;
  mode?: number;
  resolve?: number;
}

/**
 * openat2 opens `path` relative to `dirfd` with kernel-enforced resolution rules (Linux ≥ 5.6):
 * `RESOLVE.IN_ROOT` treats dirfd as `/` (absolute symlinks and `..` stay inside),
 * `RESOLVE.BENEATH` refuses to leave it, `RESOLVE.NO_MAGICLINKS` refuses /proc magic links,
 * `RESOLVE.NO_XDEV` refuses to cross a mount, `RESOLVE.NO_SYMLINKS` refuses any symlink.
 * A kernel EAGAIN (a rename raced a `..` step) is retried a few times unless RESOLVE.CACHED is set.
 * Throws ErrnoError (ENOSYS on kernels without openat2: see {@link features}).
 */
export function openat2(dirfd: FdLike, path_: string, how: OpenHow = {}): Fd {
  const h = obj<OpenHow>(how, 'openat2', 'how');
  const d = fdNumber(dirfd, 'openat2', 'dirfd');
  const p = path(path_, 'openat2', 'path', true);
  const f = flagsArg(h.flags, 'openat2', 'how.flags');
  const m = mode(h.mode, 'openat2', 0);
  const r = flagsArg(h.resolve, 'openat2', 'how.resolve');
  for (let attempt = 0; ; attempt++) {
    try {
      return new Fd(native.openat2(d, p, f, m, r));
    } catch (e) {
      if (e instanceof ErrnoError && e.code === 'EAGAIN' && !(r & RESOLVE.CACHED) && attempt < 32) continue;
      throw e;
    }
  }
}

/** mkdirat creates directory `name` under `dirfd` with `mode` (default 0o777, before umask). mkdirat(2); EEXIST if present. */
export function mkdirat(dirfd: FdLike, name: string, mode_ = 0o777): void {
  native.mkdirat(fdNumber(dirfd, 'mkdirat', 'dirfd'), path(name, 'mkdirat', 'name'), mode(mode_, 'mkdirat'));
}

/** symlinkat creates symlink `name` under `dirfd` pointing at `target` (stored verbatim, never resolved). symlinkat(2), `ln -s`. */
export function symlinkat(target: string, dirfd: FdLike, name: string): void {
  const t = str(target, 'symlinkat', 'target');
  native.symlinkat(t, fdNumber(dirfd, 'symlinkat', 'dirfd'), path(name, 'symlinkat', 'name'));
}

/**
 * linkat creates hard link `newname` (under `newdirfd`) to `oldname` (under `olddirfd`). The old
 * path's trailing symlink is not followed unless `flags` has AT.SYMLINK_FOLLOW; AT.EMPTY_PATH
 * with an empty `oldname` links the inode of `olddirfd` itself. linkat(2), `ln`.
 */
export function linkat(olddirfd: FdLike, oldname: string, newdirfd: FdLike, newname: string, flags = 0): void {
  native.linkat(
    fdNumber(olddirfd, 'linkat', 'olddirfd'),
    path(oldname, 'linkat', 'oldname', true),
    fdNumber(newdirfd, 'linkat', 'newdirfd'),
    path(newname, 'linkat', 'newname'),
    flagsArg(flags, 'linkat'),
  );
}

/**
 * mknodat creates a device node, FIFO or socket `name` under `dirfd`. `mode` includes the type
 * (`S.IFCHR | 0o666`); `major`/`minor` apply to devices. mknodat(2), `mknod`.
 */
export function mknodat(dirfd: FdLike, name: string, mode_: number, major = 0, minor = 0): void {
  const m = mode(mode_, 'mknodat');
  native.mknodat(fdNumber(dirfd, 'mknodat', 'dirfd'), path(name, 'mknodat', 'name'), m, int(major, 'mknodat', 'major'), int(minor, 'mknodat', 'minor'));
}

/** unlinkat removes `name` under `dirfd` (a directory with `AT.REMOVEDIR`, which must be empty). Never follows symlinks. unlinkat(2). */
export function unlinkat(dirfd: FdLike, name: string, flags = 0): void {
  native.unlinkat(fdNumber(dirfd, 'unlinkat', 'dirfd'), path(name, 'unlinkat', 'name'), flagsArg(flags, 'unlinkat'));
}

/**
 * renameat2 atomically renames `oldname` to `newname`. `RENAME.NOREPLACE` fails with EEXIST
 * instead of replacing, `RENAME.EXCHANGE` swaps the two, `RENAME.WHITEOUT` leaves an overlay
 * whiteout at the old name. renameat2(2), `mv` (`mv --exchange` for EXCHANGE).
 */
export function renameat2(olddirfd: FdLike, oldname: string, newdirfd: FdLike, newname: string, flags = 0): void {
  native.renameat2(
    fdNumber(olddirfd, 'renameat2', 'olddirfd'),
    path(oldname, 'renameat2', 'oldname'),
    fdNumber(newdirfd, 'renameat2', 'newdirfd'),
    path(newname, 'renameat2', 'newname'),
    flagsArg(flags, 'renameat2'),
  );
}

function id(v: unknown, fn: string, what: string): number {
  if (v === -1) return 0xffffffff;
  return int(v, fn, what, 0, 0xffffffff);
}

/** fchownat sets owner and group of `name` under `dirfd` (-1 leaves one unchanged); `AT.SYMLINK_NOFOLLOW` changes a symlink itself (`lchown`). fchownat(2). */
export function fchownat(dirfd: FdLike, name: string, uid: number, gid: number, flags = 0): void {
  native.fchownat(fdNumber(dirfd, 'fchownat', 'dirfd'), path(name, 'fchownat', 'name', true), id(uid, 'fchownat', 'uid'), id(gid, 'fchownat', 'gid'), flagsArg(flags, 'fchownat'));
}

/** fchown sets owner and group of an open file (-1 leaves one unchanged). fchown(2). */
export function fchown(fd: FdLike, uid: number, gid: number): void {
  native.fchown(fdNumber(fd, 'fchown'), id(uid, 'fchown', 'uid'), id(gid, 'fchown', 'gid'));
}

/** fchmod sets the permission bits (incl. setuid/setgid/sticky) of an open file; not on O_PATH fds (EBADF). fchmod(2). */
export function fchmod(fd: FdLike, mode_: number): void {
  native.fchmod(fdNumber(fd, 'fchmod'), mode(mode_, 'fchmod') & 0o7777);
}

/**
 * fchmodat sets the permission bits of `name` under `dirfd`. With `AT.SYMLINK_NOFOLLOW` it uses
 * fchmodat2 (Linux ≥ 6.6) or, without it, an O_PATH open of the entry: a symlink then fails
 * with EOPNOTSUPP (Linux symlinks have no mode of their own) instead of changing its target.
 */
export function fchmodat(dirfd: FdLike, name: string, mode_: number, flags = 0): void {
  native.fchmodat(fdNumber(dirfd, 'fchmodat', 'dirfd'), path(name, 'fchmodat', 'name', true), mode(mode_, 'fchmodat') & 0o7777, flagsArg(flags, 'fchmodat'));
}

function timestamp(t: unknown, fn: string, what: string): [number, number] {
  if (t === 'now') return [0, UTIME.NOW];
  if (t === 'omit') return [0, UTIME.OMIT];
  if (typeof t === 'bigint') {
    const sec = t / 1_000_000_000n;
    let nsec = t % 1_000_000_000n;
    let s = sec;
    if (nsec < 0n) {
      nsec += 1_000_000_000n;
      s -= 1n;
    }
    return [Number(s), Number(nsec)];
  }
  if (t !== null && typeof t === 'object') {
    const { sec, nsec } = t as { sec: unknown; nsec: unknown };
    if (typeof sec === 'number' && Number.isSafeInteger(sec) && typeof nsec === 'number' && Number.isInteger(nsec) && nsec >= 0 && nsec < 1e9) {
      return [sec, nsec];
    }
  }
  throw new TypeError(`${fn}: ${what} must be { sec: integer, nsec: integer in [0, 1e9) }, a bigint of nanoseconds, 'now' or 'omit', got ${describe(t)}`);
}

/**
 * utimensat sets access and modification times of `name` under `dirfd` with nanosecond
 * precision (see {@link Timestamp}); `AT.SYMLINK_NOFOLLOW` sets a symlink's own times. An empty
 * `name` sets the times of `dirfd` itself (futimens). utimensat(2), `touch -d`.
 */
export function utimensat(dirfd: FdLike, name: string, atime: Timestamp, mtime: Timestamp, flags = 0): void {
  const d = fdNumber(dirfd, 'utimensat', 'dirfd');
  const n = path(name, 'utimensat', 'name', true);
  const [as, an] = timestamp(atime, 'utimensat', 'atime');
  const [ms, mn] = timestamp(mtime, 'utimensat', 'mtime');
  native.utimensat(d, n === '' ? null : n, as, an, ms, mn, flagsArg(flags, 'utimensat'));
}

/**
 * fstatat returns the {@link Stat} of `name` under `dirfd`; `AT.SYMLINK_NOFOLLOW` stats a symlink
 * itself (lstat), `AT.EMPTY_PATH` with `''` stats dirfd. statx(2), `stat`.
 */
export function fstatat(dirfd: FdLike, name: string, flags = 0): Stat {
  return toStat(native.statx(fdNumber(dirfd, 'fstatat', 'dirfd'), path(name, 'fstatat', 'name', true), flagsArg(flags, 'fstatat')));
}

/** fstat returns the {@link Stat} of an open file (O_PATH descriptors included). */
export function fstat(fd: FdLike): Stat {
  return toStat(native.statx(fdNumber(fd, 'fstat'), '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW));
}

/** readlinkat returns the target of symlink `name` under `dirfd` (`''` reads the O_PATH symlink fd itself). readlinkat(2), `readlink`. */
export function readlinkat(dirfd: FdLike, name: string): string {
  return native.readlinkat(fdNumber(dirfd, 'readlinkat', 'dirfd'), path(name, 'readlinkat', 'name', true));
}

/**
 * fdPath returns the path the kernel has for an open descriptor (readlink /proc/self/fd/N): what
 * a resolved fd really points at, e.g. to check that {@link resolveInRoot} stayed in its root.
 * The path is informational (it can change with renames); keep using the fd.
 */
export function fdPath(fd: FdLike): string {
  const n = fdNumber(fd, 'fdPath');
  try {
    return readlinkSync(`/proc/self/fd/${n}`);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ErrnoError({ code: err.code ?? 'EIO', errno: -(err.errno ?? -5), syscall: 'readlink', path: `/proc/self/fd/${n}`, message: err.message });
  }
}

/** The operations of {@link flock}: shared, exclusive or unlock. */
export type FlockOp = 'sh' | 'ex' | 'un';

/**
 * flock takes (`'sh'`/`'ex'`) or drops (`'un'`) an advisory whole-file lock on `fd`, like
 * `flock(1)`. With `wait: true` (default) a contended lock is waited for on a libuv pool thread,
 * never blocking the event loop (the pool thread stays busy until granted). With `wait: false`
 * it rejects at once with ErrnoError code 'EAGAIN' (EWOULDBLOCK) when the lock is held elsewhere.
 * Locks belong to the open file description: closing the Fd releases it.
 */
export function flock(fd: FdLike, op: FlockOp, opts: { wait?: boolean } = {}): Promise<void> {
  const o = obj<{ wait?: boolean }>(opts, 'flock');
  const n = fdNumber(fd, 'flock');
  const code = op === 'sh' ? LOCK.SH : op === 'ex' ? LOCK.EX : op === 'un' ? LOCK.UN : undefined;
  if (code === undefined) throw new TypeError(`flock: op must be 'sh', 'ex' or 'un', got ${describe(op)}`);
  if (o.wait !== undefined && typeof o.wait !== 'boolean') throw new TypeError(`flock: options.wait must be a boolean, got ${describe(o.wait)}`);
  return native.flock(n, code | (o.wait === false ? LOCK.NB : 0));
}

/**
 * fsyncDir flushes a directory's entries to disk (after creating or renaming files in it, so the
 * new names survive a crash). Runs on the libuv pool. `fsync` on the directory.
 */
export async function fsyncDir(dir: string | Fd): Promise<void> {
  if (dir instanceof Fd) {
    const n = fdNumber(dir, 'fsync');
    await new Promise<void>((resolve, reject) => fsync(n, (e) => (e ? reject(e) : resolve())));
    return;
  }
  const h = await openAsync(str(dir, 'fsyncDir', 'dir'), O.RDONLY | O.DIRECTORY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
