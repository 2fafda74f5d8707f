/**
 * Logs in Docker's json-file format: one JSON object per line,
 * `{"log":"text\n","stream":"stdout","time":"2024-05-01T12:00:00.123456789Z"}`, appended by the
 * monitor as the container writes, read (and followed) by anyone.
 */
import { closeSync, createWriteStream, openSync, readSync, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno } from './fsutil.js';

/** LogStream: which of the container's outputs a line came from. */
export type LogStream = 'stdout' | 'stderr';

const base = { ms: BigInt(Date.now()), hr: process.hrtime.bigint() };

/** nowNs is the wall clock in nanoseconds since the epoch (monotonic within a process). */
export function nowNs(): bigint {
  return base.ms * 1_000_000n + (process.hrtime.bigint() - base.hr);
}

/** rfc3339Nano formats nanoseconds since the epoch as Docker's log timestamps do. */
export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // …ss.mmmZ
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** parseTimeNs parses an RFC 3339 time (any fraction) or a Date/number of ms into nanoseconds since the epoch. */
export function parseTimeNs(t: string | Date | number): bigint {
  if (t instanceof Date) return BigInt(t.getTime()) * 1_000_000n;
  if (typeof t === 'number') return BigInt(Math.floor(t)) * 1_000_000n;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) {
    const ms = Date.parse(t);
    if (Number.isNaN(ms)) throw new TypeError(`invalid time ${JSON.stringify(t)}`);
    return BigInt(ms) * 1_000_000n;
  }
  const secs = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  return secs * 1_000_000_000n + frac;
}

const MAX_LINE = 16 * 1024;

/**
 * JsonLogWriter appends a container's output to its json-file log. Lines are split at `\n`; a
 * partial line is held until its newline, 16 KiB, or `flushPartial()` (Docker splits long lines
 * the same way). Writes go through one append stream in order.
 */
export class JsonLogWriter {
  readonly path: string;
  readonly #out: WriteStream;
  readonly #partial: Record<LogStream, Buffer[]> = { stdout: [], stderr: [] };
  readonly #partialLen: Record<LogStream, number> = { stdout: 0, stderr: 0 };

  constructor(path: string) {
    this.path = path;
    this.#out = createWriteStream(path, { flags: 'a', mode: 0o640 });
    this.#out.on('error', () => undefined); // a log that cannot be written must not take the container down
  }

  #emit(stream: LogStream, text: Buffer): void {
    this.#out.write(`${JSON.stringify({ log: text.toString('utf8'), stream, time: rfc3339Nano(nowNs()) })}\n`);
  }

  /** write takes a chunk of the container's `stream` output. */
  write(stream: LogStream, chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl + 1);
      if (this.#partialLen[stream] > 0) {
        this.#emit(stream, Buffer.concat([...this.#partial[stream], piece]));
        this.#partial[stream] = [];
        this.#partialLen[stream] = 0;
      } else this.#emit(stream, piece);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#partial[stream].push(Buffer.from(rest));
      this.#partialLen[stream] += rest.length;
      if (this.#partialLen[stream] >= MAX_LINE) this.flushPartial(stream);
    }
  }

  /** flushPartial writes what is held of an unterminated line. */
  flushPartial(stream?: LogStream): void {
    for (const s of stream ? [stream] : (['stdout', 'stderr'] as const)) {
      if (this.#partialLen[s] === 0) continue;
      this.#emit(s, Buffer.concat(this.#partial[s]));
      this.#partial[s] = [];
      this.#partialLen[s] = 0;
    }
  }

  /** close flushes partial lines and resolves once everything is written to the file. */
  async close(): Promise<void> {
    this.flushPartial();
    await new Promise<void>((resolve) => this.#out.end(resolve));
  }
}

/** LogsOptions: `docker logs` options. */
export interface LogsOptions {
  /** `-f`: keep reading as the container writes, until it stops (or `signal` aborts). */
  follow?: boolean;
  /** `--since`: only lines at or after this time (RFC 3339, Date or ms since the epoch). */
  since?: string | Date | number;
  /** `--until`: only lines before this time. */
  until?: string | Date | number;
  /** Include stdout (default true). */
  stdout?: boolean;
  /** Include stderr (default true). */
  stderr?: boolean;
  /** `-t`: prefix each line's `text` with its RFC 3339 timestamp and a space. */
  timestamps?: boolean;
  /** `--tail N`: only the last N lines (of those already written). */
  tail?: number;
  signal?: AbortSignal;
}

/** LogLine: one line of a container's output. */
export interface LogLine {
  stream: LogStream;
  /** RFC 3339 with nanoseconds, as written. */
  time: string;
  /** The line as the container wrote it (with its newline), prefixed by `time` with `timestamps`. */
  text: string;
}

/**
 * readJsonLog yields the lines of a json-file log, filtered by stream and time. With `follow`, it
 * waits for more at the end of the file until `done()` says the writer finished and the file
 * has been read to its end.
 */
export async function* readJsonLog(path: string, opts: LogsOptions & { done?: () => boolean } = {}): AsyncGenerator<LogLine> {
  const since = opts.since !== undefined ? parseTimeNs(opts.since) : undefined;
  const until = opts.until !== undefined ? parseTimeNs(opts.until) : undefined;
  const want = { stdout: opts.stdout ?? true, stderr: opts.stderr ?? true };
  let fd: number | undefined;
  const open = (): boolean => {
    if (fd !== undefined) return true;
    try {
      fd = openSync(path, 'r');
      return true;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
  };
  const toLine = (raw: string): LogLine | undefined => {
    let rec: { log?: unknown; stream?: unknown; time?: unknown };
    try {
      rec = JSON.parse(raw) as typeof rec;
    } catch {
      return undefined;
    }
    if (typeof rec.log !== 'string' || (rec.stream !== 'stdout' && rec.stream !== 'stderr') || typeof rec.time !== 'string') return undefined;
    if (!want[rec.stream]) return undefined;
    if (since !== undefined || until !== undefined) {
      const t = parseTimeNs(rec.time);
      if (since !== undefined && t < since) return undefined;
      if (until !== undefined && t >= until) return undefined;
    }
    return { stream: rec.stream, time: rec.time, text: opts.timestamps ? `${rec.time} ${rec.log}` : rec.log };
  };
  let pos = 0;
  let pending = '';
  const buf = Buffer.alloc(64 * 1024);
  const readAvailable = (): LogLine[] => {
    const out: LogLine[] = [];
    if (!open()) return out;
    for (;;) {
      const n = readSync(fd!, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      pending += buf.toString('utf8', 0, n);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const l = toLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (l) out.push(l);
      }
    }
    return out;
  };
  try {
    let first = readAvailable();
    if (opts.tail !== undefined && opts.tail >= 0) first = opts.tail === 0 ? [] : first.slice(-opts.tail);
    for (const l of first) yield l;
    if (!opts.follow) return;
    let wait = 10;
    for (;;) {
      if (opts.signal?.aborted) return;
      const finished = opts.done?.() ?? false;
      const more = readAvailable();
      for (const l of more) yield l;
      if (more.length > 0) {
        wait = 10;
        continue;
      }
      if (finished) return;
      try {
        await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : undefined);
      } catch {
        return; // aborted: end the iteration quietly, as `docker logs -f` does on Ctrl-C
      }
      wait = Math.min(wait * 2, 100);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
