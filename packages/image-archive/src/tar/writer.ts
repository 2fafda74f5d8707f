import { encodeHeader, END_OF_ARCHIVE, padding } from '@stratum/layer';
import type { ByteSink } from './sink.js';

/** Owner and time of every member: root, the epoch (as `docker save` writes its metadata). */
const meta = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 0 };

/** The largest size a ustar header holds in octal (8 GiB - 1); larger ones go base-256. */
const maxOctal = 0o77777777777;

/**
 * fileHeader is the single 512-byte header of a file member of `size` bytes whose name fits
 * ustar: a size beyond the octal field is written base-256 (GNU; read by GNU tar, Go, Docker)
 * rather than as a PAX record, so that the header keeps its length and can be patched in place.
 */
export function fileHeader(name: string, size: number): Uint8Array {
  const h = encodeHeader({ ...meta, name, type: 'file', mode: 0o644, size: Math.min(size, maxOctal) });
  if (size <= maxOctal) return h;
  if (h.length !== 512) throw new RangeError(`tar member ${name}: name too long for an in-place header`);
  let v = size;
  for (let i = 11; i > 0; i--) {
    h[124 + i] = v % 256;
    v = Math.floor(v / 256);
  }
  h[124] = 0x80;
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  Buffer.from(h.buffer, h.byteOffset, 512).write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/**
 * TarWriter writes an archive's members, in order, to a {@link ByteSink}. Member data comes as a
 * stream whose length is declared first, as tar requires — or, on a sink that can patch
 * ({@link TarWriter.canPatch}), streams of unknown length whose header is rewritten once they end.
 */
export class TarWriter {
  readonly #sink: ByteSink;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /** Whether {@link TarWriter.unsized} works on this sink (a file, not a pipe). */
  get canPatch(): boolean {
    return this.#sink.pwrite !== undefined;
  }

  /** directory adds a directory member (`name` without trailing slash). */
  async directory(name: string): Promise<void> {
    await this.#sink.write(encodeHeader({ ...meta, name, type: 'directory', mode: 0o755, size: 0 }));
  }

  /** bytes adds a regular file with the given content. */
  async bytes(name: string, data: Uint8Array): Promise<void> {
    await this.#sink.write(encodeHeader({ ...meta, name, type: 'file', mode: 0o644, size: data.length }));
    if (data.length) await this.#sink.write(data);
    await this.#pad(data.length);
  }

  /**
   * file adds a regular file of `size` bytes streamed from `source`. Throws when the source gives
   * fewer or more bytes than declared (the archive is then unusable: the caller discards it).
   */
  async file(name: string, size: number, source: AsyncIterable<Uint8Array>): Promise<void> {
    await this.#sink.write(encodeHeader({ ...meta, name, type: 'file', mode: 0o644, size }));
    let n = 0;
    for await (const chunk of source) {
      n += chunk.length;
      if (n > size) throw new Error(`archive member ${name}: more than the ${size} bytes declared`);
      await this.#sink.write(chunk);
    }
    if (n !== size) throw new Error(`archive member ${name}: ${n} bytes, ${size} declared`);
    await this.#pad(size);
  }

  /**
   * unsized adds a regular file whose size is known only at its end: a placeholder header is
   * written, the data streamed after it, and the header rewritten with the size. Returns the size.
   */
  async unsized(name: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    const pwrite = this.#sink.pwrite;
    if (!pwrite) throw new Error('TarWriter.unsized needs a sink that can patch (a file)');
    const at = this.#sink.position;
    await this.#sink.write(fileHeader(name, 0));
    let n = 0;
    for await (const chunk of source) {
      n += chunk.length;
      await this.#sink.write(chunk);
    }
    await pwrite.call(this.#sink, fileHeader(name, n), at);
    await this.#pad(n);
    return n;
  }

  async #pad(size: number): Promise<void> {
    const p = padding(size);
    if (p.length) await this.#sink.write(p);
  }

  /** finish writes the two end-of-archive blocks. */
  async finish(): Promise<void> {
    await this.#sink.write(END_OF_ARCHIVE);
  }
}
