/**
 * Who owns a temporary file of the store: every file the store (or the registry client) keeps
 * in `<root>/tmp/` names the process that writes it, so that a later process can tell a file
 * being written from one a killed process left behind — without a daemon and without locks
 * that the kernel would release for us.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or undefined. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

let ownStart: string | undefined;

/** This process's start time (memoized). `0` where /proc is not readable. */
export function ownStartTime(): string {
  ownStart ??= processStartTime(process.pid) ?? '0';
  return ownStart;
}

/**
 * isAlive tells whether process `pid` still runs — and, when `start` is given (and not `0`),
 * whether it is the same process that recorded it (a reused pid has another start time).
 * Processes of another user count as alive (EPERM).
 */
export function isAlive(pid: number, start?: string): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return start === undefined || start === '0' || start === ownStartTime();
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === undefined || start === '0') return true;
  const now = processStartTime(pid);
  return now === undefined || now === start;
}

/** A short random suffix that makes a temp name unique. */
export function nonce(): string {
  return randomBytes(6).toString('hex');
}

/** tempName makes `<kind>-<pid>-<nonce>`, the name of a temp file this process owns. */
export function tempName(kind: string): string {
  return `${kind}-${process.pid}-${nonce()}`;
}

/**
 * ownerOf tells which process owns a file of `<root>/tmp/` by its name: the store's
 * `<kind>-<pid>-<nonce>` files and the registry client's partial downloads
 * `partial-<alg>-<hex>.<pid>`. Undefined for a name of neither shape.
 */
export function ownerOf(name: string): number | undefined {
  const partial = /^partial-[a-z0-9]+-[0-9a-f]+\.(\d+)$/.exec(name);
  if (partial) return Number(partial[1]);
  const ours = /^[a-z]+-(\d+)-[0-9a-f]+(?:\.[a-z]+)?$/.exec(name);
  if (ours) return Number(ours[1]);
  return undefined;
}
