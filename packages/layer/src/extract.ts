import { ftruncateSync, readFileSync } from 'node:fs';
import {
  AT,
  ErrnoError,
  O,
  S,
  fchmod,
  fchmodat,
  fchown,
  fchownat,
  fsetxattr,
  llistxattr,
  fstat,
  fstatat,
  linkat,
  lsetxattr,
  mkdirat,
  mknodat,
  openat,
  readlinkat,
  resolveInRoot,
  symlinkat,
  unlinkat,
  utimensat,
  type Fd,
  type Stat,
} from '@stratum/native';
import { InvalidLayerEntryError, UnsafeLayerEntryError, UnsupportedLayerError } from './errors.js';
import { isErrno, listDir, procPath, removeAllAt, writeAll } from './fsops.js';
import { baseOf, cleanName, joinPath, parentOf } from './path.js';
import type { TarEntry, TarHandler, TarTime } from './tar/reader.js';
import { OPAQUE_WHITEOUT, WHITEOUT_META_PREFIX, WHITEOUT_PREFIX, isOverlayXattr, overlayOpaqueXattr, type OverlayXattrPrefix } from './whiteout.js';

/** ApplyWarningCode: why {@link applyLayer} skipped (part of) an entry instead of failing; see {@link ApplyWarning}. */
export type ApplyWarningCode =
  /** A char/block device: not asked for (`keepDevices`), or rootless, or mknod refused (EPERM). */
  | 'DEVICE_SKIPPED'
  /** An extended attribute the kernel refused: ENOTSUP (the filesystem), EPERM (trusted.* without CAP_SYS_ADMIN, user.* on a symlink or device). */
  | 'XATTR_SKIPPED'
  /** `security.capability` dropped because `keepSetuid` was not set (file capabilities grant privileges as setuid does). */
  | 'CAPABILITY_DROPPED'
  /** A non-directory entry naming the root itself (`./`, `/`, `..`): it cannot replace the root (containerd ignores it too). */
  | 'ROOT_ENTRY_SKIPPED'
  /** aufs whiteout metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): not content, ignored as Docker does. */
  | 'WHITEOUT_META_SKIPPED';

/** ApplyWarning: something {@link applyLayer} skipped on purpose; `entry`/`offset` name the tar member. */
export interface ApplyWarning {
  code: ApplyWarningCode;
  entry: string;
  offset: number;
  detail: string;
}

/** The resolved behaviour of one apply (see ApplyOptions for what each means). */
export interface ExtractOptions {
  whiteouts: 'oci' | 'overlay';
  rootless: boolean;
  keepSetuid: boolean;
  keepDevices: boolean;
  xattrPrefix: OverlayXattrPrefix;
  strict: boolean;
  fallback: boolean;
  warn(w: ApplyWarning): void;
}

/** How many directory descriptors the extractor keeps open between entries. */
const DIR_CACHE = 256;

const CAPABILITY = 'security.capability';
const MAX_SYMLINKS = 40;

// Errors that say "this entry cannot be applied here" rather than "the host failed".
const ENTRY_ERRNOS = new Set(['ENOTDIR', 'EEXIST', 'ENOENT', 'ELOOP', 'EISDIR', 'EXDEV', 'EMLINK', 'ENAMETOOLONG', 'EINVAL', 'ENOTEMPTY']);

interface OpenFile {
  fd: Fd;
  entry: TarEntry;
  mode: number;
  /** The file was created with its final owner / mode already (no fchown / fchmod needed). */
  ownerOk: boolean;
  modeOk: boolean;
}

/** What decides the owner and mode of a file created in a directory. */
interface DirInfo {
  gid: number;
  /** The directory has a default ACL (it, not the umask, masks the creation mode). */
  acl: boolean;
}

