import { S } from '@stratum/native';
import type { EntryType } from './layer.js';

const IFMT: Record<EntryType, number> = {
  file: S.IFREG,
  directory: S.IFDIR,
  symlink: S.IFLNK,
  char: S.IFCHR,
  block: S.IFBLK,
  fifo: S.IFIFO,
  socket: S.IFSOCK,
};

/** typeOfMode names the file type bits of a st_mode. */
export function typeOfMode(mode: number): EntryType {
  switch (mode & S.IFMT) {
    case S.IFDIR:
      return 'directory';
    case S.IFLNK:
      return 'symlink';
    case S.IFCHR:
      return 'char';
    case S.IFBLK:
      return 'block';
    case S.IFIFO:
      return 'fifo';
    case S.IFSOCK:
      return 'socket';
    default:
      return 'file';
  }
}

/** UnionStatsInit: the fields a {@link UnionStats} is made from. */
export interface UnionStatsInit {
  type: EntryType;
  /** Permission bits (and setuid/setgid/sticky): `& 0o7777`. */
  perm: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  rdevMajor: number;
  rdevMinor: number;
  layer: number;
}

/**
 * UnionStats: what `stat`/`lstat` of a UnionView report, shaped like Node's `fs.Stats` where
 * the fields mean the same (`mode` with the file type bits, `isFile()` …), plus `type` and
 * `layer`, the index (top first) of the layer the entry comes from. A directory reports its
 * topmost layer's metadata, as overlayfs does. Directory sizes are the layer's own (a tar says 0).
 */
export class UnionStats {
  readonly type: EntryType;
  /** st_mode: type bits | permission bits, as `fs.Stats.mode`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes of a file, length of a symlink's target. */
  readonly size: number;
  readonly mtimeMs: number;
  readonly rdevMajor: number;
  readonly rdevMinor: number;
  /** The layer (index into the layers given, top first) this entry comes from. */
  readonly layer: number;

  constructor(i: UnionStatsInit) {
    this.type = i.type;
    this.mode = IFMT[i.type] | (i.perm & 0o7777);
    this.uid = i.uid;
    this.gid = i.gid;
    this.size = i.size;
    this.mtimeMs = i.mtimeMs;
    this.rdevMajor = i.rdevMajor;
    this.rdevMinor = i.rdevMinor;
    this.layer = i.layer;
  }

  /** The modification time as a Date. */
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  isFile(): boolean {
    return this.type === 'file';
  }
  isDirectory(): boolean {
    return this.type === 'directory';
  }
  isSymbolicLink(): boolean {
    return this.type === 'symlink';
  }
  isCharacterDevice(): boolean {
    return this.type === 'char';
  }
  isBlockDevice(): boolean {
    return this.type === 'block';
  }
  isFIFO(): boolean {
    return this.type === 'fifo';
  }
  isSocket(): boolean {
    return this.type === 'socket';
  }
}
