import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/**
 * ByteSink is where an archive's bytes go, in order: a `Writable` (back-pressure honoured) or a
 * file written with positional writes, which can also rewrite bytes already written (`pwrite`:
 * a tar header patched once its member's size is known).
 */
export interface ByteSink {
  /** Bytes accepted so far. */
  readonly position: number;
  /** Appends a chunk; the chunk must not be modified afterwards. */
  write(chunk: Uint8Array): Promise<void>;
  /** Rewrites bytes at an earlier offset (files only). */
  pwrite?(bytes: Uint8Array, at: number): Promise<void>;
  /** Waits until everything accepted is written. */
  flush(): Promise<void>;
}

/** streamSink writes to a `Writable`, waiting for `drain` when its buffer is full. */
export function streamSink(out: Writable, signal?: AbortSignal): ByteSink {
  let position = 0;
  return {
    get position() {
      return position;
    },
    async write(chunk) {
      signal?.throwIfAborted();
      if (out.destroyed || out.writableEnded) throw out.errored ?? new Error('archive output closed');
      position += chunk.length;
      if (out.write(chunk)) return;
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          out.off('drain', ok);
          out.off('error', done);
          out.off('close', closed);
          if (err) reject(err);
          else resolve();
        };
        const ok = (): void => done();
        const closed = (): void => done(out.errored ?? new Error('archive output closed'));
        out.on('drain', ok);
        out.on('error', done);
        out.on('close', closed);
      });
    },
    async flush() {},
  };
}

const batchBytes = 1 << 20;

/**
 * fileSink writes to a file handle from offset 0 with positional writes: chunks are gathered into
 * 1 MiB `writev` calls, one in flight while the next batch gathers (constant memory).
 */
export function fileSink(fh: FileHandle, signal?: AbortSignal): ByteSink {
  let position = 0;
  let written = 0;
  let batch: Uint8Array[] = [];
  let batchLength = 0;
  let pending: Promise<unknown> = Promise.resolve();
  const send = async (): Promise<void> => {
    if (batchLength === 0) return;
    await pending;
    const at = written;
    const chunks = batch;
    written += batchLength;
    batch = [];
    batchLength = 0;
    pending = fh.writev(chunks, at);
  };
  return {
    get position() {
      return position;
    },
    async write(chunk) {
      signal?.throwIfAborted();
      position += chunk.length;
      batch.push(chunk);
      batchLength += chunk.length;
      if (batchLength >= batchBytes) await send();
    },
    async pwrite(bytes, at) {
      if (at + bytes.length > written) await this.flush();
      await fh.write(bytes, 0, bytes.length, at);
    },
    async flush() {
      await send();
      await pending;
    },
  };
}
