import { read } from 'node:fs';
import { AT, O, S, fstatat, lgetxattr, llistxattr, openat, readlinkat, resolveInRoot, type Fd, type Stat } from '@stratum/native';
import { UnsupportedLayerError } from './errors.js';
import { isErrno, listDir, procPath } from './fsops.js';
import { baseOf, joinPath, parentOf } from './path.js';
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, isOverlayWhiteout, isOverlayXattr, type OverlayXattrPrefix } from './whiteout.js';

/** One entry of a layer being created, in the order it is written. */
export type Change =
  | {
      kind: 'entry';
      /** Path relative to the tree root, no leading or trailing `/`. */
      path: string;
      st: Stat;
      /** Extended attributes to record, sorted by name, overlay metadata removed. */
      xattrs: Array<[string, Uint8Array]>;
      /** Symlink target. */
      target?: string;
      /** Set for all but the first member of a hard link group: the path of the first. */
      linkTo?: string;
      /** (walkTrees) Same metadata as before, mtime without nanoseconds: the content decides. */
      maybe?: boolean;
      /** (walkTrees) A directory written only because something below it changed. */
      parentOnly?: boolean;
    }
  | { kind: 'whiteout'; path: string }
  | { kind: 'opaque'; path: string };

/** PAUSE is yielded by the walk every so many entries, so that a driver can let the event loop run. */
export const PAUSE: unique symbol = Symbol('pause');

/** Wait is yielded when the walk needs asynchronous work done (content comparisons) before it goes on. */
export interface Wait {
  wait: Promise<void>;
}

/** What a walk yields to its driver. */
export type Step = typeof PAUSE | Wait;
const PAUSE_EVERY = 2000;

/** tarName returns the name a change has in the tar (`dir/.wh.x` for a whiteout of dir/x). */
export function tarName(c: Change): string {
  if (c.kind === 'whiteout') return joinPath(parentOf(c.path), WHITEOUT_PREFIX + baseOf(c.path));
  if (c.kind === 'opaque') return joinPath(c.path, OPAQUE_WHITEOUT);
  return c.path;
}

/**
 * compareNames orders tar names component by component (a directory before what it holds),
 * by UTF-16 code unit within a component, except that the opaque marker comes first in its
 * directory: appliers that empty a directory when they meet the marker then keep the layer's
 * own entries. Total and deterministic.
 */
export function compareNames(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (x === OPAQUE_WHITEOUT) return -1;
    if (y === OPAQUE_WHITEOUT) return 1;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

interface Node {
  name: string;
  st: Stat;
}

const typeOf = (st: Stat): number => st.mode & S.IFMT;

function xattrsOf(dir: Fd, name: string): Array<[string, Uint8Array]> {
  const p = procPath(dir, name);
  let names: string[];
  try {
    names = llistxattr(p);
  } catch (e) {
    if (isErrno(e, 'ENOTSUP', 'EOPNOTSUPP')) return [];
    throw e;
  }
  if (names.length === 0) return [];
  const out: Array<[string, Uint8Array]> = [];
  for (const n of names.sort()) {
    if (isOverlayXattr(n)) continue;
    try {
      out.push([n, lgetxattr(p, n)]);
    } catch (e) {
      if (isErrno(e, 'ENODATA', 'ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES')) continue;
      throw e;
    }
  }
  return out;
}

function overlayAttr(dir: Fd, name: string, attr: string): Buffer | undefined {
  try {
    return lgetxattr(procPath(dir, name), attr);
  } catch (e) {
    if (isErrno(e, 'ENODATA', 'ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES')) return undefined;
    throw e;
  }
}

function list(dir: Fd): Node[] {
  const names = listDir(dir).sort();
  const out: Node[] = [];
  for (const name of names) {
    let st: Stat;
    try {
      st = fstatat(dir, name, AT.SYMLINK_NOFOLLOW);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) continue; // removed meanwhile
      throw e;
    }
    if (typeOf(st) === S.IFSOCK) continue; // tar cannot hold sockets (Docker skips them too)
    out.push({ name, st });
  }
  return out;
}

