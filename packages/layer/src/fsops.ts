import { readdirSync, writeSync } from 'node:fs';
import { AT, ErrnoError, O, openat, unlinkat, type Fd } from '@stratum/native';

/**
 * procPath names `name` inside the directory open as `dirfd` through /proc/self/fd: the
 * directory is the one the fd holds (no path lookup above it), and `l*` calls on the result do
 * not follow `name` if it is a symlink. For the path-only syscalls (lsetxattr, llistxattr,
 * readdir) on entries that cannot be opened (symlinks, devices, fifos).
 */
export function procPath(dirfd: Fd, name?: string): string {
  return name === undefined ? `/proc/self/fd/${dirfd.fd}` : `/proc/self/fd/${dirfd.fd}/${name}`;
}

/** listDir returns the names in the directory open as `dirfd` (any open mode, O_PATH included), unsorted. */
export function listDir(dirfd: Fd): string[] {
  return readdirSync(procPath(dirfd));
}

/** isErrno tells whether `e` is an ErrnoError with one of `codes`. */
export function isErrno(e: unknown, ...codes: string[]): e is ErrnoError {
  return e instanceof ErrnoError && codes.includes(e.code);
}

/**
 * removeAllAt deletes `name` under `dirfd` and, for a directory, everything in it (`rm -rf`),
 * never following a symlink: each directory is opened with O_NOFOLLOW relative to its parent's
 * fd. Returns false when `name` did not exist.
 */
export function removeAllAt(dirfd: Fd, name: string): boolean {
  try {
    unlinkat(dirfd, name, 0);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    if (!isErrno(e, 'EISDIR', 'EPERM')) throw e;
  }
  let sub: Fd;
  try {
    sub = openat(dirfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
  try {
    for (const child of listDir(sub)) removeAllAt(sub, child);
  } finally {
    sub.close();
  }
  unlinkat(dirfd, name, AT.REMOVEDIR);
  return true;
}

/** writeAll writes all of `buf` to `fd` at `position` (pwrite), looping over short writes. */
export function writeAll(fd: number, buf: Uint8Array, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off, position + off);
    off += n;
  }
}
