import { createHash } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { llistxattr, lgetxattr } from '@stratum/native';
import { digestBytes } from '@stratum/oci';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeaderInput } from '../src/index.js';

/** A temporary directory removed at the end of the scope (`using t = tempDir('x')`). */
export function tempDir(name: string): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), `stratum-layer-${name}-`));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One raw tar member for {@link rawTar}: a header, and data for files. */
export type RawEntry = Omit<TarHeaderInput, 'size' | 'mode' | 'uid' | 'gid' | 'mtime'> & {
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  data?: string | Uint8Array;
};

/** rawTar builds a tar with our writer, entries verbatim (names are not cleaned: hostile ones stay hostile). */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? new Uint8Array(0));
    const mode = e.mode ?? (e.type === 'directory' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644);
    parts.push(encodeHeader({ ...e, mode, uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? 1_000_000_000, size: e.type === 'file' ? data.length : 0 }));
    if (e.type === 'file') parts.push(data, padding(data.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** What {@link snapshot} records of one entry. */
export interface Snap {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of a file's content, a symlink's target, `major:minor` of a device. */
  what?: string;
  mtime?: number;
  xattrs?: Record<string, string>;
  /** For files with several links: the first path (sorted) of the inode. */
  link?: string;
}

/**
 * snapshot describes a tree (never following symlinks): type, mode, owner, content hash or
 * symlink target, optionally whole-second mtimes and xattrs, and hard link identity.
 */
export function snapshot(root: string, opts: { mtime?: boolean; xattrs?: boolean; dirMtime?: boolean; skip?: (p: string) => boolean } = {}): Record<string, Snap> {
  const out: Record<string, Snap> = {};
  const inodes = new Map<string, string>();
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const rel = prefix + name;
      if (opts.skip?.(rel)) continue;
      const st = lstatSync(p, { bigint: true });
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
      const s: Snap = { type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
      if (type === 'file') s.what = createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16);
      if (type === 'symlink') {
        s.what = readlinkSync(p);
        s.mode = 0o777;
      }
      if (type === 'char' || type === 'block') s.what = `${Number(st.rdev) >> 8}:${Number(st.rdev) & 0xff}`;
      if ((opts.mtime && type !== 'dir' && type !== 'symlink') || (opts.dirMtime && type === 'dir')) s.mtime = Number(st.mtimeMs / 1000n);
      if (opts.xattrs && type !== 'symlink') {
        const names = llistxattr(p).filter((n) => !n.startsWith('security.selinux')).sort();
        if (names.length) s.xattrs = Object.fromEntries(names.map((n) => [n, lgetxattr(p, n).toString('hex')]));
      }
      if (type === 'file' && st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first) s.link = first;
        else inodes.set(key, rel);
      }
      out[rel] = s;
      if (type === 'dir') walk(p, `${rel}/`);
    }
  };
  walk(root, '');
  return out;
}

/** drain reads a stream to its end and returns the bytes. */
export async function drain(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** One entry for {@link buildTree}. */
export type TreeSpec =
  | { path: string; type: 'file'; content: string | Uint8Array; mode?: number; mtime?: number }
  | { path: string; type: 'dir'; mode?: number; mtime?: number }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'hardlink'; target: string };

/** buildTree creates the entries under `root` in order (parents first), with modes and mtimes (seconds). */
export function buildTree(root: string, spec: TreeSpec[]): void {
  mkdirSync(root, { recursive: true });
  const dirTimes: Array<[string, number]> = [];
  for (const e of spec) {
    const p = join(root, e.path);
    mkdirSync(dirname(p), { recursive: true });
    switch (e.type) {
      case 'dir':
        mkdirSync(p, { recursive: true });
        if (e.mode !== undefined) chmodSync(p, e.mode);
        if (e.mtime !== undefined) dirTimes.push([p, e.mtime]);
        break;
      case 'file':
        writeFileSync(p, e.content);
        if (e.mode !== undefined) chmodSync(p, e.mode);
        if (e.mtime !== undefined) utimesSync(p, e.mtime, e.mtime);
        break;
      case 'symlink':
        symlinkSync(e.target, p);
        break;
      case 'hardlink':
        linkSync(join(root, e.target), p);
        break;
    }
  }
  for (const [p, t] of dirTimes.reverse()) utimesSync(p, t, t);
}

/**
 * writeLayout writes an OCI image layout holding one image made of `layers` (blob bytes,
 * diffID, media type), tagged `tag`: enough for `umoci unpack` and `skopeo` to read.
 */
export function writeLayout(dir: string, layers: Array<{ blob: Uint8Array; diffID: string; mediaType: string }>, tag: string): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Uint8Array): { digest: string; size: number } => {
    const digest = digestBytes(b);
    writeFileSync(join(blobs, digest.slice(7)), b);
    return { digest, size: b.length };
  };
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    history: layers.map(() => ({ created_by: 'stratum createLayer' })),
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
    layers: layers.map((l) => ({ mediaType: l.mediaType, ...put(l.blob) })),
  }));
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
}
