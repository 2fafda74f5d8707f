import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** A temp dir named stratum-ns-*, world-readable (the rootless test's user must reach it). */
export function tempDir(tag: string): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), `stratum-ns-${tag}-`));
  chmodSync(dir, 0o755);
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A busybox-static rootfs in `dir`: bin/busybox plus one relative symlink per applet. */
export function busyboxRootfs(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/usr/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const name of execFileSync('/usr/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (name && name !== 'busybox') symlinkSync('busybox', join(dir, 'bin', name));
  }
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(dir, d), { recursive: true });
  return dir;
}

/** Reads a stream to its end as text. */
export async function text(s: Readable | null): Promise<string> {
  if (!s) return '';
  let out = '';
  for await (const chunk of s) out += String(chunk);
  return out;
}

/** Resolves with everything read so far once `pattern` shows up in the stream. */
export function waitFor(s: Readable, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      s.off('data', onData);
      reject(new Error(`timed out waiting for ${pattern} (got ${JSON.stringify(seen)})`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        s.off('data', onData);
        resolve(seen);
      }
    };
    s.on('data', onData);
  });
}

/** The children of host process `pid` as { pid, state, comm }. */
export function childrenOf(pid: number): Array<{ pid: number; state: string; comm: string }> {
  const out: Array<{ pid: number; state: string; comm: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const rest = stat.slice(close + 2).split(' ');
      if (Number(rest[1]) === pid) out.push({ pid: Number(name), state: rest[0]!, comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // raced with exit
    }
  }
  return out;
}

/** Whether `pid` still exists (zombies count). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
