/** Shared helpers of the kernel tests: workloads under a subreaper, polling, names. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants } from 'node:os';

let reaper: { dir: string; bin: string } | undefined;

/** reaperBin compiles test/reaper.c once per test file (into a temp dir removed by {@link cleanupReaper}). */
export function reaperBin(): string {
  if (reaper) return reaper.bin;
  const dir = mkdtempSync(join(tmpdir(), 'stratum-cgroup-test-'));
  const bin = join(dir, 'stratum-test-reaper');
  const r = spawnSync('cc', ['-O2', '-o', bin, join(import.meta.dirname, 'reaper.c')], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cc failed: ${r.stderr || r.error?.message}`);
  }
  reaper = { dir, bin };
  return bin;
}

/** cleanupReaper removes the compiled reaper. */
export function cleanupReaper(): void {
  if (reaper) rmSync(reaper.dir, { recursive: true, force: true });
  reaper = undefined;
}

/** A shell workload waiting for a line on stdin before it runs, under a subreaper. */
export interface Workload {
  /** pid of the workload's shell (what a test adds to a cgroup). */
  pid: number;
  reaper: ChildProcess;
  /** Lets the workload run. */
  go(): void;
  /** Resolves with the workload's end: exit code, or the signal that killed it. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Cleanup: lets an un-started workload exit, kills the reaper's tree if it lingers. */
  stop(): Promise<void>;
}

/**
 * startWorkload runs `sh -c 'read go || exit 0; SCRIPT'` under the reaper: it does nothing until
 * go(), so a test can add its pid to a cgroup first; everything it forks is reaped.
 */
export async function startWorkload(script: string): Promise<Workload> {
  const child = spawn(reaperBin(), ['sh', '-c', `read go || exit 0; ${script}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('exit', (code) => {
      if (code !== null && code > 128) resolve({ code: null, signal: signalName(code - 128) });
      else resolve({ code, signal: null });
    });
  });
  const pid = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(Number(buf.slice(0, nl)));
    });
    child.on('error', reject);
    child.on('exit', () => reject(new Error('reaper exited before reporting a pid')));
  });
  return {
    pid,
    reaper: child,
    go: () => child.stdin!.write('go\n'),
    exited,
    stop: async () => {
      child.stdin!.end();
      const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
      if (!done) {
        for (const p of descendantsOf(child.pid!)) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // gone
          }
        }
        await exited;
      }
    },
  };
}

function signalName(n: number): string {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? String(n);
}

/** Descendants of `pid` (from /proc). */
export function descendantsOf(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const name of readdirNumbers('/proc')) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      byParent.set(ppid, [...(byParent.get(ppid) ?? []), name]);
    } catch {
      // exited
    }
  }
  const out: number[] = [];
  const q = [pid];
  while (q.length) for (const c of byParent.get(q.shift()!) ?? []) out.push(c), q.push(c);
  return out;
}

function readdirNumbers(dir: string): number[] {
  return readdirSync(dir).filter((s) => /^\d+$/.test(s)).map(Number);
}

/** alive: the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** waitFor polls `fn` until it returns a truthy value (returned) or throws after `timeout` ms. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeout = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(20);
  }
}

let n = 0;
/** A fresh top-level test cgroup name (`stratum-test-cg-PID-N`). */
export function testCgroupName(): string {
  return `stratum-test-cg-${process.pid}-${++n}`;
}