function openDir(parent: Fd, name: string): Fd {
  return openat(parent, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
}

function entryOf(dir: Fd, path: string, node: Node): Change {
  const c: Change = { kind: 'entry', path, st: node.st, xattrs: xattrsOf(dir, node.name) };
  if (typeOf(node.st) === S.IFLNK) c.target = readlinkat(dir, node.name);
  return c;
}

/** The state a walk shares: the output, the hard link groups of the `to` tree, the pause counter. */
class Walk {
  readonly out: Change[] = [];
  /** Every regular file of the new tree with more than one link: key dev:ino → its changes. */
  readonly groups = new Map<string, Change[]>();
  #count = 0;

  tick(): boolean {
    return ++this.#count % PAUSE_EVERY === 0;
  }

  note(c: Change): void {
    if (c.kind === 'entry' && typeOf(c.st) === S.IFREG && c.st.nlink > 1) {
      const k = `${c.st.dev}:${c.st.ino}`;
      const g = this.groups.get(k);
      if (g) g.push(c);
      else this.groups.set(k, [c]);
    }
  }
}

/**
 * walkUpper yields the changes an overlay upper directory records: every entry it holds, a
 * 0/0 character device as a whiteout, a directory with `<prefix>.overlay.opaque=y` followed by
 * the opaque marker. Redirected directories and metacopy files (which a tar cannot express)
 * throw {@link UnsupportedLayerError}. Yields PAUSE now and then; returns the sorted changes.
 */
export function* walkUpper(root: Fd, prefix: OverlayXattrPrefix): Generator<typeof PAUSE, Change[]> {
  const w = new Walk();
  const opaque = `${prefix}.overlay.opaque`;
  const redirect = `${prefix}.overlay.redirect`;
  const metacopy = `${prefix}.overlay.metacopy`;
  function* dir(fd: Fd, path: string): Generator<typeof PAUSE, void> {
    for (const node of list(fd)) {
      if (w.tick()) yield PAUSE;
      const p = joinPath(path, node.name);
      if (isOverlayWhiteout(node.st)) {
        w.out.push({ kind: 'whiteout', path: p });
        continue;
      }
      const t = typeOf(node.st);
      if (t === S.IFDIR && overlayAttr(fd, node.name, redirect) !== undefined) {
        throw new UnsupportedLayerError('redirect_dir', `${p}: a renamed directory (${redirect}) cannot be expressed in a tar layer; mount the overlay with redirect_dir=off`);
      }
      if (t === S.IFREG && overlayAttr(fd, node.name, metacopy) !== undefined) {
        throw new UnsupportedLayerError('metacopy', `${p}: a metadata-only copy-up (${metacopy}) has no data in the upper directory; mount the overlay with metacopy=off`);
      }
      const c = entryOf(fd, p, node);
      w.out.push(c);
      w.note(c);
      if (t === S.IFDIR) {
        if (overlayAttr(fd, node.name, opaque)?.toString() === 'y') w.out.push({ kind: 'opaque', path: p });
        const sub = openDir(fd, node.name);
        try {
          yield* dir(sub, p);
        } finally {
          sub.close();
        }
      }
    }
  }
  yield* dir(root, '');
  return finish(w, undefined);
}

/** How many content comparisons run at once (reads on the libuv pool). */
const COMPARE_AT_ONCE = 4;
const COMPARE_BUF = 1024 * 1024;

function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** differs tells whether file `path` has other content in the two trees (read in parallel on the libuv pool). */
async function differs(from: Fd, to: Fd, path: string, bufs: [Buffer, Buffer]): Promise<boolean> {
  using a = resolveInRoot(from, path, { flags: O.RDONLY | O.NOFOLLOW });
  using b = resolveInRoot(to, path, { flags: O.RDONLY | O.NOFOLLOW });
  const [ba, bb] = bufs;
  for (let pos = 0; ; ) {
    const [na, nb] = await Promise.all([readAt(a.fd, ba, pos), readAt(b.fd, bb, pos)]);
    if (na !== nb) return true;
    if (na === 0) return false;
    if (ba.compare(bb, 0, nb, 0, na) !== 0) return true;
    pos += na;
  }
}

/** Compares the contents of the `maybe` changes, COMPARE_AT_ONCE at a time; returns those that differ. */
async function compareAll(from: Fd, to: Fd, maybes: Change[], signal: { failed?: unknown }): Promise<Set<Change>> {
  const changed = new Set<Change>();
  let next = 0;
  const worker = async (): Promise<void> => {
    const bufs: [Buffer, Buffer] = [Buffer.allocUnsafe(COMPARE_BUF), Buffer.allocUnsafe(COMPARE_BUF)];
    while (next < maybes.length && signal.failed === undefined) {
      const c = maybes[next++]!;
      if (await differs(from, to, c.path, bufs)) changed.add(c);
    }
  };
  await Promise.all(Array.from({ length: Math.min(COMPARE_AT_ONCE, maybes.length) }, worker));
  return changed;
}

function sameXattrs(a: Array<[string, Uint8Array]>, b: Array<[string, Uint8Array]>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]![0] !== b[i]![0] || Buffer.compare(a[i]![1], b[i]![1]) !== 0) return false;
  }
  return true;
}

