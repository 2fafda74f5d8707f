import type { FileHandle } from 'node:fs/promises';

/**
 * ByteReader is a forward-only reader of a byte sequence that the tar scanner drives: a file read
 * with positional reads (skipping is free) or a stream (skipping discards). `position` counts the
 * bytes consumed. Chunks handed out are never reused by the reader.
 */
export interface ByteReader {
  readonly position: number;
  /** Reads `n` bytes; fewer only at the end of the input. */
  read(n: number): Promise<Buffer>;
  /** Skips `n` bytes; returns how many were skipped (fewer only at the end). */
  skip(n: number): Promise<number>;
  /** Yields the next `n` bytes as they come (fewer only at the end). */
  chunks(n: number): AsyncGenerator<Buffer>;
}

const CHUNK = 1 << 20;

/** fileReader reads `fh` from `start` with positional reads; `skip` only moves the position. */
export function fileReader(fh: FileHandle, size: number, start = 0): ByteReader {
  let pos = start;
  return {
    get position() {
      return pos;
    },
    async read(n) {
      const want = Math.max(0, Math.min(n, size - pos));
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      pos += got;
      return got === want ? buf : buf.subarray(0, got);
    },
    async skip(n) {
      const k = Math.max(0, Math.min(n, size - pos));
      pos += k;
      return k;
    },
    async *chunks(n) {
      let left = Math.max(0, Math.min(n, size - pos));
      while (left > 0) {
        const buf = await this.read(Math.min(CHUNK, left));
        if (buf.length === 0) return;
        left -= buf.length;
        yield buf;
      }
    },
  };
}

/** streamReader reads an async iterable of chunks; `skip` reads and drops. */
export function streamReader(source: AsyncIterable<Uint8Array>): ByteReader {
  const it = source[Symbol.asyncIterator]();
  let head: Buffer | undefined;
  let ended = false;
  let pos = 0;
  const next = async (): Promise<Buffer | undefined> => {
    if (head && head.length > 0) {
      const h = head;
      head = undefined;
      return h;
    }
    if (ended) return undefined;
    for (;;) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        return undefined;
      }
      const v = r.value;
      if (v.length > 0) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length);
    }
  };
  /** take returns at most `n` bytes of the next chunk, pushing the rest back. */
  const take = async (n: number): Promise<Buffer | undefined> => {
    const c = await next();
    if (c === undefined) return undefined;
    if (c.length > n) {
      head = c.subarray(n);
      pos += n;
      return c.subarray(0, n);
    }
    pos += c.length;
    return c;
  };
  return {
    get position() {
      return pos;
    },
    async read(n) {
      const parts: Buffer[] = [];
      let got = 0;
      while (got < n) {
        const c = await take(n - got);
        if (c === undefined) break;
        parts.push(c);
        got += c.length;
      }
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
    },
    async skip(n) {
      let done = 0;
      while (done < n) {
        const c = await take(n - done);
        if (c === undefined) break;
        done += c.length;
      }
      return done;
    },
    async *chunks(n) {
      let left = n;
      while (left > 0) {
        const c = await take(left);
        if (c === undefined) return;
        left -= c.length;
        yield c;
      }
    },
  };
}
