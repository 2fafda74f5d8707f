import { AT, O, RESOLVE } from './constants.js';
import { ErrnoError } from './errors.js';
import { Fd, fdNumber, type FdLike } from './fd.js';
import { features } from './features.js';
import { fstat, openat, openat2, readlinkat } from './fs.js';
import { native } from './native.js';
import { flags as flagsArg, int, obj, str } from './validate.js';

/** Options of {@link resolveInRoot}. */
export interface ResolveInRootOptions {
  /** open(2) flags of the final open; default `O.PATH` (an fd to use with the *at functions). */
  flags?: number;
  /** Creation mode with O_CREAT (default 0o666, before umask). */
  mode?: number;
  /** Extra RESOLVE bits: `RESOLVE.NO_XDEV` (stay on the root's mount), `RESOLVE.NO_SYMLINKS`. */
  resolve?: number;
  /** Force the userspace walk even when the kernel has openat2 (tests, or to compare). */
  fallback?: boolean;
}

const PROC_SUPER_MAGIC = 0x9fa0;
const MAX_SYMLINKS = 40;

function errno(code: string, n: number, path: string, message: string): ErrnoError {
  return new ErrnoError({ code, errno: n, syscall: 'openat', path, message });
}

/**
 * resolveInRoot opens `path` as if `root` were `/`: absolute symlinks, `../..` and absolute
 * paths all stay inside root (`..` at the root is the root), and /proc magic links are refused
 * with ELOOP. This is how untrusted paths (layer tar entries, image paths, volume targets) are
 * opened: the returned {@link Fd} is the object, not a path that could be swapped afterwards.
 *
 * Uses openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) where the kernel has it (Linux ≥ 5.6), and
 * otherwise a checked userspace walk: one openat(O_PATH|O_NOFOLLOW) per component, symlinks read
 * and re-resolved against the root by this code, `..` popped off the walked stack (never asked of
 * the kernel), mount crossings detected by mount id. The fallback is selectable with
 * `{ fallback: true }`. Like `chroot root realpath path` followed by an open, without the chroot.
 *
 * Caveat of the fallback only: a directory already walked that a concurrent process renames out
 * of the root takes the rest of the walk with it; openat2 does not have this gap.
 */
export function resolveInRoot(root: string | Fd, path: string, opts: ResolveInRootOptions = {}): Fd {
  const o = obj<ResolveInRootOptions>(opts, 'resolveInRoot');
  const p = str(path, 'resolveInRoot', 'path', { empty: true }) || '.';
  const flags = o.flags === undefined ? O.PATH : flagsArg(o.flags, 'resolveInRoot', 'options.flags');
  const mode = int(o.mode, 'resolveInRoot', 'options.mode', 0, 0o7777, 0o666);
  const extra = flagsArg(o.resolve, 'resolveInRoot', 'options.resolve');
  if (extra & ~(RESOLVE.NO_XDEV | RESOLVE.NO_SYMLINKS)) throw new TypeError('resolveInRoot: options.resolve may only add RESOLVE.NO_XDEV and RESOLVE.NO_SYMLINKS');
  if (o.fallback !== undefined && typeof o.fallback !== 'boolean') throw new TypeError('resolveInRoot: options.fallback must be a boolean');
  let rootFd: Fd;
  let owned = false;
  if (typeof root === 'string') {
    rootFd = openat(AT.FDCWD, str(root, 'resolveInRoot', 'root'), O.PATH | O.DIRECTORY);
    owned = true;
  } else if (root instanceof Fd) {
    fdNumber(root, 'resolveInRoot', 'root');
    rootFd = root;
  } else {
    throw new TypeError('resolveInRoot: root must be a path string or an Fd');
  }
  try {
    if (!o.fallback && features().openat2) {
      return openat2(rootFd, p, { flags, mode, resolve: RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS | extra });
    }
    return walk(rootFd, p, flags, mode, extra);
  } finally {
    if (owned) rootFd.close();
  }
}

// One step of a walk: a path component, and for the last component of a path string (the
// original or a symlink body) whether a "/" followed it, which makes the kernel require a
// directory (and follow a final symlink even with O_NOFOLLOW).
interface Step {
  name: string;
  trailing: boolean;
}

function parse(p: string): Step[] {
  const names = p.split('/').filter((c) => c !== '');
  return names.map((name, i) => ({ name, trailing: i === names.length - 1 && p.endsWith('/') }));
}

const isDot = (name: string): boolean => name === '.' || name === '..';