/**
 * walkTrees yields the changes that turn tree `from` into tree `to` (`from` undefined: all of
 * `to`), as containerd's double walk does: entries only in `to` (added, with all they hold),
 * entries only in `from` (whiteouts), entries whose type changed (the new one replaces the old),
 * entries whose mode, owner, size, mtime, device number, xattrs or symlink target changed (and
 * files whose content changed behind an mtime without nanoseconds), plus the parent directories
 * of all of these. A hard link group of `to` with any member changed is written whole.
 */
export function* walkTrees(from: Fd | undefined, to: Fd): Generator<Step, Change[]> {
  const w = new Walk();
  // Every entry of the new tree below `fd` (a new or replaced directory's contents).
  function* all(fd: Fd, path: string): Generator<typeof PAUSE, Change[]> {
    const out: Change[] = [];
    for (const node of list(fd)) {
      if (w.tick()) yield PAUSE;
      const p = joinPath(path, node.name);
      const c = entryOf(fd, p, node);
      out.push(c);
      w.note(c);
      if (typeOf(node.st) === S.IFDIR) {
        const sub = openDir(fd, node.name);
        try {
          out.push(...(yield* all(sub, p)));
        } finally {
          sub.close();
        }
      }
    }
    return out;
  }
  // The changes below directory `path`, present in both trees.
  function* both(a: Fd, b: Fd, path: string): Generator<typeof PAUSE, Change[]> {
    const out: Change[] = [];
    const la = list(a);
    const lb = list(b);
    let i = 0;
    let j = 0;
    while (i < la.length || j < lb.length) {
      if (w.tick()) yield PAUSE;
      const na = la[i];
      const nb = lb[j];
      if (nb === undefined || (na !== undefined && na.name < nb.name)) {
        out.push({ kind: 'whiteout', path: joinPath(path, na!.name) });
        i++;
        continue;
      }
      const p = joinPath(path, nb.name);
      if (na === undefined || nb.name < na.name) {
        out.push(...(yield* added(b, p, nb)));
        j++;
        continue;
      }
      i++;
      j++;
      const sa = na.st;
      const sb = nb.st;
      if (typeOf(sa) !== typeOf(sb)) {
        out.push(...(yield* added(b, p, nb)));
        continue;
      }
      const cb = entryOf(b, p, nb);
      w.note(cb);
      const xa = xattrsOf(a, na.name);
      let changed = sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid || !sameXattrs(xa, cb.kind === 'entry' ? cb.xattrs : []);
      const t = typeOf(sb);
      if (t === S.IFDIR) {
        const suba = openDir(a, na.name);
        let below: Change[];
        try {
          const subb = openDir(b, nb.name);
          try {
            below = yield* both(suba, subb, p);
          } finally {
            subb.close();
          }
        } finally {
          suba.close();
        }
        changed ||= sa.mtimeNs !== sb.mtimeNs;
        if (changed || below.length > 0) {
          if (!changed && cb.kind === 'entry') cb.parentOnly = true;
          out.push(cb);
        }
        out.push(...below);
        continue;
      }
      changed ||= sa.mtimeNs !== sb.mtimeNs || sa.size !== sb.size;
      if (t === S.IFLNK) changed ||= readlinkat(a, na.name) !== (cb.kind === 'entry' ? cb.target : undefined);
      else if (t === S.IFCHR || t === S.IFBLK) changed ||= sa.rdev !== sb.rdev;
      // containerd's rule: an mtime without nanoseconds may hide a same-second rewrite. The
      // contents are compared after the walk, several at once.
      else if (t === S.IFREG && !changed && sb.size > 0 && sb.mtimeNs % 1_000_000_000n === 0n && cb.kind === 'entry') {
        cb.maybe = true;
        out.push(cb);
        continue;
      }
      if (changed) out.push(cb);
    }
    return out;
  }
  function* added(parent: Fd, p: string, node: Node): Generator<typeof PAUSE, Change[]> {
    const c = entryOf(parent, p, node);
    w.note(c);
    if (typeOf(node.st) !== S.IFDIR) return [c];
    const sub = openDir(parent, node.name);
    try {
      return [c, ...(yield* all(sub, p))];
    } finally {
      sub.close();
    }
  }
  w.out.push(...(from === undefined ? yield* all(to, '') : yield* both(from, to, '')));
  const maybes = w.out.filter((c) => c.kind === 'entry' && c.maybe);
  if (from !== undefined && maybes.length > 0) {
    const state: { failed?: unknown; changed?: Set<Change> } = {};
    const wait = compareAll(from, to, maybes, state).then(
      (changed) => {
        state.changed = changed;
      },
      (e: unknown) => {
        state.failed = e;
        throw e;
      },
    );
    yield { wait };
    const changed = state.changed!;
    const kept = w.out.filter((c) => !(c.kind === 'entry' && c.maybe && !changed.has(c)));
    // Directories that were only parents of what turned out unchanged go too.
    const needed = new Set<string>();
    for (const c of kept) {
      if (c.kind === 'entry' && c.parentOnly) continue;
      for (let p = parentOf(c.path); p !== '' && !needed.has(p); p = parentOf(p)) needed.add(p);
    }
    w.out.length = 0;
    for (const c of kept) if (!(c.kind === 'entry' && c.parentOnly && !needed.has(c.path))) w.out.push(c);
  }
  return finish(w, to);
}

