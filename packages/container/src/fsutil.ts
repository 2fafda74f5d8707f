import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Fd, flock } from '@stratum/native';

/** isErrno is true when `e` is a Node or native error with one of `codes`. */
export function isErrno(e: unknown, ...codes: string[]): boolean {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' && codes.includes(c);
}

/**
 * writeJsonAtomic replaces `path` with `value` as JSON: temp file in the same directory, fsync,
 * rename, fsync of the directory (with `durable`, the default). A crash leaves the old or the
 * new content, never a mix. Synchronous: state files are small and a trip through the thread pool
 * costs more than the write.
 */
export function writeJsonAtomic(path: string, value: unknown, opts: { durable?: boolean; mode?: number } = {}): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, opts.mode ?? 0o644);
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    if (opts.durable ?? true) fsyncSync(fd);
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
  if (opts.durable ?? true) {
    const d = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }
}

/** readJson returns the parsed file, or undefined when it does not exist (or is empty: a crash before the first rename cannot make one, but a hand edit can). */
export function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined;
    throw e;
  }
  if (text.trim() === '') return undefined;
  return JSON.parse(text) as T;
}

const queues = new Map<string, Promise<unknown>>();

/**
 * withLock runs `fn` holding an exclusive flock on `lockPath` (created if missing). Callers of
 * this process queue in memory first, so that at most one pool thread waits on the flock.
 */
export function withLock<T>(lockPath: string, fn: () => Promise<T> | T): Promise<T> {
  const run = async (): Promise<T> => {
    const fd = new Fd(openSync(lockPath, fsc.O_RDWR | fsc.O_CREAT, 0o600));
    try {
      try {
        await flock(fd, 'ex', { wait: false });
      } catch (e) {
        if (!isErrno(e, 'EAGAIN', 'EWOULDBLOCK')) throw e;
        await flock(fd, 'ex');
      }
      return await fn();
    } finally {
      fd.close();
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

/** ProcessRef: a pid plus its start time (field 22 of /proc/PID/stat), which together survive pid reuse. */
export interface ProcessRef {
  pid: number;
  /** Start time in clock ticks since boot, as a decimal string. */
  start: string;
}

/** procStat returns the fields of /proc/PID/stat after the command name (index 0 is the state), or undefined when gone. */
export function procStat(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** processRef returns `{ pid, start }` for a live process, undefined when it is gone. */
export function processRef(pid: number): ProcessRef | undefined {
  const f = procStat(pid);
  return f ? { pid, start: f[19]! } : undefined;
}

/** processAlive is true while the process of `ref` runs (not a zombie, and not another process with a reused pid). */
export function processAlive(ref: ProcessRef | undefined): boolean {
  if (!ref) return false;
  const f = procStat(ref.pid);
  return f !== undefined && f[19] === ref.start && f[0] !== 'Z' && f[0] !== 'X';
}
