import { randomBytes } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import {
  AT,
  O,
  RENAME,
  S,
  fchmod,
  fchmodat,
  fchown,
  fchownat,
  fgetxattr,
  flistxattr,
  fsetxattr,
  fstat,
  fstatat,
  lgetxattr,
  linkat,
  llistxattr,
  lsetxattr,
  mkdirat,
  mknodat,
  openat,
  readlinkat,
  renameat2,
  resolveInRoot,
  symlinkat,
  unlinkat,
  utimensat,
  type Fd,
  type Stat,
} from '@stratum/native';
import { SourceChangedError } from './errors.js';
import { isErrno, listDir, procPath, removeAllAt } from './fsutil.js';

/** CopyUpProgress: what {@link copyUp} has copied so far. */
export interface CopyUpProgress {
  /** Entries created (files, directories, links, nodes). */
  entries: number;
  /** Bytes of file content copied. */
  bytes: number;
}

/** CopyUpOptions: abort and progress of {@link copyUp}. */
export interface CopyUpOptions {
  /** Aborting stops the copy; what was staged is removed and the volume stays empty. */
  signal?: AbortSignal;
  /** Called after each entry. */
  onProgress?: (p: CopyUpProgress) => void;
}

/** CopyUpResult: whether content was copied (false: no directory at that path in the rootfs, or the volume was not empty) and how much. */
export interface CopyUpResult extends CopyUpProgress {
  copied: boolean;
}

/** STAGE_PREFIX: the name prefix of the staging directory a copy-up makes inside the volume (removed when found stale). */
export const STAGE_PREFIX = '.stratum-copyup-';

const SKIP_XATTR = /^(trusted|user)\.overlay\./;

interface Ctx {
  stage: Fd;
  links: Map<string, string>;
  progress: CopyUpProgress;
  opts: CopyUpOptions;
  lenientOwner: boolean;
}

function chown(ctx: Ctx, set: () => void): void {
  try {
    set();
  } catch (e) {
    // Unprivileged (outside a user namespace that maps them) other owners cannot be set; `cp -a` goes on too.
    if (!(ctx.lenientOwner && isErrno(e, 'EPERM', 'EINVAL'))) throw e;
  }
}

function copyXattrs(list: () => string[], get: (n: string) => Buffer, set: (n: string, v: Buffer) => void): void {
  let names: string[];
  try {
    names = list();
  } catch (e) {
    if (isErrno(e, 'ENOTSUP', 'EOPNOTSUPP')) return;
    throw e;
  }
  for (const n of names) {
    if (SKIP_XATTR.test(n)) continue;
    let v: Buffer;
    try {
      v = get(n);
    } catch (e) {
      if (isErrno(e, 'ENODATA', 'ENOTSUP', 'EOPNOTSUPP')) continue;
      throw e;
    }
    try {
      set(n, v);
    } catch (e) {
      if (!isErrno(e, 'ENOTSUP', 'EOPNOTSUPP')) throw e;
    }
  }
}

function times(dir: Fd, name: string, st: Stat): void {
  utimensat(dir, name, st.atimeNs, st.mtimeNs, AT.SYMLINK_NOFOLLOW);
}

function sameFile(a: Stat, b: Stat): boolean {
  return a.ino === b.ino && a.dev === b.dev && (a.mode & S.IFMT) === (b.mode & S.IFMT);
}

function tick(ctx: Ctx): void {
  ctx.progress.entries++;
  ctx.opts.onProgress?.({ ...ctx.progress });
}