// Hard link groups: when a walk of two trees emits some members of a group of `to`, the others
// are added (with their parent directories), so the group stays one inode after the apply.
// Then everything is sorted, and all but the first member of each group become links to it.
function finish(w: Walk, to: Fd | undefined): Change[] {
  const out = w.out;
  if (to !== undefined && w.groups.size > 0) {
    const emitted = new Set<Change>(out);
    const paths = new Set(out.map((c) => c.path));
    for (const g of w.groups.values()) {
      if (g.length < 2 || !g.some((c) => emitted.has(c)) || g.every((c) => emitted.has(c))) continue;
      for (const c of g) {
        if (emitted.has(c)) continue;
        out.push(c);
        emitted.add(c);
        paths.add(c.path);
        for (let p = parentOf(c.path); p !== '' && !paths.has(p); p = parentOf(p)) {
          out.push(dirChange(to, p));
          paths.add(p);
        }
      }
    }
  }
  const keyed = out.map((c) => [tarName(c), c] as const);
  keyed.sort((x, y) => compareNames(x[0], y[0]));
  const sorted = keyed.map((k) => k[1]);
  const first = new Map<string, string>();
  for (const c of sorted) {
    if (c.kind !== 'entry' || typeOf(c.st) !== S.IFREG || c.st.nlink < 2) continue;
    const k = `${c.st.dev}:${c.st.ino}`;
    const f = first.get(k);
    if (f === undefined) first.set(k, c.path);
    else c.linkTo = f;
  }
  return sorted;
}

function dirChange(root: Fd, path: string): Change {
  using parent = resolveInRoot(root, parentOf(path) || '.', { flags: O.PATH | O.DIRECTORY });
  const st = fstatat(parent, baseOf(path), AT.SYMLINK_NOFOLLOW);
  return { kind: 'entry', path, st, xattrs: xattrsOf(parent, baseOf(path)) };
}
