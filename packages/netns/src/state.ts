/**
 * Small on-disk state helpers for networks: JSON files written atomically (temp file, rename) so
 * that a killed process leaves either the old or the new content — durably too (fsync of the file
 * and of the directory) unless the record only describes kernel objects, which a reboot takes
 * with it — and an exclusive flock around read-modify-write cycles so that two processes never
 * hand out the same address.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AT, RENAME, flock, fsyncDir, renameat2 } from '@stratum/native';

/**
 * writeJsonAtomic replaces `path` with `value` as JSON, atomically. `durable: false` skips the
 * fsyncs (and the flush ext4 does when a rename replaces a file): for records of kernel objects
 * (veths, addresses of live endpoints), which do not survive the reboot that a power loss means;
 * the page cache survives a killed process, and the rename keeps it atomic. Read those with
 * {@link readJson}'s `volatile`. A process killed between the exchange and the unlink leaves a
 * `.NAME.*.tmp` file beside it, never a wrong record.
 */
export async function writeJsonAtomic(path: string, value: unknown, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    if (durable) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  if (durable) {
    renameSync(tmp, path);
    await fsyncDir(dirname(path));
    return;
  }
  // ext4 flushes the new file's data when a rename replaces another file (auto_da_alloc, its
  // guard for writers that skip fsync); an exchange of the two names is as atomic for readers and
  // not flushed. The old content, now at the temp name, goes right after.
  try {
    renameat2(AT.FDCWD, tmp, AT.FDCWD, path, RENAME.EXCHANGE);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT' && (e as { code?: string }).code !== 'EINVAL') throw e;
    // Nothing to exchange with yet (or a filesystem without RENAME_EXCHANGE): a plain rename.
    renameSync(tmp, path);
    return;
  }
  unlinkSync(tmp);
}

/**
 * readJson returns the parsed file, or `undefined` when it does not exist. With `volatile` (a
 * record written with `durable: false`) an empty or torn file also reads as absent: only a power
 * loss before the page cache reached the disk leaves one, and the reboot after it took the kernel
 * objects the record described.
 */
export function readJson<T>(path: string, opts: { volatile?: boolean } = {}): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    if (opts.volatile && e instanceof SyntaxError) return undefined;
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
