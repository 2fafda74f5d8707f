/**
 * The benchmark harness: each benchmark runs "ours" beside one or more peers on the same data,
 * alternating (A B A B …) after a warm-up, and reports median/min/max and the ratio ours/peer.
 * Benchmarks are never timed tests: nothing here fails on a number.
 */
import { spawn } from 'node:child_process';

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

/** runCommand runs a peer command and resolves when it exits 0 (rejects otherwise). Returns its peak RSS in KiB (from /proc, sampled). */
export function runCommand(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: 'ignore' | 'inherit' } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.stdin ?? 'ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(0);
      else reject(new Error(`${argv.join(' ')} failed (${signal ?? code}): ${stderr.trim()}`));
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
