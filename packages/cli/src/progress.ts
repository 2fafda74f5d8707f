/**
 * Progress output in Docker's two styles: on a terminal, one line per blob redrawn in place
 * (`9ad63333ebc9: Downloading [=====>     ]  1.2MB/2.3MB`); elsewhere, one plain line per
 * change of state (`9ad63333ebc9: Pulling fs layer`, `…: Download complete`).
 */
import type { ProgressEvent } from '@stratum/registry-client';
import { humanSize, shortId } from './units.js';

/** ProgressOutput: where progress goes and whether it is a terminal. */
export interface ProgressOutput {
  write(text: string): unknown;
  /** Draw bars and redraw lines in place (a TTY). */
  tty: boolean;
  /** Terminal width for the bars (default 80). */
  columns?: number;
}

/**
 * progressBar renders Docker's bar: `[=====>      ]  1.2MB/2.3MB` (`=` per 2% of 50 cells, then `>`, when the
 * terminal has room), or just the byte count when the total is unknown.
 */
export function progressBar(current: number, total: number | undefined, columns = 80): string {
  if (total === undefined || total <= 0) return humanSize(current);
  const width = columns >= 110 ? 50 : Math.max(10, columns - 60);
  const filled = Math.min(width, Math.floor((current / total) * width));
  return `[${'='.repeat(filled)}>${' '.repeat(width - filled)}] ${humanSize(Math.min(current, total)).padStart(8)}/${humanSize(total)}`;
}

/**
 * LineDisplay keeps one line per id. On a TTY `update` redraws that line in place (cursor up,
 * clear, write, cursor down); otherwise only a changed `status` prints a new line, and the
 * progress text is left out (as Docker does when its output is not a terminal).
 */
export class LineDisplay {
  readonly #out: ProgressOutput;
  readonly #ids: string[] = [];
  readonly #last = new Map<string, string>();
  readonly #drawn = new Map<string, number>();

  constructor(out: ProgressOutput) {
    this.#out = out;
  }

  /** update sets the line of `id` to `id: status [progress]`. */
  update(id: string, status: string, progress?: string, opts: { force?: boolean } = {}): void {
    const prev = this.#last.get(id);
    if (!this.#out.tty) {
      if (prev === status) return;
      this.#last.set(id, status);
      this.#out.write(`${id}: ${status}\n`);
      return;
    }
    const text = `${id}: ${status}${progress !== undefined ? ` ${progress}` : ''}`;
    if (prev === text) return;
    // Throttle byte-count redraws of one line to ~10 per second; status changes always draw.
    const now = Date.now();
    const sameStatus = prev !== undefined && prev.startsWith(`${id}: ${status}`);
    if (sameStatus && opts.force !== true && now - (this.#drawn.get(id) ?? 0) < 100) {
      this.#last.set(id, prev!);
      return;
    }
    this.#drawn.set(id, now);
    this.#last.set(id, text);
    const k = this.#ids.indexOf(id);
    if (k < 0) {
      this.#ids.push(id);
      this.#out.write(`${text}\n`);
      return;
    }
    const up = this.#ids.length - k;
    this.#out.write(`\x1b[${up}A\x1b[2K\r${text}\x1b[${up}B\r`);
  }

  /** line prints a line that belongs to no id (headers, the final digest). */
  line(text: string): void {
    this.#out.write(`${text}\n`);
  }
}

/** PullSummary: what {@link PullProgress} saw, for the `Status:` line. */
export interface PullSummary {
  downloaded: number;
}

/**
 * PullProgress turns the registry client's pull events into Docker's pull output: `Pulling fs
 * layer`, `Waiting`, `Downloading [bar]`, `Verifying Checksum`, `Download complete`,
 * `Already exists` — per layer, keyed by the layer's short digest.
 */
export class PullProgress {
  readonly #lines: LineDisplay;
  readonly #out: ProgressOutput;
  #downloaded = 0;

  constructor(out: ProgressOutput) {
    this.#out = out;
    this.#lines = new LineDisplay(out);
  }