// Copies the entries of `src` into `dst` (both open directories). Every source entry is reached
// from `src` by its name alone with O_NOFOLLOW and checked to be the inode lstat saw, so no
// symlink in the image (and no swap of one) makes the walk leave the source tree; every
// destination entry is created fresh (O_EXCL / mkdirat) in the private staging directory.
async function copyDir(ctx: Ctx, src: Fd, dst: Fd, rel: string): Promise<void> {
  for (const name of listDir(src).sort()) {
    ctx.opts.signal?.throwIfAborted();
    const st = fstatat(src, name, AT.SYMLINK_NOFOLLOW);
    const type = st.mode & S.IFMT;
    const path = rel === '' ? name : `${rel}/${name}`;
    if (type !== S.IFDIR && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = ctx.links.get(key);
      if (first !== undefined) {
        linkat(ctx.stage, first, dst, name, 0);
        tick(ctx);
        continue;
      }
      ctx.links.set(key, path);
    }
    const perm = st.mode & 0o7777;
    if (type === S.IFDIR) {
      using s = openat(src, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
      if (!sameFile(fstat(s), st)) throw raced(path);
      mkdirat(dst, name, 0o700);
      using d = openat(dst, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
      tick(ctx);
      await copyDir(ctx, s, d, path);
      finishDir(ctx, s, d, st);
      times(dst, name, st);
    } else if (type === S.IFREG) {
      using s = openat(src, name, O.RDONLY | O.NOFOLLOW);
      if (!sameFile(fstat(s), st)) throw raced(path);
      using d = openat(dst, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o600);
      // copy_file_range/sendfile in the kernel (libuv), through the two descriptors.
      await copyFile(procPath(s), procPath(d));
      ctx.progress.bytes += st.size;
      chown(ctx, () => fchown(d, st.uid, st.gid));
      fchmod(d, perm);
      copyXattrs(() => flistxattr(s), (n) => fgetxattr(s, n), (n, v) => fsetxattr(d, n, v));
      times(dst, name, st);
      tick(ctx);
    } else if (type === S.IFLNK) {
      symlinkat(readlinkat(src, name), dst, name);
      chown(ctx, () => fchownat(dst, name, st.uid, st.gid, AT.SYMLINK_NOFOLLOW));
      copyXattrs(() => llistxattr(procPath(src, name)), (n) => lgetxattr(procPath(src, name), n), (n, v) => lsetxattr(procPath(dst, name), n, v));
      times(dst, name, st);
      tick(ctx);
    } else {
      // Devices, FIFOs and sockets: a new node of the same type and number (never opened).
      mknodat(dst, name, type | perm, st.rdevMajor, st.rdevMinor);
      chown(ctx, () => fchownat(dst, name, st.uid, st.gid, AT.SYMLINK_NOFOLLOW));
      fchmodat(dst, name, perm, 0);
      copyXattrs(() => llistxattr(procPath(src, name)), (n) => lgetxattr(procPath(src, name), n), (n, v) => lsetxattr(procPath(dst, name), n, v));
      times(dst, name, st);
      tick(ctx);
    }
  }
}

// Owner, mode and xattrs of a directory from its source (times are set by the caller, after
// the last change inside it).
function finishDir(ctx: Ctx, s: Fd, d: Fd, st: Stat): void {
  chown(ctx, () => fchown(d, st.uid, st.gid));
  fchmod(d, st.mode & 0o7777);
  copyXattrs(() => flistxattr(s), (n) => fgetxattr(s, n), (n, v) => fsetxattr(d, n, v));
}

function raced(path: string): SourceChangedError {
  return new SourceChangedError(path);
}

/**
 * copyUp copies the image content at `path` of `rootfs` into the EMPTY directory `dest` (a
 * volume's mountpoint), as Docker does on the first use of an empty volume: ownership, modes
 * (setuid/setgid/sticky included), xattrs (but overlayfs' own), hard links (within the copied
 * tree), symlinks (as links, never followed), device nodes, FIFOs, sockets, and access and
 * modification times, of every entry and of the directory itself.
 *
 * `path` is resolved inside `rootfs` (`resolveInRoot`: openat2 RESOLVE_IN_ROOT), so a symlink in
 * the image pointing at `/etc` or `../../..` reaches the rootfs' own `/etc`, never the host's;
 * below it nothing is followed. Nothing is copied (copied: false) when the path does not exist
 * or is not a directory, or when `dest` already has content.
 *
 * Atomic enough to retry: the tree is built in a private staging directory inside `dest`, then
 * moved into place entry by entry; on failure or abort the staging directory is removed and
 * `dest` is left as it was. A stale staging directory of a crashed copy is removed first.
 * Callers serialize copy-ups of one volume (the store does, under the volume's lock).
 */
export async function copyUp(rootfs: string, path: string, dest: string, opts: CopyUpOptions = {}): Promise<CopyUpResult> {
  const progress: CopyUpProgress = { entries: 0, bytes: 0 };
  opts.signal?.throwIfAborted();
  let src: Fd;
  try {
    src = resolveInRoot(rootfs, path, { flags: O.RDONLY | O.DIRECTORY });
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return { copied: false, ...progress };
    throw e;
  }
  try {
    using d = openat(AT.FDCWD, dest, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
    for (const name of listDir(d)) if (name.startsWith(STAGE_PREFIX)) removeAllAt(d, name);
    if (listDir(d).length > 0) return { copied: false, ...progress };
    const stageName = `${STAGE_PREFIX}${randomBytes(6).toString('hex')}`;
    mkdirat(d, stageName, 0o700);
    try {
      using stage = openat(d, stageName, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
      const ctx: Ctx = { stage, links: new Map(), progress, opts, lenientOwner: process.geteuid?.() !== 0 };
      await copyDir(ctx, src, stage, '');
      for (const name of listDir(stage)) renameat2(stage, name, d, name, RENAME.NOREPLACE);
    } catch (e) {
      removeAllAt(d, stageName);
      throw e;
    }
    unlinkat(d, stageName, AT.REMOVEDIR);
    const st = fstat(src);
    finishDir({ stage: d, links: new Map(), progress, opts, lenientOwner: process.geteuid?.() !== 0 }, src, d, st);
    utimensat(d, '', st.atimeNs, st.mtimeNs);
    return { copied: true, ...progress };
  } finally {
    src.close();
  }
}
