/** Test helpers: temp dirs, hand-made layer tars, layer dirs made by applyLayer, tree snapshots. */
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { END_OF_ARCHIVE, applyLayer, encodeHeader, padding, type TarHeaderInput } from '@stratum/layer';
import type { UnionView } from '../src/index.js';

/** tempDir makes a fresh directory under the OS temp dir, removed on dispose. */
export function tempDir(name: string): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), `stratum-unionfs-${name}-`));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One member of a hand-made tar; `data` for files. Defaults: root-owned, mtime 1e9, 0755 dirs, 0644 files. */
export type Member = Partial<TarHeaderInput> & { name: string; type: TarHeaderInput['type']; data?: string | Uint8Array };

/** rawTar encodes members as an uncompressed tar (with @stratum/layer's header writer). */
export function rawTar(members: readonly Member[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    const data = typeof m.data === 'string' ? Buffer.from(m.data) : (m.data ?? new Uint8Array(0));
    const mode = m.mode ?? (m.type === 'directory' ? 0o755 : m.type === 'symlink' ? 0o777 : 0o644);
    parts.push(encodeHeader({ ...m, mode, uid: m.uid ?? 0, gid: m.gid ?? 0, mtime: m.mtime ?? 1_000_000_000, size: m.type === 'file' ? data.length : 0 }));
    if (m.type === 'file') parts.push(data, padding(data.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** layerDir applies a tar into `dir` in overlay form (what the overlay driver mounts), faithfully (devices and setuid bits kept). */
export async function layerDir(tar: Buffer, dir: string, opts: { xattrPrefix?: 'trusted' | 'user' } = {}): Promise<string> {
  await applyLayer(Readable.from([tar]), dir, { whiteouts: 'overlay', keepDevices: true, keepSetuid: true, ...opts });
  return dir;
}

/** What a snapshot records of one entry. */
export interface Snap {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of a file's content (first 12 hex), a symlink's target, `major:minor` of a device. */
  what?: string;
  /** Whole-second mtime (not for directories unless asked). */
  mtime?: number;
}

function typeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean }): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

const hash = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 12);

/** snapshot describes a directory tree (never following symlinks), keyed by `/path`. */
export function snapshot(root: string, opts: { dirMtime?: boolean } = {}): Record<string, Snap> {
  const out: Record<string, Snap> = {};
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = `${rel}/${name}`;
      // overlayfs reads a directory that only one layer has straight from that layer, inert
      // whiteouts included: listed, but not there. Skip what cannot be looked up.
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      const s: Snap = { type: typeOf(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isFile()) s.what = hash(readFileSync(p));
      else if (st.isSymbolicLink()) s.what = readlinkSync(p);
      else if (st.isCharacterDevice() || st.isBlockDevice()) s.what = `${Math.floor(st.rdev / 256)}:${st.rdev % 256}`;
      if (!st.isDirectory() || opts.dirMtime) s.mtime = Math.floor(st.mtimeMs / 1000);
      out[r] = s;
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(root, '');
  return out;
}

/** viewSnapshot describes a UnionView the way {@link snapshot} describes a directory. */
export async function viewSnapshot(view: UnionView, opts: { dirMtime?: boolean } = {}): Promise<Record<string, Snap>> {
  const out: Record<string, Snap> = {};
  for await (const { path, stats: st } of view.walk('/')) {
    const s: Snap = { type: st.type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (st.isFile()) s.what = hash(await view.readFile(path));
    else if (st.isSymbolicLink()) s.what = await view.readlink(path);
    else if (st.type === 'char' || st.type === 'block') s.what = `${st.rdevMajor}:${st.rdevMinor}`;
    if (!st.isDirectory() || opts.dirMtime) s.mtime = Math.floor(st.mtimeMs / 1000);
    out[path] = s;
  }
  return out;
}

/** mountsAt lists /proc/self/mountinfo lines whose mount point is `target`. */
export function mountsAt(target: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === target);
}

/** drain reads a stream to one Buffer. */
export async function drain(s: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}