/** This process's umask (from /proc/self/status), or undefined when unknown. */
function readUmask(): number | undefined {
  try {
    const m = /^Umask:\s+([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}

interface DeferredDir {
  mode: number;
  mtime: TarTime;
}

/**
 * Extractor applies tar entries to a directory tree: it is the {@link TarHandler} that
 * `applyLayer` feeds. Every path is resolved inside the root: parents through a cache of
 * directory descriptors, each reached from the root by `openat(O_NOFOLLOW)` of a real directory
 * or by `resolveInRoot` (openat2 RESOLVE_IN_ROOT, or its checked fallback) when a component is a
 * symlink; the final component is always created, replaced or deleted relative to its parent's
 * descriptor, never followed. Synchronous: each call does its syscalls before returning.
 */
export class Extractor implements TarHandler {
  readonly #root: Fd;
  readonly #o: ExtractOptions;
  readonly #cache = new Map<string, Fd>();
  #retired: Fd[] = [];
  /** Paths this layer created (a whiteout never deletes them; an opaque marker keeps them). */
  readonly #unpacked = new Set<string>();
  /** Ancestors of unpacked paths (an opaque marker descends into them instead of deleting them). */
  readonly #ancestors = new Set<string>();
  /** Directories whose mode and times are set at the end, after their contents. */
  readonly #dirs = new Map<string, DeferredDir>();
  /**
   * Directories this layer changes without an entry of their own (a child added or deleted):
   * their mtime before the change, restored at the end, so that only what the archive says
   * changes (umoci does the same) and the result does not depend on the time of the apply.
   */
  readonly #restore = new Map<string, bigint>();
  #file: OpenFile | undefined;
  readonly #nofollow = AT.SYMLINK_NOFOLLOW;
  /** Owner and default-ACL facts of cached directories (reset whenever a directory's owner or xattrs change). */
  #dirInfo = new WeakMap<Fd, DirInfo>();
  readonly #umask = readUmask();
  readonly #euid = process.geteuid?.() ?? -1;
  readonly #egid = process.getegid?.() ?? -1;
  /** The last directory looked up (consecutive entries mostly share their parent). */
  #lastPath: string | undefined;
  #lastFd: Fd | undefined;

  constructor(root: Fd, opts: ExtractOptions) {
    this.#root = root;
    this.#o = opts;
  }

  entry(e: TarEntry): void {
    try {
      this.#entry(e);
    } catch (err) {
      this.#closeFile();
      throw this.#wrap(err, e);
    } finally {
      this.#settle();
    }
  }

  data(chunk: Uint8Array, position: number): void {
    const f = this.#file;
    if (!f) return;
    try {
      writeAll(f.fd.fd, chunk, position);
    } catch (err) {
      this.#closeFile();
      throw err;
    }
  }

  endEntry(): void {
    const f = this.#file;
    if (!f) return;
    this.#file = undefined;
    try {
      const e = f.entry;
      if (e.sparse) ftruncateSync(f.fd.fd, e.size);
      if (!f.ownerOk) fchown(f.fd, e.uid, e.gid);
      // After chown: chown clears setuid/setgid bits and file capabilities.
      if (!f.modeOk) fchmod(f.fd, f.mode);
      this.#xattrs(e, (name, value) => fsetxattr(f.fd, name, value));
      utimensat(f.fd, '', e.mtime, e.mtime);
    } catch (err) {
      throw this.#wrap(err, f.entry);
    } finally {
      f.fd.close();
    }
  }

  /** finish sets the deferred mode and times of directories, deepest first. Call once, after the last entry. */
  finish(): void {
    const paths = [...this.#dirs.keys()].sort((a, b) => depth(b) - depth(a));
    for (const path of paths) {
      const d = this.#dirs.get(path)!;
      let fd: Fd;
      try {
        const parent = this.#dir(parentOf(path), false);
        if (!parent) continue;
        fd = path === '' ? openat(parent, '.', O.RDONLY | O.DIRECTORY) : openat(parent, baseOf(path), O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
      } catch (err) {
        // Replaced by a non-directory after its entry (its record is dropped then; be safe anyway).
        if (isErrno(err, 'ENOENT', 'ENOTDIR', 'ELOOP')) continue;
        throw err;
      } finally {
        this.#settle();
      }
      try {
        fchmod(fd, d.mode);
        utimensat(fd, '', d.mtime, d.mtime);
      } finally {
        fd.close();
      }
    }
    // Earliest record last: a directory reached under two names keeps its original time.
    for (const [path, mtime] of [...this.#restore].reverse()) {
      if (this.#dirs.has(path)) continue;
      const dir = this.#dir(path, false);
      if (!dir) continue;
      try {
        using fd = openat(dir, '.', O.RDONLY | O.DIRECTORY);
        utimensat(fd, '', 'omit', mtime);
      } finally {
        this.#settle();
      }
    }
    this.#dirs.clear();
    this.#restore.clear();
  }

  // Remembers the mtime of directory `dirPath` before this layer changes what it holds.
  #touch(dirPath: string): void {
    if (this.#dirs.has(dirPath) || this.#restore.has(dirPath)) return;
    const dir = this.#dir(dirPath, false);
    if (dir) this.#restore.set(dirPath, fstat(dir).mtimeNs);
  }

  /** close releases every descriptor (idempotent); an entry being written is left as is. */
  close(): void {
    this.#closeFile();
    for (const fd of this.#cache.values()) fd.close();
    this.#cache.clear();
    this.#settle();
  }

  #closeFile(): void {
    this.#file?.fd.close();
    this.#file = undefined;
  }

  #wrap(err: unknown, e: TarEntry): unknown {
    if (err instanceof ErrnoError && ENTRY_ERRNOS.has(err.code)) {
      return new InvalidLayerEntryError(e.name, e.offset, `${err.syscall ?? 'syscall'}${err.path ? ` ${JSON.stringify(err.path)}` : ''}: ${err.code}`, { cause: err });
    }
    return err;
  }

  // Closes descriptors dropped from the cache during the last operation, and trims the cache.
  #settle(): void {
    for (const fd of this.#retired) fd.close();
    this.#retired = [];
    while (this.#cache.size > DIR_CACHE) {
      const [k, fd] = this.#cache.entries().next().value as [string, Fd];
      this.#cache.delete(k);
      if (fd === this.#lastFd) {
        this.#lastPath = undefined;
        this.#lastFd = undefined;
      }
      fd.close();
    }
  }

  // Something was removed or replaced that cached paths may go through (a directory or a symlink).
  #invalidate(): void {
    for (const fd of this.#cache.values()) this.#retired.push(fd);
    this.#cache.clear();
    this.#lastPath = undefined;
    this.#lastFd = undefined;
  }

  /**
   * #dir returns a descriptor (O_PATH) of the directory `path` inside the root, creating missing
   * directories (mode 0755) when `create` is set, or undefined when one is missing and it is not.
   * Real directories are opened with O_NOFOLLOW from their parent's descriptor; a symlink among
   * the components is resolved by resolveInRoot, so it lands inside the root (containerd's clamp).
   */
  #dir(path: string, create: boolean): Fd | undefined {
    if (path === '') return this.#root;
    if (path === this.#lastPath) return this.#lastFd;
    const hit = this.#cache.get(path);
    if (hit) {
      this.#cache.delete(path);
      this.#cache.set(path, hit);
      this.#lastPath = path;
      this.#lastFd = hit;
      return hit;
    }
    const parent = this.#dir(parentOf(path), create);
    if (!parent) return undefined;
    const base = baseOf(path);
    let fd: Fd;
    try {
      fd = openat(parent, base, O.PATH | O.DIRECTORY | O.NOFOLLOW);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        if (!create) return undefined;
        mkdirat(parent, base, 0o755);
        this.#markAncestor(path);
        fd = openat(parent, base, O.PATH | O.DIRECTORY | O.NOFOLLOW);
      } else if (isErrno(err, 'ENOTDIR', 'ELOOP')) {
        // A symlink (or a non-directory): resolve the whole path inside the root.
        try {
          fd = resolveInRoot(this.#root, path, { flags: O.PATH | O.DIRECTORY, fallback: this.#o.fallback });
        } catch (e2) {
          // Looking up without creating (whiteouts, hard link targets): nothing there to find.
          if (!create && isErrno(e2, 'ENOENT', 'ENOTDIR', 'ELOOP')) return undefined;
          if (!isErrno(e2, 'ENOENT')) throw e2;
          // A dangling symlink: create its target inside the root (containerd's MkdirAll of the root path).
          fd = this.#walkCreate(path);
        }
      } else {
        throw err;
      }
    }
    this.#cache.set(path, fd);
    this.#lastPath = path;
    this.#lastFd = fd;
    return fd;
  }

  /**
   * #walkCreate resolves `path` one component at a time, creating missing directories (0755):
   * each step is an openat(O_PATH|O_NOFOLLOW) relative to a directory already reached from the
   * root, `..` pops the walked stack (clamped at the root), a symlink's target is queued in its
   * place (absolute ones restart at the root), at most 40 symlinks. So the targets of dangling
   * symlinks are made inside the root, as the kernel would resolve them with RESOLVE_IN_ROOT.
   */
  #walkCreate(path: string): Fd {
    const stack: Fd[] = [];
    const cur = (): Fd => stack[stack.length - 1] ?? this.#root;
    const queue = path.split('/');
    let links = 0;
    try {
      while (queue.length > 0) {
        const c = queue.shift()!;
        if (c === '' || c === '.') continue;
        if (c === '..') {
          stack.pop()?.close();
          continue;
        }
        let fd: Fd;
        try {
          fd = openat(cur(), c, O.PATH | O.NOFOLLOW);
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
          mkdirat(cur(), c, 0o755);
          fd = openat(cur(), c, O.PATH | O.NOFOLLOW | O.DIRECTORY);
        }
        const type = fstat(fd).mode & S.IFMT;
        if (type === S.IFLNK) {
          const target = readlinkat(fd, '');
          fd.close();
          if (++links > MAX_SYMLINKS) throw new ErrnoError({ code: 'ELOOP', errno: 40, syscall: 'openat', path, message: 'Too many levels of symbolic links' });
          if (target.startsWith('/')) while (stack.length > 0) stack.pop()!.close();
          queue.unshift(...target.split('/'));
          continue;
        }
        if (type !== S.IFDIR) {
          fd.close();
          throw new ErrnoError({ code: 'ENOTDIR', errno: 20, syscall: 'openat', path, message: 'Not a directory' });
        }
        stack.push(fd);
      }
      return stack.pop() ?? openat(this.#root, '.', O.PATH | O.DIRECTORY);
    } finally {
      for (const fd of stack) fd.close();
    }
  }

  #markAncestor(path: string): void {
    for (let p = path; p !== '' && !this.#ancestors.has(p); p = parentOf(p)) this.#ancestors.add(p);
  }

  #markUnpacked(path: string): void {
    this.#unpacked.add(path);
    this.#markAncestor(parentOf(path));
  }

  #entry(e: TarEntry): void {
    if (e.name.includes('\0') || e.linkname.includes('\0')) throw new UnsafeLayerEntryError(e.name, 'NUL_IN_NAME', e.offset, 'a NUL byte in the name or link target');
    const c = cleanName(e.name);
    if (this.#o.strict && c.clamped) throw new UnsafeLayerEntryError(e.name, 'PATH_ESCAPE', e.offset, '".." climbs above the root');
    const path = c.path;
    const base = baseOf(path);
    const dirPath = parentOf(path);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.#whiteoutEntry(e, dirPath, base);
    if (path === '') {
      if (e.type !== 'directory') {
        this.#o.warn({ code: 'ROOT_ENTRY_SKIPPED', entry: e.name, offset: e.offset, detail: `a ${e.type} entry cannot replace the root` });
        return;
      }
      if (!this.#o.rootless) fchownat(this.#root, '', e.uid, e.gid, AT.EMPTY_PATH);
      this.#dirInfo = new WeakMap();
      if (e.xattrs) {
        using fd = openat(this.#root, '.', O.RDONLY | O.DIRECTORY);
        this.#xattrs(e, (name, value) => fsetxattr(fd, name, value));
      }
      this.#dirs.set('', { mode: this.#mode(e), mtime: e.mtime });
      return;
    }
    this.#touch(dirPath);
    const parent = this.#dir(dirPath, true)!;
    switch (e.type) {
      case 'directory':
        return this.#directory(e, parent, base, path);
      case 'file':
        return this.#regular(e, parent, base, path);
      case 'symlink':
        return this.#symlink(e, parent, base, path, dirPath);
      case 'link':
        return this.#hardlink(e, parent, base, path);
      case 'char':
      case 'block':
      case 'fifo':
        return this.#node(e, parent, base, path);
      default:
        throw new InvalidLayerEntryError(e.name, e.offset, `unsupported tar entry type ${JSON.stringify(String.fromCharCode(e.typeflag))}`);
    }
  }

  #mode(e: TarEntry): number {
    // setgid on a directory only sets the group of new files: kept. On files it grants privileges.
    if (this.#o.keepSetuid || e.type === 'directory') return e.mode & 0o7777;
    return e.mode & 0o1777;
  }

  /**
   * Removes whatever is at `base` under `parent` (never following it). With `keepDir`, an
   * existing directory stays (a directory entry over a directory merges). Returns what was there.
   */
  #clear(parent: Fd, base: string, path: string, keepDir: boolean): 'none' | 'dir' | 'removed' {
    let st: Stat;
    try {
      st = fstatat(parent, base, this.#nofollow);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 'none';
      throw err;
    }
    const type = st.mode & S.IFMT;
    if (type === S.IFDIR) {
      if (keepDir) return 'dir';
      removeAllAt(parent, base);
      this.#dropDirs(path);
      this.#invalidate();
    } else {
      unlinkat(parent, base, 0);
      if (type === S.IFLNK) this.#invalidate();
    }
    return 'removed';
  }

  // A directory at `path` was removed: forget the deferred metadata of it and of everything below.
  #dropDirs(path: string): void {
    const prefix = `${path}/`;
    for (const k of this.#dirs.keys()) if (k === path || k.startsWith(prefix)) this.#dirs.delete(k);
    for (const k of this.#restore.keys()) if (k === path || k.startsWith(prefix)) this.#restore.delete(k);
  }

  #directory(e: TarEntry, parent: Fd, base: string, path: string): void {
    try {
      mkdirat(parent, base, 0o700);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      if (this.#clear(parent, base, path, true) !== 'dir') mkdirat(parent, base, 0o700);
    }
    this.#markUnpacked(path);
    if (!this.#o.rootless) fchownat(parent, base, e.uid, e.gid, this.#nofollow);
    if (e.xattrs) this.#xattrs(e, (name, value) => lsetxattr(procPath(parent, base), name, value));
    this.#dirInfo = new WeakMap();
    this.#dirs.set(path, { mode: this.#mode(e), mtime: e.mtime });
  }

  #regular(e: TarEntry, parent: Fd, base: string, path: string): void {
    const flags = O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW;
    const mode = this.#mode(e);
    // Most files can be created with their final owner and mode, saving tar's fchown and
    // fchmod: the owner is ours and the directory's group is ours too (so neither a setgid
    // directory nor the grpid mount option gives the file another group), and the mode has no
    // special bits and nothing the umask or a default ACL would take away.
    const info = this.#info(parent);
    const ownerOk = this.#o.rootless || (e.uid === this.#euid && e.gid === this.#egid && info.gid === this.#egid);
    const modeOk = (mode & 0o7000) === 0 && this.#umask !== undefined && (mode & this.#umask) === 0 && !info.acl;
    const create = modeOk ? mode : 0o600;
    let fd: Fd;
    try {
      fd = openat(parent, base, flags, create);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      this.#clear(parent, base, path, false);
      fd = openat(parent, base, flags, create);
    }
    this.#markUnpacked(path);
    this.#file = { fd, entry: e, mode, ownerOk, modeOk };
  }

  #info(dir: Fd): DirInfo {
    let info = this.#dirInfo.get(dir);
    if (info === undefined) {
      let acl = false;
      try {
        // A listing, not a get: no error (and its stack trace) for the usual "absent".
        acl = llistxattr(`${procPath(dir)}/.`).includes('system.posix_acl_default');
      } catch (err) {
        if (!isErrno(err, 'ENOTSUP', 'EOPNOTSUPP')) throw err;
      }
      info = { gid: fstat(dir).gid, acl };
      this.#dirInfo.set(dir, info);
    }
    return info;
  }

  #symlink(e: TarEntry, parent: Fd, base: string, path: string, dirPath: string): void {
    if (this.#o.strict && !e.linkname.startsWith('/') && cleanName(`${dirPath}/${e.linkname}`).clamped) {
      throw new UnsafeLayerEntryError(e.name, 'SYMLINK_ESCAPE', e.offset, `symlink target ${JSON.stringify(e.linkname)} climbs above the root`);
    }
    if (e.linkname === '') throw new InvalidLayerEntryError(e.name, e.offset, 'symlink with an empty target');
    try {
      symlinkat(e.linkname, parent, base);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      this.#clear(parent, base, path, false);
      symlinkat(e.linkname, parent, base);
    }
    this.#markUnpacked(path);
    if (!this.#o.rootless) fchownat(parent, base, e.uid, e.gid, this.#nofollow);
    if (e.xattrs) this.#xattrs(e, (name, value) => lsetxattr(procPath(parent, base), name, value));
    utimensat(parent, base, e.mtime, e.mtime, this.#nofollow);
  }

  #hardlink(e: TarEntry, parent: Fd, base: string, path: string): void {
    const t = cleanName(e.linkname);
    if (this.#o.strict && t.clamped) throw new UnsafeLayerEntryError(e.name, 'PATH_ESCAPE', e.offset, `hard link target ${JSON.stringify(e.linkname)} climbs above the root`);
    if (t.path === '') throw new InvalidLayerEntryError(e.name, e.offset, 'hard link to the root directory');
    if (t.path === path) return; // a link to itself: nothing to do
    const tparent = this.#dir(parentOf(t.path), false);
    if (!tparent) throw new InvalidLayerEntryError(e.name, e.offset, `hard link target ${JSON.stringify(e.linkname)} does not exist`);
    const tbase = baseOf(t.path);
    let tst: Stat;
    try {
      tst = fstatat(tparent, tbase, this.#nofollow);
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) throw new InvalidLayerEntryError(e.name, e.offset, `hard link target ${JSON.stringify(e.linkname)} does not exist`);
      throw err;
    }
    if ((tst.mode & S.IFMT) === S.IFDIR) throw new InvalidLayerEntryError(e.name, e.offset, `hard link target ${JSON.stringify(e.linkname)} is a directory`);
    try {
      linkat(tparent, tbase, parent, base, 0);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const st = fstatat(parent, base, this.#nofollow);
      if (st.ino === tst.ino && st.dev === tst.dev) {
        this.#markUnpacked(path);
        return;
      }
      this.#clear(parent, base, path, false);
      // Clearing may have dropped the cached target parent: look it up again.
      const tp = this.#dir(parentOf(t.path), false);
      if (!tp) throw new InvalidLayerEntryError(e.name, e.offset, `hard link target ${JSON.stringify(e.linkname)} does not exist`);
      linkat(tp, tbase, this.#dir(parentOf(path), false) ?? parent, base, 0);
    }
    this.#markUnpacked(path);
  }

  #node(e: TarEntry, parent: Fd, base: string, path: string): void {
    if (e.type !== 'fifo') {
      const why = !this.#o.keepDevices ? 'devices are kept only with keepDevices' : this.#o.rootless ? 'rootless: mknod needs CAP_MKNOD' : undefined;
      if (why) {
        this.#o.warn({ code: 'DEVICE_SKIPPED', entry: e.name, offset: e.offset, detail: why });
        return;
      }
    }
    const type = e.type === 'char' ? S.IFCHR : e.type === 'block' ? S.IFBLK : S.IFIFO;
    const make = (): void => mknodat(parent, base, type | 0o600, e.devmajor, e.devminor);
    try {
      try {
        make();
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
        this.#clear(parent, base, path, false);
        make();
      }
    } catch (err) {
      if (type !== S.IFIFO && isErrno(err, 'EPERM')) {
        this.#o.warn({ code: 'DEVICE_SKIPPED', entry: e.name, offset: e.offset, detail: 'mknod: EPERM' });
        return;
      }
      throw err;
    }
    this.#markUnpacked(path);
    if (!this.#o.rootless) fchownat(parent, base, e.uid, e.gid, this.#nofollow);
    fchmodat(parent, base, this.#mode(e), this.#nofollow);
    if (e.xattrs) this.#xattrs(e, (name, value) => lsetxattr(procPath(parent, base), name, value));
    utimensat(parent, base, e.mtime, e.mtime, this.#nofollow);
  }

  // Sets the entry's xattrs through `set`, skipping overlay metadata (layers never carry it: a
  // hostile `trusted.overlay.redirect` could point an overlay elsewhere) and, without keepSetuid,
  // file capabilities. Refusals of the filesystem or of our privileges become warnings.
  #xattrs(e: TarEntry, set: (name: string, value: Uint8Array) => void): void {
    if (!e.xattrs) return;
    for (const [name, value] of e.xattrs) {
      if (isOverlayXattr(name)) continue;
      if (name === CAPABILITY && !this.#o.keepSetuid) {
        this.#o.warn({ code: 'CAPABILITY_DROPPED', entry: e.name, offset: e.offset, detail: 'security.capability is kept only with keepSetuid' });
        continue;
      }
      try {
        set(name, value);
      } catch (err) {
        // ENOTSUP: the filesystem has no such namespace; EPERM: trusted.* without CAP_SYS_ADMIN,
        // user.* on a symlink or device (never allowed), security.* in a user namespace.
        if (isErrno(err, 'ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES')) {
          this.#o.warn({ code: 'XATTR_SKIPPED', entry: e.name, offset: e.offset, detail: `${name}: ${(err as ErrnoError).code}` });
          continue;
        }
        throw err;
      }
    }
  }

  #whiteoutEntry(e: TarEntry, dirPath: string, base: string): void {
    if (base === OPAQUE_WHITEOUT) return this.#opaque(e, dirPath);
    if (base.startsWith(WHITEOUT_META_PREFIX)) {
      this.#o.warn({ code: 'WHITEOUT_META_SKIPPED', entry: e.name, offset: e.offset, detail: 'aufs whiteout metadata' });
      return;
    }
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new UnsafeLayerEntryError(e.name, 'WHITEOUT_TARGET', e.offset, `a whiteout of ${JSON.stringify(name)} would delete a directory above its own`);
    const path = joinPath(dirPath, name);
    // A whiteout hides what the layers below have; what this layer itself added stays (OCI).
    if (this.#unpacked.has(path) || this.#ancestors.has(path)) return;
    this.#touch(dirPath);
    if (this.#o.whiteouts === 'overlay') {
      const parent = this.#dir(dirPath, true)!;
      this.#clear(parent, name, path, false);
      try {
        mknodat(parent, name, S.IFCHR, 0, 0);
      } catch (err) {
        if (isErrno(err, 'EPERM')) throw new UnsupportedLayerError('overlay-whiteout', `cannot create the overlay whiteout ${JSON.stringify(path)} (a 0/0 character device): mknod needs CAP_MKNOD`);
        throw err;
      }
      this.#unpacked.add(path);
      return;
    }
    const parent = this.#dir(dirPath, false);
    if (parent) this.#clear(parent, name, path, false);
  }

  #opaque(e: TarEntry, dirPath: string): void {
    if (this.#o.whiteouts === 'overlay') {
      const dir = this.#dir(dirPath, true)!;
      const fd = openat(dir, '.', O.RDONLY | O.DIRECTORY);
      try {
        fsetxattr(fd, overlayOpaqueXattr(this.#o.xattrPrefix), 'y');
      } catch (err) {
        if (isErrno(err, 'EPERM')) throw new UnsupportedLayerError('overlay-opaque', `cannot set ${overlayOpaqueXattr(this.#o.xattrPrefix)} on ${JSON.stringify(dirPath || '/')}: EPERM (trusted.* needs CAP_SYS_ADMIN; rootless overlays use xattrPrefix 'user')`);
        throw err;
      } finally {
        fd.close();
      }
      this.#markAncestor(dirPath);
      return;
    }
    void e;
    this.#emptyBelow(dirPath);
    this.#markAncestor(dirPath);
  }

  // Opaque directory, flat form: delete what the directory holds, except what this layer put there.
  #emptyBelow(dirPath: string): void {
    const dir = this.#dir(dirPath, false);
    if (!dir) return;
    this.#touch(dirPath);
    for (const name of listDir(dir)) {
      const path = joinPath(dirPath, name);
      if (this.#unpacked.has(path)) continue;
      if (this.#ancestors.has(path)) {
        this.#emptyBelow(path);
        continue;
      }
      // The listing's descriptor may have been retired by an earlier removal: look it up again.
      this.#clear(this.#dir(dirPath, false)!, name, path, false);
    }
  }
}

function depth(path: string): number {
  if (path === '') return 0;
  let n = 1;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 0x2f) n++;
  return n;
}
