import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AT, ErrnoError, O, flock, fsyncDir, openat, unlinkat, type Fd } from '@stratum/native';

/** isErrno tells whether `e` is an ErrnoError (or a Node SystemError) with one of `codes`. */
export function isErrno(e: unknown, ...codes: string[]): boolean {
  return (e instanceof ErrnoError || e instanceof Error) && codes.includes((e as { code?: string }).code ?? '');
}

/** procPath names `name` inside the directory open as `dirfd` through /proc/self/fd (for the path-only l* xattr calls and readdir). */
export function procPath(dirfd: Fd, name?: string): string {
  return name === undefined ? `/proc/self/fd/${dirfd.fd}` : `/proc/self/fd/${dirfd.fd}/${name}`;
}

/** listDir returns the names in the directory open as `dirfd`. */
export function listDir(dirfd: Fd): string[] {
  return readdirSync(procPath(dirfd));
}

/**
 * removeAllAt deletes `name` under `dirfd` and, for a directory, everything in it (`rm -rf`),
 * never following a symlink (each directory is opened O_NOFOLLOW relative to its parent's fd).
 * Returns false when `name` did not exist.
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

/** writeFileAtomic replaces `path` with `text`: temp file in the same directory, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** readJson returns the parsed file, or undefined when it does not exist. */
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined;
    throw e;
  }
}

const queues = new Map<string, Promise<unknown>>();

/**
 * serialize runs `fn` after every earlier call with the same `key` in this process has settled
 * (so that at most one of them waits on a flock: a waiting flock holds a libuv pool thread).
 */
export function serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const p = prev.then(fn, fn);
  const tail = p.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return p;
}

/** lockFd takes an exclusive flock on `fd` (a directory or file), waiting on the libuv pool. */
export function lockFd(fd: Fd): Promise<void> {
  return flock(fd, 'ex');
}

/** pidAlive tells whether a process with this pid exists (EPERM counts as alive). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}