// The userspace walk, mirroring the kernel's path walk and open semantics. Invariant: every fd
// on `stack` was reached from root through components opened with O_NOFOLLOW, so it is root
// itself or a directory below it; ".." pops the stack instead of asking the kernel, which is
// what clamps it at the root.
function walk(root: Fd, path: string, flags: number, mode: number, extra: number): Fd {
  const stack: Fd[] = [];
  const cur = (): Fd => stack[stack.length - 1] ?? root;
  const rootMnt = extra & RESOLVE.NO_XDEV ? (fstat(root).mntId ?? fstat(root).dev) : undefined;
  const checkMount = (fd: Fd): Fd => {
    if (rootMnt === undefined) return fd;
    const st = fstat(fd);
    if ((st.mntId ?? st.dev) === rootMnt) return fd;
    fd.close();
    throw errno('EXDEV', 18, path, 'Invalid cross-device link (RESOLVE_NO_XDEV)');
  };
  const create = (flags & O.CREAT) !== 0;
  const excl = create && (flags & O.EXCL) !== 0;
  // The path ends at a directory already on the stack ("", "/", "a/..", a symlink to "/"): what
  // open(2) does with a final "." — O_CREAT refuses (EEXIST with O_EXCL, else EISDIR).
  const openCurrent = (): Fd => {
    if (excl) throw errno('EEXIST', 17, path, 'File exists');
    if (create) throw errno('EISDIR', 21, path, 'Is a directory');
    return openat(cur(), '.', flags, mode);
  };
  const queue = parse(path);
  let links = 0;
  try {
    for (;;) {
      const step = queue.shift();
      if (step === undefined) return openCurrent();
      const last = queue.length === 0;
      if (isDot(step.name)) {
        if (step.name === '..') stack.pop()?.close();
        if (last) return openCurrent();
        continue;
      }
      const { name, trailing } = step;
      // open(2) with O_CREAT refuses a final component followed by "/" before looking it up.
      if (last && create && trailing) throw errno('EISDIR', 21, path, 'Is a directory');
      let fd: Fd;
      try {
        fd = openat(cur(), name, O.PATH | O.NOFOLLOW);
      } catch (e) {
        if (last && create && e instanceof ErrnoError && e.code === 'ENOENT') {
          // Create it: O_NOFOLLOW makes a symlink planted meanwhile fail (ELOOP) instead of being followed.
          return checkMount(openat(cur(), name, flags | O.NOFOLLOW, mode));
        }
        throw e instanceof ErrnoError ? errno(e.code, e.errno, path, e.message.slice(e.code.length + 2).split(', openat')[0]!) : e;
      }
      const st = fstat(checkMount(fd));
      if ((st.mode & 0o170000) === 0o120000) {
        // A final symlink is followed unless O_NOFOLLOW or O_CREAT|O_EXCL says otherwise; a
        // trailing slash makes the kernel follow it anyway.
        if (last && !trailing && (excl || flags & O.NOFOLLOW)) {
          if (excl) {
            fd.close();
            throw errno('EEXIST', 17, path, 'File exists');
          }
          if (flags & O.DIRECTORY) {
            fd.close();
            throw errno('ENOTDIR', 20, path, 'Not a directory');
          }
          // O_PATH|O_NOFOLLOW on a final symlink opens the link itself, as the kernel does.
          if ((flags & O.PATH) !== 0) return fd;
          fd.close();
          throw errno('ELOOP', 40, path, 'Too many levels of symbolic links (O_NOFOLLOW)');
        }
        try {
          if (extra & RESOLVE.NO_SYMLINKS) throw errno('ELOOP', 40, path, 'Too many levels of symbolic links (RESOLVE_NO_SYMLINKS)');
          if (isMagic(cur())) throw errno('ELOOP', 40, path, 'Too many levels of symbolic links (magic link refused, RESOLVE_NO_MAGICLINKS)');
          if (++links > MAX_SYMLINKS) throw errno('ELOOP', 40, path, 'Too many levels of symbolic links');
          const target = readlinkat(fd, '');
          if (target.startsWith('/')) while (stack.length) stack.pop()!.close();
          const body = parse(target);
          // The link's last component inherits a trailing slash that followed the link.
          if (last && trailing && body.length > 0) body[body.length - 1]!.trailing = true;
          queue.unshift(...body);
        } finally {
          fd.close();
        }
        continue;
      }
      const isDir = (st.mode & 0o170000) === 0o040000;
      if (!last || trailing) {
        if (!isDir) {
          fd.close();
          throw errno('ENOTDIR', 20, path, 'Not a directory');
        }
        if (!last) {
          stack.push(fd);
          continue;
        }
      }
      // Final component, not a symlink: O_PATH-only opens keep the walked fd; anything else
      // reopens by name with O_NOFOLLOW (a swap to a symlink meanwhile fails with ELOOP).
      if ((flags & ~(O.NOFOLLOW | O.CLOEXEC)) === O.PATH) return fd;
      fd.close();
      return checkMount(openat(cur(), name, flags | O.NOFOLLOW | (trailing ? O.DIRECTORY : 0), mode));
    }
  } finally {
    for (const fd of stack) fd.close();
  }
}

// A symlink is "magic" when it lives in procfs below the procfs root (/proc/PID/exe, fd/N, cwd,
// root, ns/*, map_files/*): those jump to objects, not paths. The plain symlinks at the procfs
// root (self, thread-self, mounts, net) are followed like any other.
function isMagic(parent: Fd): boolean {
  if (native.fsType(parent.fd) !== PROC_SUPER_MAGIC) return false;
  return fstat(parent).ino !== 1n;
}
