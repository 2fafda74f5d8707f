/**
 * Small on-disk state helpers for networks: JSON files written atomically (temp file, fsync,
 * rename, fsync of the directory) so that a crash leaves either the old or the new content, and an
 * exclusive flock around read-modify-write cycles so that two processes never hand out the same
 * address.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { flock, fsyncDir } from '@stratum/native';

/** writeJsonAtomic replaces `path` with `value` as JSON, atomically and durably. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  await fsyncDir(dirname(path));
}

/** readJson returns the parsed file, or `undefined` when it does not exist. */
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
}

const queues = new Map<string, Promise<unknown>>();

/**
 * withLock runs `fn` holding an exclusive flock on `lockPath` (created if needed), serializing
 * state changes across processes. Callers in this process queue in memory first, so that at most
 * one of them waits for the flock at a time (a waiting flock holds a libuv pool thread; many would
 * starve the holder of the pool it needs to finish).
 */
export function withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const fd = openSync(lockPath, fsc.O_RDWR | fsc.O_CREAT, 0o600);
    try {
      await flock(fd, 'ex');
      return await fn();
    } finally {
      closeSync(fd); // releases the lock
    }
  };
  const prev = queues.get(lockPath) ?? Promise.resolve();
  const p = prev.then(run, run);
  const tail = p.catch(() => undefined);
  queues.set(lockPath, tail);
  void tail.then(() => {
    if (queues.get(lockPath) === tail) queues.delete(lockPath);
  });
  return p;
}
