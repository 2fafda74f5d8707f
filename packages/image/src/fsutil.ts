/** Small file-system steps the store repeats: fsync a directory, write a file atomically. */
import { link, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tempName } from './owner.js';

/** syncDir fsyncs a directory, so that a rename or create in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * writeAtomic replaces (or, with `exclusive`, creates only if absent) `path` with `data`:
 * written to a temp file in `tmp`, fsynced, renamed (or hard-linked) into place, directory
 * fsynced. Readers see the old file or the new one, never a mix. With `exclusive`, returns
 * false when the file already existed (and leaves it alone). `syncDir: false` leaves the
 * directory fsync to the caller (one for several files).
 */
export async function writeAtomic(path: string, data: Uint8Array | string, tmp: string, opts: { exclusive?: boolean; syncDir?: boolean } = {}): Promise<boolean> {
  const t = join(tmp, tempName('file'));
  const fh = await open(t, 'wx', 0o644);
  let placed = false;
  try {
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    if (opts.exclusive) {
      try {
        await link(t, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    } else {
      await rename(t, path);
    }
    placed = true;
    if (opts.syncDir !== false) await syncDir(dirname(path));
    return true;
  } finally {
    await fh.close().catch(() => {});
    if (!placed || opts.exclusive) await unlink(t).catch(() => {});
  }
}

/** isErrno tells whether `err` is a Node system error with code `code`. */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}
