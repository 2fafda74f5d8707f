/**
 * The benchmark harness: each benchmark runs "ours" beside one or more peers on the same data,
 * alternating (A B A B …) after a warm-up, and reports median/min/max and the ratio ours/peer.
 * Benchmarks are never timed tests: nothing here fails on a number.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One contender in a benchmark row. */
export interface Contender {
  /** Label printed in the table, e.g. `stratum`, `sha256sum`, `node crypto (floor)`. */
  name: string;
  /** Runs once; the harness times it. */
  run(): Promise<void> | void;
  /** Called before each timed run (not timed): fresh output dirs, cache resets. */
  before?(): Promise<void> | void;
  /** Called after each timed run (not timed). */
  after?(): Promise<void> | void;
}

/** A benchmark: ours against peers on the same data. */
export interface Benchmark {
  /** Row title, e.g. `sha256 digest, 256 MiB file`. */
  name: string;
  /** Which issue/package it belongs to (for grouping). */
  group: string;
  setup?(): Promise<void> | void;
  teardown?(): Promise<void> | void;
  ours: Contender;
  peers: Contender[];
  /** Counted runs per contender (default 5); one extra warm-up run each is not counted. */
  runs?: number;
  /** Sample peak RSS while `ours` runs in this process, and of peers through /proc (default false). */
  memory?: boolean;
  /** A target stated by the issue, printed beside the ratio, e.g. `ours ≤ 0.8× cp+sha256sum`. */
  target?: string;
  /** Returns why it can't run here (a missing tool), or undefined. */
  unavailable?(): string | undefined;
}

/** Measured figures of one contender. */
export interface Figures {
  name: string;
  times: number[];
  median: number;
  min: number;
  max: number;
  peakRssMiB?: number;
}

/** Peak RSS (KiB) of the last command run by {@link runCommand}, for the harness's memory column. */
export const lastCommand = { peakRssKiB: 0 };

/** readHwmKiB: the peak RSS (VmHWM, KiB) of a running process, 0 when it is gone. */
export function readHwmKiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * runCommand runs a peer command and resolves when it exits 0 (rejects otherwise, with its
 * stderr). Its peak RSS (VmHWM, sampled until exit) is left in {@link lastCommand}.
 */
export function runCommand(
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: 'ignore' | 'inherit'; stdout?: 'ignore' | 'inherit' } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'ignore', 'pipe'],
    });
    let stderr = '';
    let peak = 0;
    const timer = setInterval(() => {
      if (child.pid) peak = Math.max(peak, readHwmKiB(child.pid));
    }, 10);
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      lastCommand.peakRssKiB = peak;
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(' ')} failed (${signal ?? code}): ${stderr.trim()}`));
    });
  });
}

/** benchDir returns a fresh directory under the bench scratch area (`.bench/` or $STRATUM_BENCH_DIR). */
export function benchDir(name: string): string {
  const root = process.env.STRATUM_BENCH_DIR ?? join(process.cwd(), '.bench');
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const shellQuote = (a: string): string => `'${a.replaceAll("'", "'\\''")}'`;

/**
 * Launcher runs peer commands from a long-lived `bash` (forked once, in setup), so that this
 * process forks nothing while contenders are timed. A fork of the bench process (~130 MiB)
 * write-protects its whole heap: the in-process contender that runs next then takes thousands of
 * page faults to get it back (+100–150 ms on a 21 MiB registry pull here). A run is timed from the
 * request to bash's report of the exit: a fork and exec of the command from a small shell, which
 * is, if anything, quicker than a fork of this process. The peak RSS (VmHWM) of the command is
 * sampled every 10 ms into `lastCommand`, as the harness's `runCommand` does.
 */
export class Launcher {
  readonly #sh: ChildProcess;
  readonly #errFile: string;
  #buffer = '';
  #waiting: ((line: string) => void)[] = [];

  constructor(scratch: string) {
    this.#errFile = join(scratch, 'launcher-stderr');
    this.#sh = spawn('bash', ['--noprofile', '--norc'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#sh.stdout!.setEncoding('utf8');
    this.#sh.stdout!.on('data', (d: string) => {
      this.#buffer += d;
      for (let i = this.#buffer.indexOf('\n'); i >= 0; i = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, i);
        this.#buffer = this.#buffer.slice(i + 1);
        this.#waiting.shift()?.(line);
      }
    });
  }

  #line(): Promise<string> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /**
   * Runs `argv` (stdout discarded) and resolves when it exits 0; rejects with its stderr otherwise.
   * `recordRss: false` leaves {@link lastCommand} alone (housekeeping such as `sync` after a run).
   */
  async run(argv: string[], opts: { recordRss?: boolean } = {}): Promise<void> {
    const pidLine = this.#line();
    const rcLine = this.#line();
    const err = shellQuote(this.#errFile);
    this.#sh.stdin!.write(`${argv.map(shellQuote).join(' ')} >/dev/null 2>${err} </dev/null & p=$!; echo "$p"; wait "$p"; echo "$?"\n`);
    const pid = Number(await pidLine);
    let peak = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, readHwmKiB(pid));
    }, 10);
    const rc = Number(await rcLine);
    clearInterval(timer);
    if (opts.recordRss !== false) lastCommand.peakRssKiB = peak;
    if (rc !== 0) throw new Error(`${argv.join(' ')} failed (${rc}): ${readFileSync(this.#errFile, 'utf8').slice(0, 4000).trim()}`);
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#sh.once('exit', () => resolve()));
    this.#sh.stdin!.end();
    await exited;
  }
}
