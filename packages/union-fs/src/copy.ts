import {
  type Dirent,
  type Stats,
  constants as fsc,
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  chmodSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { AT, S, fstatat, lgetxattr, llistxattr, lsetxattr, mknodat, utimensat } from '@stratum/native';
import { OPAQUE_WHITEOUT, WHITEOUT_META_PREFIX, WHITEOUT_PREFIX } from '@stratum/layer';

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;
const FUSE_XATTR = /^user\.fuseoverlayfs\./;
const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque'];

/** isWhiteoutStat: an overlayfs whiteout, a 0/0 character device. */
export function isWhiteoutStat(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** xattrNames lists the xattrs of `p` this process may see ([] when the filesystem has none). */
export function xattrNames(p: string): string[] {
  try {
    return llistxattr(p);
  } catch {
    return [];
  }
}

/**
 * isOpaqueDir tells whether a layer directory hides what the layers below have in it: an
 * overlay opaque xattr (`trusted.` / `user.overlay.opaque` = `y`, or fuse-overlayfs's own), or
 * an OCI `.wh..wh..opq` marker inside (`names`, when the caller already listed the directory).
 */
export function isOpaqueDir(p: string, names?: readonly string[]): boolean {
  if (names?.includes(OPAQUE_WHITEOUT)) return true;
  const have = xattrNames(p);
  for (const n of OPAQUE_XATTRS) {
    if (!have.includes(n)) continue;
    try {
      if (lgetxattr(p, n).toString() === 'y') return true;
    } catch {
      // vanished meanwhile
    }
  }
  return false;
}

/**
 * copyMetadata gives `d` the owner, mode, xattrs (not overlay or fuse-overlayfs metadata) and
 * nanosecond times of `s` (whose lstat is `st`), in that order: chown clears setuid bits, and
 * every change but the last bumps only ctime. Node's utimes rounds to microseconds, and
 * createLayer compares mtimeNs, hence utimensat. A refused chown is an error only when
 * `ownerStrict` (root); xattrs the kernel refuses (trusted.*, security.* unprivileged) are skipped.
 */
export function copyMetadata(s: string, d: string, st: Stats, ownerStrict: boolean): void {
  try {
    lchownSync(d, st.uid, st.gid);
  } catch (e) {
    if (ownerStrict) throw e; // rootless: files stay the caller's
  }
  if (!st.isSymbolicLink()) chmodSync(d, st.mode & 0o7777);
  for (const n of xattrNames(s)) {
    if (OVERLAY_XATTR.test(n) || FUSE_XATTR.test(n)) continue;
    try {
      lsetxattr(d, n, lgetxattr(s, n));
    } catch {
      // refused to this caller: skipped
    }
  }
  const t = fstatat(AT.FDCWD, s, AT.SYMLINK_NOFOLLOW);
  utimensat(AT.FDCWD, d, t.atimeNs, t.mtimeNs, AT.SYMLINK_NOFOLLOW);
}

/** Options of {@link copyLayer}. */
export interface CopyOptions {
  /** Read whiteouts and opaque markers of `src` and apply them to `dst` (a layer applied on the layers below); false: a plain tree copy. */
  whiteouts: boolean;
  signal?: AbortSignal | undefined;
}

class Copier {
  #n = 0;
  readonly #links = new Map<string, string>();
  readonly #root = process.getuid?.() === 0;
  constructor(readonly opts: CopyOptions) {}

  async pause(): Promise<void> {
    if (++this.#n % 512 === 0) {
      await tick();
      this.opts.signal?.throwIfAborted();
    }
  }

  // Copies the children of directory `src` into directory `dst` (both exist, both real directories).
  async dir(src: string, dst: string): Promise<void> {
    const entries: Dirent[] = readdirSync(src, { withFileTypes: true });
    const names = entries.map((e) => e.name);
    if (this.opts.whiteouts && isOpaqueDir(src, names)) {
      for (const n of readdirSync(dst)) rmSync(join(dst, n), { recursive: true, force: true });
    }
    for (const e of entries) {
      await this.pause();
      const name = e.name;
      if (this.opts.whiteouts && name.startsWith(WHITEOUT_PREFIX)) {
        // OCI form inside a directory: `.wh.NAME` deletes NAME; `.wh..wh.*` is metadata.
        if (!name.startsWith(WHITEOUT_META_PREFIX)) {
          const target = name.slice(WHITEOUT_PREFIX.length);
          if (target !== '' && target !== '.' && target !== '..') rmSync(join(dst, target), { recursive: true, force: true });
        }
        continue;
      }
      const s = join(src, name);
      const d = join(dst, name);
      const st = lstatSync(s);
      if (this.opts.whiteouts && isWhiteoutStat(st)) {
        rmSync(d, { recursive: true, force: true });
        continue;
      }
      await this.entry(s, d, st);
    }
  }

  async entry(s: string, d: string, st: Stats): Promise<void> {
    const have = lstatSync(d, { throwIfNoEntry: false });
    if (st.isDirectory()) {
      if (have && !have.isDirectory()) rmSync(d, { recursive: true, force: true });
      if (!have || !have.isDirectory()) mkdirSync(d, { mode: 0o700 });
      await this.dir(s, d);
      this.meta(s, d, st);
      return;
    }
    if (have) rmSync(d, { recursive: true, force: true });
    if (st.isFile() && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.#links.get(key);
      if (first !== undefined) {
        linkSync(first, d);
        return;
      }
      this.#links.set(key, d);
    }
    if (st.isFile()) {
      copyFileSync(s, d, fsc.COPYFILE_FICLONE);
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(s), d);
    } else if (st.isFIFO()) {
      mknodat(AT.FDCWD, d, S.IFIFO | 0o600); // Node has no mkfifo; FIFOs need no privilege
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      if (!this.#root) return; // devices need CAP_MKNOD: skipped, as applyLayer does rootless
      const n = fstatat(AT.FDCWD, s, AT.SYMLINK_NOFOLLOW);
      mknodat(AT.FDCWD, d, (st.isCharacterDevice() ? S.IFCHR : S.IFBLK) | (st.mode & 0o7777), n.rdevMajor, n.rdevMinor);
    } else {
      return; // sockets are not copied
    }
    this.meta(s, d, st);
  }

  meta(s: string, d: string, st: Stats): void {
    copyMetadata(s, d, st, this.#root);
  }
}


/**
 * copyLayer copies the tree `src` into the existing directory `dst`: owners (as root), modes,
 * times, xattrs (not overlay metadata), symlinks as symlinks, hard links within `src` as hard
 * links, FIFOs, devices (as root). With `whiteouts`, `src` is a layer in overlay form (0/0
 * character devices, opaque xattrs) or OCI form (`.wh.` names) applied on top of `dst`: what it
 * deletes is removed from `dst`. Never follows a symlink of either tree: every directory it
 * enters in `dst` was checked (lstat) to be a real directory. Yields to the event loop now and
 * then; `signal` aborts between entries (what was copied stays: the caller discards `dst`).
 */
export async function copyLayer(src: string, dst: string, opts: CopyOptions): Promise<void> {
  const c = new Copier(opts);
  opts.signal?.throwIfAborted();
  const st = lstatSync(src);
  if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, '${src}'`), { code: 'ENOTDIR', path: src });
  await c.dir(src, dst);
  c.meta(src, dst, st);
}
