import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';

/** Input bytes per independently compressed block. */
const BLOCK = 1024 * 1024;
/** The deflate window: each block is primed with this much of the input before it. */
const WINDOW = 32 * 1024;
/** Blocks compressed at once on the libuv pool (its default size is 4). */
const IN_FLIGHT = 3;

type Crc32 = (data: Uint8Array, value?: number) => number;
const crc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

/** parallelGzipAvailable tells whether {@link ParallelGzip} can run here (node:zlib has crc32 since Node 20.15). */
export function parallelGzipAvailable(): boolean {
  return typeof crc32 === 'function';
}

function deflate(data: Buffer, opts: zlib.ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => zlib.deflateRaw(data, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

/** Samples per block for the compressibility probe, and their size. */
const SAMPLES = 8;
const SAMPLE = 8 * 1024;

/**
 * Deflates one block. Its samples (eight 8 KiB slices spread over it) are deflated at level 1
 * first: a block whose samples do not shrink is stored (level 0), one whose samples hardly
 * shrink (random data between tar headers and padding) gets level 1: a long match search at
 * the requested level would find nothing more. The choice depends only on the bytes, so the
 * output stays deterministic.
 */
async function deflateBlock(block: Buffer, dictionary: Buffer | undefined, level: number, last: boolean): Promise<Buffer> {
  let l = level;
  if (l > 0 && block.length >= SAMPLES * SAMPLE) {
    const step = Math.floor(block.length / SAMPLES);
    const sample = Buffer.concat(Array.from({ length: SAMPLES }, (_, i) => block.subarray(i * step, i * step + SAMPLE)));
    const probe = await deflate(sample, { level: 1 });
    const ratio = probe.length / sample.length;
    // Barely compressible (random data between tar headers and padding): the fast level finds
    // the same few savings; incompressible: stored.
    if (ratio > 0.98) l = 0;
    else if (ratio > 0.9) l = Math.min(l, 1);
  }
  const opts: zlib.ZlibOptions = { level: l, finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
  if (dictionary && l > 0) opts.dictionary = dictionary;
  return deflate(block, opts);
}

/**
 * ParallelGzip compresses to one gzip member the way pigz does: the input is cut into 1 MiB
 * blocks at fixed offsets, each block is deflated on the libuv pool (several at once) with the
 * 32 KiB before it as its dictionary and ends with a sync flush (the last one with the final
 * block), and the pieces are joined in order into one deflate stream, with the CRC-32 and size
 * of the whole input in the trailer. Any gzip reader reads it; compression is within a few bytes
 * per MiB of a single stream's (blocks that do not compress are stored, see deflateBlock); the
 * output is deterministic for the same input, level and zlib.
 */
export class ParallelGzip extends Transform {
  readonly #level: number;
  #pending: Buffer[] = [];
  #pendingLen = 0;
  #prevTail: Buffer | undefined;
  #crc = 0;
  #size = 0;
  #started = false;
  readonly #queue: Array<Promise<Buffer>> = [];

  constructor(level = 6) {
    super({ readableHighWaterMark: BLOCK, writableHighWaterMark: BLOCK });
    if (!parallelGzipAvailable()) throw new Error('ParallelGzip needs zlib.crc32 (Node ≥ 20.15)');
    this.#level = level;
  }

  #header(): void {
    if (this.#started) return;
    this.#started = true;
    // ID1 ID2 CM=8 FLG=0 MTIME=0 XFL OS=3 (Unix), as node:zlib writes it.
    const xfl = this.#level === 9 ? 2 : this.#level === 1 ? 4 : 0;
    this.push(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]));
  }

  // Cuts `n` bytes off the pending input.
  #take(n: number): Buffer {
    // Block-aligned input (createLayer hands on 1 MiB chunks) needs no copy.
    const first = this.#pending[0];
    const all = first !== undefined && first.length >= n ? first : Buffer.concat(this.#pending, this.#pendingLen);
    const block = all.subarray(0, n);
    if (all === first) {
      const rest = first.subarray(n);
      this.#pending.shift();
      if (rest.length) this.#pending.unshift(rest);
    } else {
      const rest = all.subarray(n);
      this.#pending = rest.length ? [rest] : [];
    }
    this.#pendingLen -= n;
    return block;
  }

  #submit(block: Buffer, last: boolean): void {
    this.#crc = crc32!(block, this.#crc);
    this.#size += block.length;
    const p = deflateBlock(block, this.#prevTail, this.#level, last);
    p.catch(() => {});
    this.#queue.push(p);
    // Every block but the last is BLOCK bytes, more than the window. Copied: the block may be a
    // view of a larger pending buffer that is released meanwhile.
    if (!last) this.#prevTail = Buffer.from(block.subarray(block.length - WINDOW));
  }

  async #drain(keep: number): Promise<void> {
    while (this.#queue.length > keep) this.push(await this.#queue.shift()!);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#header();
    this.#pending.push(chunk);
    this.#pendingLen += chunk.length;
    // Keep one block back until more input arrives: only the last block gets the final flag.
    const work = async (): Promise<void> => {
      while (this.#pendingLen > BLOCK) {
        this.#submit(this.#take(BLOCK), false);
        await this.#drain(IN_FLIGHT - 1);
      }
    };
    work().then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.#header();
    const finish = async (): Promise<void> => {
      this.#submit(this.#take(this.#pendingLen), true);
      await this.#drain(0);
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.#crc >>> 0, 0);
      trailer.writeUInt32LE(this.#size % 2 ** 32, 4);
      this.push(trailer);
    };
    finish().then(() => cb(), cb);
  }
}