  /** onProgress is the callback to hand to `RegistryClient.pull`. */
  readonly onProgress = (e: ProgressEvent): void => {
    if (e.kind !== 'layer') return;
    const id = shortId(e.digest);
    switch (e.state) {
      case 'waiting':
        this.#lines.update(id, 'Pulling fs layer');
        break;
      case 'downloading':
        this.#lines.update(id, 'Downloading', progressBar(e.current, e.total, this.#out.columns));
        break;
      case 'verifying':
        this.#lines.update(id, 'Verifying Checksum');
        break;
      case 'done':
        this.#downloaded++;
        this.#lines.update(id, 'Download complete', undefined, { force: true });
        break;
      case 'skipped':
        this.#lines.update(id, 'Already exists', undefined, { force: true });
        break;
      default:
        break;
    }
  };

  summary(): PullSummary {
    return { downloaded: this.#downloaded };
  }
}

/**
 * PushProgress turns push events into Docker's push output: `Preparing`, `Waiting`,
 * `Pushing [bar]`, `Pushed`, `Layer already exists`, `Mounted from REPO`.
 */
export class PushProgress {
  readonly #lines: LineDisplay;
  readonly #out: ProgressOutput;
  readonly #mountedFrom: string | undefined;

  constructor(out: ProgressOutput, opts: { mountedFrom?: string } = {}) {
    this.#out = out;
    this.#lines = new LineDisplay(out);
    this.#mountedFrom = opts.mountedFrom;
  }

  readonly onProgress = (e: ProgressEvent): void => {
    if (e.kind !== 'layer') return;
    const id = shortId(e.digest);
    switch (e.state) {
      case 'waiting':
        this.#lines.update(id, 'Preparing');
        break;
      case 'uploading':
        this.#lines.update(id, 'Pushing', progressBar(e.current, e.total, this.#out.columns));
        break;
      case 'done':
        this.#lines.update(id, 'Pushed', undefined, { force: true });
        break;
      case 'skipped':
        this.#lines.update(id, 'Layer already exists', undefined, { force: true });
        break;
      case 'mounted':
        this.#lines.update(id, this.#mountedFrom !== undefined ? `Mounted from ${this.#mountedFrom}` : 'Mounted from another repository', undefined, { force: true });
        break;
      default:
        break;
    }
  };
}

/**
 * ArchiveProgress shows `docker load`/`save` per-layer progress (`Loading layer [==>] 1MB/2MB`)
 * on a terminal; off a terminal it prints nothing per layer (Docker prints only the
 * `Loaded image:` lines then). It accepts the archive package's events loosely: an id
 * (`digest`, `diffID`, `id` or `layer`), `current` and `total` bytes.
 */
export class ArchiveProgress {
  readonly #lines: LineDisplay;
  readonly #out: ProgressOutput;
  readonly #verb: string;
  readonly #totals = new Map<string, number>();

  constructor(out: ProgressOutput, verb: 'Loading layer' | 'Saving layer' | 'Importing') {
    this.#out = out;
    this.#lines = new LineDisplay(out);
    this.#verb = verb;
  }

  readonly onProgress = (e: unknown): void => {
    if (!this.#out.tty || e === null || typeof e !== 'object') return;
    const r = e as Record<string, unknown>;
    const idRaw = [r.digest, r.diffID, r.id, r.layer, r.name].find((x) => typeof x === 'string') as string | undefined;
    const current = typeof r.current === 'number' ? r.current : typeof r.bytes === 'number' ? r.bytes : undefined;
    if (idRaw === undefined || current === undefined) return;
    const total = typeof r.total === 'number' ? r.total : typeof r.size === 'number' ? r.size : undefined;
    // A digest, or an archive member named after one (`blobs/sha256/<hex>`, `<hex>/layer.tar`).
    const hex = /[0-9a-f]{64}/.exec(idRaw)?.[0];
    const id = hex !== undefined ? hex.slice(0, 12) : shortId(idRaw);
    if (total !== undefined) this.#totals.set(id, total);
    this.#lines.update(id, this.#verb, progressBar(current, total, this.#out.columns), { force: total !== undefined && current >= total });
  };

  /** finish draws every bar full once the operation succeeded (the last byte counts may have been throttled away). */
  finish(): void {
    if (!this.#out.tty) return;
    for (const [id, total] of this.#totals) this.#lines.update(id, this.#verb, progressBar(total, total, this.#out.columns), { force: true });
  }
}
