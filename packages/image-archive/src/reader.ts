import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Digest } from '@stratum/oci';
import { InvalidArchiveError } from './errors.js';
import { detectCompression, openArchiveStream, readChunk, type Compression } from './input.js';
import { MemberTable } from './members.js';
import { fileReader, streamReader } from './tar/bytes.js';
import { scanTar } from './tar/scan.js';
import { translateStreamError } from './stream-errors.js';

/** FileMember: a regular-file member a path resolved to. */
export interface FileMember {
  /** Clean archive-relative name of the file itself (links followed). */
  name: string;
  size: number;
}

/**
 * ArchiveReader gives random access to the files of an archive (a tar file, plain or gzip, or a
 * directory) without extracting it: paths resolve safely inside the archive, files open as new
 * streams as often as asked. No file descriptor is held between calls.
 */
export interface ArchiveReader {
  /** Where the archive is (the path given). */
  readonly location: string;
  /** `gzip` or `zstd` when every open re-decompresses the archive from its start. */
  readonly compression: Compression;
  /** Clean names of every regular file (links and directories excluded). */
  files(): Promise<string[]>;
  /** Resolves a path named by the archive's metadata to a file, safely. */
  resolve(path: string): Promise<FileMember>;
  /** The first bytes (up to 16) of a file: enough to tell its compression. */
  head(file: FileMember): Promise<Uint8Array>;
  /** A new stream of a file's bytes. */
  open(file: FileMember, opts?: { signal?: AbortSignal }): Readable;
  /**
   * The digest and the uncompressed digest of a file, when the reader already knows them (the
   * loader hashed every file on its way into the store). Optional capability.
   */
  known?(file: FileMember): Promise<{ digest: Digest; diffID: Digest }>;
}

/** tryResolve resolves `path` in the archive, or returns undefined when there is no such member. */
export async function tryResolve(reader: ArchiveReader, path: string): Promise<FileMember | undefined> {
  try {
    return await reader.resolve(path);
  } catch (err) {
    if (err instanceof InvalidArchiveError && err.kind === 'MISSING_MEMBER') return undefined;
    throw err;
  }
}

/** readFile reads a whole (small) file of an archive; refuses more than `max` bytes with `TOO_LARGE`. */
export async function readFile(reader: ArchiveReader, file: FileMember, max: number): Promise<Buffer> {
  if (file.size > max) throw new InvalidArchiveError('TOO_LARGE', `${file.name} is ${file.size} bytes, more than the ${max} read into memory`, { path: file.name });
  const parts: Buffer[] = [];
  for await (const c of reader.open(file)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

interface Indexed {
  dataOffset: number;
  head?: Uint8Array;
}

const headSize = 16;

/**
 * openTarReader indexes a tar file in one pass. A plain tar is indexed by reading its headers
 * only (positional reads skip the data) and every file opens as a byte range of it. A gzip (or
 * zstd) tar is decompressed once to index it, remembering the first bytes of each file; each later open
 * decompresses again from the start and skips to the file (constant memory, time proportional
 * to the file's offset).
 */
export async function openTarReader(path: string, signal?: AbortSignal): Promise<ArchiveReader> {
  const table = new MemberTable<Indexed>();
  const fh = await open(path, 'r');
  let compression: Compression;
  try {
    const size = (await fh.stat()).size;
    const magic = Buffer.alloc(6);
    await fh.read(magic, 0, 6, 0);
    compression = detectCompression(magic, path);
    if (compression === 'none') {
      for await (const m of scanTar(fileReader(fh, size), signal)) table.add(m, { dataOffset: m.dataOffset });
    }
  } finally {
    await fh.close();
  }
  if (compression !== 'none') {
    const stream = await openArchiveStream(path, signal);
    try {
      const reader = streamReader(stream);
      for await (const m of scanTar(reader, signal)) {
        const entry: Indexed = { dataOffset: m.dataOffset };
        if (m.type === 'file') entry.head = await reader.read(Math.min(headSize, m.size));
        table.add(m, entry);
      }
    } catch (err) {
      throw translateStreamError(err);
    } finally {
      stream.destroy();
    }
  }
  const lookup = (file: FileMember): Indexed => table.get(file.name)!.payload;
  const reader: ArchiveReader = {
    location: path,
    compression,
    files: async () => [...table.values()].filter((m) => m.tar.type === 'file').map((m) => m.name),
    async resolve(p) {
      const m = table.resolve(p);
      return { name: m.name, size: m.tar.size };
    },
    async head(file) {
      const e = lookup(file);
      if (e.head) return e.head;
      const h = await readFile(reader, { ...file, size: Math.min(headSize, file.size) }, headSize);
      e.head = h;
      return h;
    },
    open(file, opts = {}) {
      const { dataOffset } = lookup(file);
      if (compression === 'none') {
        if (file.size === 0) return Readable.from([]);
        return createReadStream(path, { start: dataOffset, end: dataOffset + file.size - 1, highWaterMark: readChunk, ...(opts.signal ? { signal: opts.signal } : {}) });
      }
      return Readable.from(compressedRange(path, dataOffset, file.size, opts.signal), { objectMode: false, highWaterMark: readChunk });
    },
  };
  return reader;
}

async function* compressedRange(path: string, offset: number, size: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const stream = await openArchiveStream(path, signal);
  try {
    const r = streamReader(stream);
    if ((await r.skip(offset)) < offset) throw new InvalidArchiveError('TRUNCATED', `archive ${path} changed or is truncated`, { offset });
    let n = 0;
    for await (const c of r.chunks(size)) {
      n += c.length;
      yield c;
    }
    if (n < size) throw new InvalidArchiveError('TRUNCATED', `archive ${path} changed or is truncated`, { offset: offset + n });
  } catch (err) {
    throw translateStreamError(err);
  } finally {
    stream.destroy();
  }
}

/** isDirectory tells whether `path` is a directory (following symlinks); false when absent. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
