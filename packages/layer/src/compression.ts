import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex, PassThrough, Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { UnsupportedLayerError } from './errors.js';
import { ParallelGzip, parallelGzipAvailable } from './pgzip.js';

/** Compression: how a layer blob is compressed. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** The size of the chunks decompressors hand out: large, so file data is written with few syscalls. */
export const CHUNK_SIZE = 256 * 1024;

/** How many decompressed bytes may wait for the consumer (decompression runs ahead by this much). */
const READ_AHEAD = 4 * 1024 * 1024;

/**
 * detectCompression names the compression of a blob from its first bytes (gzip `1f 8b`, zstd
 * `28 b5 2f fd`, else an uncompressed tar). Throws {@link UnsupportedLayerError} for bzip2, xz
 * and lz4, which are not layer media types. Needs at least 6 bytes unless the blob is shorter.
 */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) throw new UnsupportedLayerError('bzip2', 'bzip2-compressed layers are not supported (not an OCI layer media type)');
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) {
    throw new UnsupportedLayerError('xz', 'xz-compressed layers are not supported (not an OCI layer media type)');
  }
  if (head.length >= 4 && head[0] === 0x04 && head[1] === 0x22 && head[2] === 0x4d && head[3] === 0x18) throw new UnsupportedLayerError('lz4', 'lz4-compressed layers are not supported');
  return 'none';
}

type ZlibWithZstd = typeof zlib & {
  createZstdDecompress?: (opts?: object) => Duplex;
  createZstdCompress?: (opts?: object) => Duplex;
  constants: typeof zlib.constants & { ZSTD_c_compressionLevel?: number };
};
const z = zlib as ZlibWithZstd;

let zstdBinary: string | null | undefined;

function findZstd(): string | null {
  if (zstdBinary !== undefined) return zstdBinary;
  zstdBinary = null;
  for (const d of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const p = join(d, 'zstd');
    try {
      accessSync(p, constants.X_OK);
      zstdBinary = p;
      break;
    } catch {
      // keep looking
    }
  }
  return zstdBinary;
}

/**
 * zstdSupport tells how zstd layers are handled here: `'zlib'` when node:zlib has zstd (Node ≥
 * 22.15), `'binary'` when a `zstd` executable is on PATH (it is spawned as a filter), or
 * undefined when neither is available.
 */
export function zstdSupport(): 'zlib' | 'binary' | undefined {
  if (typeof z.createZstdDecompress === 'function' && typeof z.createZstdCompress === 'function') return 'zlib';
  return findZstd() ? 'binary' : undefined;
}

function noZstd(): UnsupportedLayerError {
  return new UnsupportedLayerError('zstd', 'zstd needs Node ≥ 22.15 (node:zlib zstd) or the zstd executable on PATH (apt-get install zstd)');
}

/** The error a spawned filter reports when it exits non-zero (its stderr is in the message). */
export class FilterExitError extends Error {
  readonly code = 'FILTER_EXIT';
  readonly status: number | null;
  readonly stderr: string;
  constructor(argv: string[], status: number | null, signal: NodeJS.Signals | null, stderr: string) {
    super(`${argv.join(' ')} exited with ${signal ?? status}: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    this.status = status;
    this.stderr = stderr;
  }
}

/**
 * spawnFilter runs `argv` as a byte filter: what is written to the returned duplex goes to its
 * stdin, its stdout is what the duplex reads. The readable side ends only after the process
 * exited 0; a non-zero exit destroys it with {@link FilterExitError}. Destroying the duplex kills
 * the process.
 */
export function spawnFilter(argv: string[]): Duplex {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough({ highWaterMark: CHUNK_SIZE });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  child.stdout.pipe(out, { end: false });
  let failed: Error | undefined;
  const input = new Writable({
    highWaterMark: CHUNK_SIZE,
    write(chunk: Buffer, _enc, cb) {
      if (failed) return cb(failed);
      if (child.stdin.write(chunk)) cb();
      else child.stdin.once('drain', () => cb());
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
  });
  // EPIPE when the process exits early: the exit status tells what happened.
  child.stdin.on('error', () => {});
  child.on('error', (e) => {
    failed = e;
    duplex.destroy(e);
  });
  child.on('close', (status, signal) => {
    if (status === 0) out.end();
    else {
      failed = new FilterExitError(argv, status, signal, stderr);
      duplex.destroy(failed);
    }
  });
  const duplex = Duplex.from({ readable: out, writable: input });
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

/** decompressor returns a duplex that decompresses `kind` (gzip through node:zlib, zstd through zlib or the zstd executable). */
export function decompressor(kind: Exclude<Compression, 'none'>): Duplex {
  // A deep readable buffer lets zlib (on the libuv pool) run ahead while the caller writes files.
  if (kind === 'gzip') return zlib.createGunzip({ chunkSize: CHUNK_SIZE, readableHighWaterMark: READ_AHEAD } as zlib.ZlibOptions);
  const how = zstdSupport();
  if (how === 'zlib') return z.createZstdDecompress!({ chunkSize: CHUNK_SIZE });
  if (how === 'binary') return spawnFilter([findZstd()!, '-d', '-c', '-q', '--no-progress']);
  throw noZstd();
}

/**
 * compressor returns a duplex compressing to `kind` at `level` (gzip 0–9, default 6 as
 * Docker's `gzip.DefaultCompression`; zstd 1–19, default 3 as the zstd CLI). gzip is compressed
 * in parallel on the libuv pool, pigz-style ({@link ParallelGzip}), where node:zlib has crc32.
 * Output is deterministic for the same input, level and library version (gzip header without a
 * time or name; fixed block boundaries; zstd single-threaded).
 */
export function compressor(kind: Exclude<Compression, 'none'>, level?: number): Duplex {
  if (kind === 'gzip') return parallelGzipAvailable() ? new ParallelGzip(level ?? 6) : zlib.createGzip({ level: level ?? 6, chunkSize: CHUNK_SIZE });
  const how = zstdSupport();
  const l = level ?? 3;
  if (how === 'zlib') {
    const key = z.constants.ZSTD_c_compressionLevel!;
    return z.createZstdCompress!({ chunkSize: CHUNK_SIZE, params: { [key]: l } });
  }
  if (how === 'binary') return spawnFilter([findZstd()!, '-c', '-q', '--no-progress', '-T1', ...(l > 19 ? ['--ultra'] : []), `-${l}`]);
  throw noZstd();
}
