import { InvalidArchiveError, UnsafeArchivePathError } from './errors.js';
import type { TarMember } from './tar/scan.js';

/** The most links followed while resolving one path (as Linux's MAXSYMLINKS). */
const maxHops = 40;

/**
 * cleanPath normalizes an archive-relative path (`./a//b/` → `a/b`, `a/../b` → `b`) and refuses
 * what would leave the archive: an absolute path, `..` above the root, a NUL byte, an empty path
 * ({@link UnsafeArchivePathError}).
 */
export function cleanPath(p: string): string {
  if (typeof p !== 'string' || p === '' || p.includes('\0')) throw new UnsafeArchivePathError(String(p), 'invalid');
  if (p.startsWith('/')) throw new UnsafeArchivePathError(p, 'absolute');
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw new UnsafeArchivePathError(p, 'escapes');
      out.pop();
    } else out.push(c);
  }
  if (out.length === 0) throw new UnsafeArchivePathError(p, 'invalid');
  return out.join('/');
}

/** Member: a member of the table, under its clean name, with what the reader attached to it. */
export interface Member<T> {
  name: string;
  tar: TarMember;
  payload: T;
}

/**
 * MemberTable indexes an archive's members by clean name and resolves the paths an archive's
 * metadata names (`manifest.json`'s `Config` and `Layers`, `blobs/sha256/…`) the way a
 * filesystem would — following symlink and hard-link members — but refuses, with
 * {@link UnsafeArchivePathError}, every path or link that leads outside the archive (Docker clamps
 * these into the archive root; Stratum does not guess). Member names that escape and duplicate
 * names are refused when added.
 */
export class MemberTable<T> {
  readonly #members = new Map<string, Member<T>>();

  /** add records a member; throws for an unsafe name or a second member of the same name. */
  add(tar: TarMember, payload: T): Member<T> {
    const name = cleanPath(tar.name);
    const old = this.#members.get(name);
    if (old && !(old.tar.type === 'directory' && tar.type === 'directory')) {
      throw new InvalidArchiveError('DUPLICATE_MEMBER', `archive has two members named ${JSON.stringify(name)}`, { path: name, offset: tar.headerOffset });
    }
    const m = { name, tar, payload };
    this.#members.set(name, m);
    return m;
  }

  /** get returns the member of exactly this clean name, without following links. */
  get(name: string): Member<T> | undefined {
    return this.#members.get(name);
  }

  /** All members, in archive order. */
  values(): IterableIterator<Member<T>> {
    return this.#members.values();
  }

  /**
   * resolve finds the regular-file member that `path` leads to. Throws
   * {@link UnsafeArchivePathError} (outside the archive, link loop), {@link InvalidArchiveError}
   * `MISSING_MEMBER` or `NOT_A_FILE`.
   */
  resolve(path: string): Member<T> {
    let hops = 0;
    let stack: string[] = [];
    let todo = cleanPath(path).split('/');
    for (;;) {
      while (todo.length > 0) {
        const c = todo.shift()!;
        if (c === '' || c === '.') continue;
        if (c === '..') {
          if (stack.length === 0) throw new UnsafeArchivePathError(path, 'symlink-escapes');
          stack.pop();
          continue;
        }
        const here = [...stack, c].join('/');
        const m = this.#members.get(here);
        if (m?.tar.type === 'symlink') {
          if (++hops > maxHops) throw new UnsafeArchivePathError(path, 'symlink-loop');
          if (m.tar.linkname === '' || m.tar.linkname.startsWith('/')) throw new UnsafeArchivePathError(path, 'symlink-escapes');
          todo = [...m.tar.linkname.split('/'), ...todo];
        } else stack.push(c);
      }
      const name = stack.join('/');
      const m = name === '' ? undefined : this.#members.get(name);
      if (m === undefined) throw new InvalidArchiveError('MISSING_MEMBER', `archive has no member ${JSON.stringify(path)}`, { path });
      if (m.tar.type === 'link') {
        // A hard link names its target from the archive root.
        if (++hops > maxHops) throw new UnsafeArchivePathError(path, 'symlink-loop');
        if (m.tar.linkname === '' || m.tar.linkname.startsWith('/')) throw new UnsafeArchivePathError(path, 'symlink-escapes');
        stack = [];
        todo = m.tar.linkname.split('/');
        continue;
      }
      if (m.tar.type !== 'file') throw new InvalidArchiveError('NOT_A_FILE', `archive member ${JSON.stringify(path)} is a ${m.tar.type}, not a file`, { path });
      return m;
    }
  }
}
