import { type Dirent, createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AT, O, RESOLVE, fstatat, openat, resolveInRoot, type Fd } from '@stratum/native';
import { OPAQUE_WHITEOUT, WHITEOUT_META_PREFIX, WHITEOUT_PREFIX } from '@stratum/layer';
import { isOpaqueDir } from '../copy.js';
import type { EntryType, LayerEntry, Listing, ViewLayer } from './layer.js';
import { Lru } from './lru.js';
import { UnionStats, typeOfMode } from './stats.js';

interface DirEntry extends LayerEntry {
  /** Path relative to the layer root ('' for the root). */
  readonly rel: string;
}

function direntType(d: Dirent): EntryType {
  if (d.isDirectory()) return 'directory';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isCharacterDevice()) return 'char';
  if (d.isBlockDevice()) return 'block';
  if (d.isFIFO()) return 'fifo';
  if (d.isSocket()) return 'socket';
  return 'file';
}

/**
 * DirLayer reads an unpacked layer directory in overlay form (0/0 character devices are
 * whiteouts, `trusted.`/`user.overlay.opaque=y` makes a directory opaque) or OCI form
 * (`.wh.NAME`, `.wh..wh..opq`). Never follows a symlink of the layer: names are looked up one
 * directory at a time with lstat, and file data is opened with openat2 RESOLVE_NO_SYMLINKS below
 * the layer root. Directory listings are cached (the layers must not change while viewed).
 */
export class DirLayer implements ViewLayer {
  readonly kind = 'directory' as const;
  readonly source: string;
  readonly root: DirEntry = { type: 'directory', rel: '' };
  readonly #fd: Fd;
  readonly #lists = new Lru<string, Listing>(4096);

  constructor(path: string) {
    this.source = path;
    this.#fd = openat(AT.FDCWD, path, O.PATH | O.DIRECTORY);
  }

  #abs(rel: string): string {
    return rel === '' ? this.source : join(this.source, rel);
  }

  list(dir: LayerEntry): Listing {
    const rel = (dir as DirEntry).rel;
    const hit = this.#lists.get(rel);
    if (hit) return hit;
    const abs = this.#abs(rel);
    const entries = new Map<string, DirEntry>();
    const whiteouts = new Set<string>();
    const dirents = readdirSync(abs, { withFileTypes: true });
    const names: string[] = [];
    for (const d of dirents) {
      const name = d.name;
      names.push(name);
      if (name.startsWith(WHITEOUT_PREFIX)) {
        if (!name.startsWith(WHITEOUT_META_PREFIX)) whiteouts.add(name.slice(WHITEOUT_PREFIX.length));
        continue;
      }
      if (d.isCharacterDevice() && lstatSync(join(abs, name)).rdev === 0) {
        whiteouts.add(name);
        continue;
      }
      entries.set(name, { type: direntType(d), rel: rel === '' ? name : `${rel}/${name}` });
    }
    const listing: Listing = { entries, whiteouts, opaque: isOpaqueDir(abs, names.includes(OPAQUE_WHITEOUT) ? [OPAQUE_WHITEOUT] : []) };
    this.#lists.set(rel, listing);
    return listing;
  }

  stat(e: LayerEntry, layer: number): UnionStats {
    const rel = (e as DirEntry).rel;
    if (e.type !== 'char' && e.type !== 'block') {
      // Node's lstat is about twice as fast as statx through the addon; devices need its major/minor.
      const st = lstatSync(this.#abs(rel));
      return new UnionStats({ type: typeOfMode(st.mode), perm: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, rdevMajor: 0, rdevMinor: 0, layer });
    }
    const st = fstatat(this.#fd, rel, AT.SYMLINK_NOFOLLOW);
    return new UnionStats({
      type: typeOfMode(st.mode),
      perm: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      mtimeMs: Number(st.mtimeNs / 1000n) / 1000,
      rdevMajor: st.rdevMajor,
      rdevMinor: st.rdevMinor,
      layer,
    });
  }

  readlink(e: LayerEntry): string {
    return readlinkSync(this.#abs((e as DirEntry).rel));
  }

  open(e: LayerEntry): Readable {
    const fd = resolveInRoot(this.#fd, (e as DirEntry).rel, { flags: O.RDONLY, resolve: RESOLVE.NO_SYMLINKS });
    // The stream owns the descriptor from here on (it closes it at the end or on destroy).
    return createReadStream('', { fd: fd.fd, autoClose: true });
  }

  close(): void {
    this.#fd.close();
    this.#lists.clear();
  }
}
