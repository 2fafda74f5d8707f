import { Readable } from 'node:stream';
import { openLayer, checkSource, type LayerSource } from './source.js';
import { TarParser, type TarEntry } from './tar/reader.js';

/** TarReadEntry: one member from {@link readTar}, with its data. */
export interface TarReadEntry extends TarEntry {
  /**
   * The member's data: the file's bytes for `type: 'file'` (`size` bytes; a sparse file's data
   * segments only, see `sparse`), empty for every other type. Read it (or not) before asking
   * for the next entry: moving on discards what was not read and destroys this stream.
   */
  data: Readable;
}

type Event = { t: 'entry'; e: TarEntry } | { t: 'data'; c: Uint8Array } | { t: 'end' };

/** ReadTarOptions: the options of {@link readTar}. */
export interface ReadTarOptions {
  /** Aborts reading: the iteration rejects with the signal's reason and the source is released. */
  signal?: AbortSignal;
}

/**
 * readTar reads a layer (tar, tar+gzip or tar+zstd, detected by magic bytes) as an async
 * iterable of entries, each with a `data` stream, in archive order, with PAX, GNU long names
 * and sparse maps applied (`name` is as the archive gives it, uncleaned: use it as data, never
 * as a host path). Memory stays constant: at most one source chunk is buffered. Malformed or
 * truncated input makes the iteration reject with {@link CorruptLayerError} (tar, gzip or zstd
 * offset). Bytes after the end-of-archive marker are read and discarded (so gzip's checksum is
 * verified). Breaking out of the loop releases the source. The same parser as `applyLayer`.
 * Like `tar -tvf`, plus the data.
 *
 * @example
 * for await (const e of readTar('layer.tar.gz')) if (e.type === 'file') await pipeline(e.data, sink(e.name));
 */
export function readTar(source: LayerSource, opts: ReadTarOptions = {}): AsyncIterable<TarReadEntry> {
  checkSource(source, 'readTar');
  return {
    [Symbol.asyncIterator]: () => new TarReader(source, opts.signal),
  };
}

class TarReader implements AsyncIterator<TarReadEntry> {
  readonly #source: LayerSource;
  readonly #signal: AbortSignal | undefined;
  #chunks: AsyncIterator<Uint8Array> | undefined;
  readonly #queue: Event[] = [];
  #head = 0;
  #parser: TarParser;
  #eof = false;
  #pulling: Promise<void> | undefined;
  #current: { stream: Readable; ended: boolean } | undefined;
  #failed: unknown;

  constructor(source: LayerSource, signal: AbortSignal | undefined) {
    this.#source = source;
    this.#signal = signal;
    this.#parser = new TarParser({
      entry: (e) => this.#queue.push({ t: 'entry', e }),
      data: (c) => this.#queue.push({ t: 'data', c }),
      endEntry: () => this.#queue.push({ t: 'end' }),
    });
  }

  #shift(): Event | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const ev = this.#queue[this.#head++]!;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    return ev;
  }

  #peek(): Event | undefined {
    return this.#queue[this.#head];
  }

  // Reads one more source chunk into the parser (one pull at a time, shared by concurrent callers).
  // Never rejects: a failure is kept in #failed and ends the input.
  #pull(): Promise<void> {
    this.#pulling ??= (async () => {
      try {
        if (this.#failed !== undefined) throw this.#failed;
        this.#chunks ??= (await openLayer(this.#source, { signal: this.#signal })).chunks[Symbol.asyncIterator]();
        const r = await this.#chunks.next();
        if (r.done) {
          this.#eof = true;
          this.#parser.end();
        } else {
          this.#parser.write(r.value);
        }
      } catch (e) {
        // Recorded, not thrown: the entries parsed before the failure are still delivered.
        this.#failed ??= e;
        this.#eof = true;
        void this.#chunks?.return?.(undefined);
      } finally {
        this.#pulling = undefined;
      }
    })();
    return this.#pulling;
  }

  async next(): Promise<IteratorResult<TarReadEntry>> {
    // Finish the previous entry: discard its unread data.
    const prev = this.#current;
    this.#current = undefined;
    if (prev && !prev.ended) {
      prev.ended = true;
      for (;;) {
        const ev = this.#shift();
        if (ev === undefined) {
          if (this.#eof) break;
          await this.#pull();
          continue;
        }
        if (ev.t === 'end') break;
      }
      prev.stream.destroy();
    }
    for (;;) {
      const ev = this.#shift();
      if (ev === undefined) {
        if (this.#eof) {
          if (this.#failed !== undefined) throw this.#failed;
          return { done: true, value: undefined };
        }
        await this.#pull();
        continue;
      }
      if (ev.t !== 'entry') continue;
      const state = { stream: undefined as unknown as Readable, ended: false };
      state.stream = new Readable({
        read: () => {
          this.#feed(state).catch((e: unknown) => state.stream.destroy(e as Error));
        },
      });
      this.#current = state;
      return { done: false, value: { ...ev.e, data: state.stream } };
    }
  }

  async #feed(state: { stream: Readable; ended: boolean }): Promise<void> {
    for (;;) {
      if (state.ended || this.#current !== state) return;
      const ev = this.#peek();
      if (ev === undefined) {
        if (this.#eof) {
          state.stream.destroy(this.#failed instanceof Error ? this.#failed : new Error('tar stream ended inside an entry'));
          return;
        }
        await this.#pull();
        continue;
      }
      if (ev.t === 'entry') return; // cannot happen: an 'end' always comes first
      this.#shift();
      if (ev.t === 'end') {
        state.ended = true;
        state.stream.push(null);
        return;
      }
      if (!state.stream.push(ev.c)) return;
    }
  }

  async return(): Promise<IteratorResult<TarReadEntry>> {
    this.#eof = true;
    this.#current?.stream.destroy();
    this.#current = undefined;
    this.#queue.length = 0;
    this.#head = 0;
    await this.#chunks?.return?.(undefined);
    return { done: true, value: undefined };
  }
}
