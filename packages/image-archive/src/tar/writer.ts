import type { Writable } from 'node:stream';
import { encodeHeader, END_OF_ARCHIVE, padding } from '@stratum/layer';

/** Owner and time of every member: root, the epoch (as `docker save` writes its metadata). */
const meta = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 0 };

/**
 * TarWriter writes an archive's members, in order, to a Writable, honouring back-pressure (one
 * chunk in flight at most beyond the stream's buffer: constant memory). Member data comes as a
 * stream whose length must be declared first, as tar requires.
 */
export class TarWriter {
  readonly #out: Writable;
  readonly #signal: AbortSignal | undefined;
  #written = 0;

  constructor(out: Writable, signal?: AbortSignal) {
    this.#out = out;
    this.#signal = signal;
  }

  /** Bytes written so far. */
  get written(): number {
    return this.#written;
  }

  async #write(chunk: Uint8Array): Promise<void> {
    this.#signal?.throwIfAborted();
    const out = this.#out;
    if (out.destroyed || out.writableEnded) throw out.errored ?? new Error('archive output closed');
    this.#written += chunk.length;
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
  }

  /** directory adds a directory member (`name` without trailing slash). */
  async directory(name: string): Promise<void> {
    await this.#write(encodeHeader({ ...meta, name, type: 'directory', mode: 0o755, size: 0 }));
  }

  /** bytes adds a regular file with the given content. */
  async bytes(name: string, data: Uint8Array): Promise<void> {
    await this.#write(encodeHeader({ ...meta, name, type: 'file', mode: 0o644, size: data.length }));
    if (data.length) await this.#write(data);
    await this.#pad(data.length);
  }

  /**
   * file adds a regular file of `size` bytes streamed from `source`. Throws when the source gives
   * fewer or more bytes than declared (the archive is then unusable: the caller discards it).
   */
  async file(name: string, size: number, source: AsyncIterable<Uint8Array>): Promise<void> {
    await this.#write(encodeHeader({ ...meta, name, type: 'file', mode: 0o644, size }));
    let n = 0;
    for await (const chunk of source) {
      n += chunk.length;
      if (n > size) throw new Error(`archive member ${name}: more than the ${size} bytes declared`);
      await this.#write(chunk);
    }
    if (n !== size) throw new Error(`archive member ${name}: ${n} bytes, ${size} declared`);
    await this.#pad(size);
  }

  async #pad(size: number): Promise<void> {
    const p = padding(size);
    if (p.length) await this.#write(p);
  }

  /** finish writes the two end-of-archive blocks. */
  async finish(): Promise<void> {
    await this.#write(END_OF_ARCHIVE);
  }
}
