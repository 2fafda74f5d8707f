import { mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { AT, O, openat, type Fd } from '@stratum/native';

/** ShortLinks: short names, relative to `dir`, for an overlay's directories. */
export interface ShortLinks {
  /** The directory holding the links; mount relative to it (`fd` is an O_PATH descriptor of it). */
  readonly dir: string;
  readonly fd: Fd;
  /** Link names of the lower dirs, in the order given (top first). */
  readonly lower: readonly string[];
  readonly upper: string | undefined;
  readonly work: string | undefined;
}

/**
 * One link directory per thread, made on first use and removed when the process exits (or, if
 * it was killed, by the next process that makes one): link
 * names are a counter in base 36 (`0`, `1` … `dw` …) handed out once per absolute path and
 * reused by every later mount, as Docker's overlay2 keeps its `l/` links (making and deleting
 * them on every mount would cost more than the mount).
 */
class LinkDir {
  #dir: string | undefined;
  #fd: Fd | undefined;
  readonly #names = new Map<string, string>();
  #next = 0;

  #open(): { dir: string; fd: Fd } {
    if (this.#dir === undefined || this.#fd === undefined) {
      removeStale();
      this.#dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-${threadId}-`));
      this.#fd = openat(AT.FDCWD, this.#dir, O.PATH | O.DIRECTORY);
      const dir = this.#dir;
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    return { dir: this.#dir, fd: this.#fd };
  }

  /** name returns the link name for `path`, making (or repairing) the link when needed. */
  name(path: string): string {
    const { dir } = this.#open();
    let name = this.#names.get(path);
    if (name !== undefined) {
      try {
        if (readlinkSync(join(dir, name)) === path) return name;
      } catch {
        // removed behind our back: made again below
      }
    } else {
      name = (this.#next++).toString(36);
      this.#names.set(path, name);
    }
    try {
      symlinkSync(path, join(dir, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        // The whole directory is gone (a temp cleaner): start over.
        this.#fd?.close();
        this.#dir = undefined;
        this.#fd = undefined;
        this.#names.clear();
        this.#next = 0;
        return this.name(path);
      }
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      unlinkSync(join(dir, name));
      symlinkSync(path, join(dir, name));
    }
    return name;
  }

  get(): { dir: string; fd: Fd } {
    return this.#open();
  }
}

const PREFIX = 'stratum-ovl-links-';

// Link directories of processes that died without running their exit handler (killed): removed
// by the next process that makes one. A directory whose pid is alive is left alone.
function removeStale(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(PREFIX)) continue;
    const pid = Number(n.slice(PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // alive (or not ours to signal): keep
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    try {
      rmSync(join(tmpdir(), n), { recursive: true, force: true });
    } catch {
      // another user's: not ours to remove
    }
  }
}

const links = new LinkDir();

/**
 * shortLinks names an overlay's directories (absolute paths) with Docker overlay2's `l/` trick:
 * one short symlink per directory in a per-thread link directory, so that a mount(2) data string
 * relative to it stays far below the one-page limit (500 lowers, the kernel's maximum, take about
 * 1.5 KiB) and holds none of the characters overlay's option parser splits on (`,` `:` `\`).
 * overlayfs resolves the links when it mounts; they are kept for the next mount.
 */
export function shortLinks(paths: { lower: readonly string[]; upper?: string | undefined; work?: string | undefined }): ShortLinks {
  const lower = paths.lower.map((p) => links.name(p));
  const upper = paths.upper === undefined ? undefined : links.name(paths.upper);
  const work = paths.work === undefined ? undefined : links.name(paths.work);
  return { ...links.get(), lower, upper, work };
}
