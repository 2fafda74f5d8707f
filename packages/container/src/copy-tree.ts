/**
 * copyTree copies a directory tree as it is — file types, modes, owners, times, hard links,
 * symlinks, device nodes, fifos and xattrs (except overlay's private ones) — without following
 * any symlink, like `cp -a`. Used to export a container's root filesystem.
 */
import { chmodSync, copyFileSync, constants as fsc, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AT, S, llistxattr, lgetxattr, lsetxattr, mknodat } from '@stratum/native';

function copyXattrs(from: string, to: string): void {
  let names: string[];
  try {
    names = llistxattr(from);
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith('trusted.overlay.') || n.startsWith('user.overlay.')) continue;
    try {
      lsetxattr(to, n, lgetxattr(from, n));
    } catch {
      // a namespace the target filesystem refuses
    }
  }
}

/** copyTree copies `src` into the new directory `dest` (created). Throws on the first error. */
export function copyTree(src: string, dest: string): void {
  const links = new Map<string, string>();
  const dirs: Array<{ path: string; mode: number; atime: Date; mtime: Date }> = [];
  const walk = (from: string, to: string): void => {
    const st = lstatSync(from);
    if (st.isDirectory()) {
      mkdirSync(to, { mode: 0o700 });
      for (const e of readdirSync(from)) walk(join(from, e), join(to, e));
      lchownSync(to, st.uid, st.gid);
      copyXattrs(from, to);
      dirs.push({ path: to, mode: st.mode & 0o7777, atime: st.atime, mtime: st.mtime });
      return;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first) {
        linkSync(first, to);
        return;
      }
      links.set(key, to);
    }
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (st.isFile()) copyFileSync(from, to, fsc.COPYFILE_FICLONE);
    else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const type = st.isCharacterDevice() ? S.IFCHR : st.isBlockDevice() ? S.IFBLK : S.IFIFO;
      mknodat(AT.FDCWD, to, type | (st.mode & 0o7777), Math.floor(st.rdev / 256) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00));
    } else return; // sockets are not copied
    lchownSync(to, st.uid, st.gid);
    if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777);
    copyXattrs(from, to);
    lutimesSync(to, st.atime, st.mtime);
  };
  walk(src, dest);
  // Directory modes and times last: writing into them changed their mtime.
  for (const d of dirs.reverse()) {
    chmodSync(d.path, d.mode);
    lutimesSync(d.path, d.atime, d.mtime);
  }
}
