/**
 * The store's exclusive lock (on `index.json`), made of plain files so that it needs no native
 * code and survives a holder killed with SIGKILL.
 *
 * Why not one `O_EXCL` lock file: a lock file left by a dead holder must be broken, and
 * "see it is stale, then unlink it" races — two waiters both judge the same stale file, one
 * unlinks it and takes the lock anew, the other then unlinks the *new* lock. There is no atomic
 * compare-and-delete on a path. So this is Lamport's bakery algorithm over a directory: each
 * contender announces itself (`choosing-ID`), takes a numbered ticket (`ticket-N-ID`, N = one
 * more than the largest it sees) and withdraws the announcement; it holds the lock when no live
 * contender is still choosing and no live contender has a smaller (N, ID). Every name is unique
 * to one attempt of one process (ID = pid, start time, random), so removing the files of a dead
 * process can never remove anyone else's: a dead holder is simply ignored, and its files are
 * swept by whoever sees them. The bakery needs no atomic read of the whole set, only that each
 * file is created before it is looked for — which `readdir` after a completed create gives.
 * A reused pid is told apart by the process start time in the name.
 */
import { mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LockTimeoutError } from './errors.js';
import { isAlive, nonce, ownStartTime } from './owner.js';

/** LockOptions: how long to wait for the lock. */
export interface LockOptions {
  signal?: AbortSignal;
  /** Give up after this many milliseconds with {@link LockTimeoutError} (default 60 s). */
  timeoutMs?: number;
}

interface Entry {
  kind: 'choosing' | 'ticket';
  n: number;
  id: string;
  pid: number;
  start: string;
  name: string;
}

function parse(name: string): Entry | undefined {
  const m = /^(choosing|ticket)-(?:(\d+)-)?((\d+)-(\d+)-[0-9a-f]+)$/.exec(name);
  if (!m) return undefined;
  return { kind: m[1] as Entry['kind'], n: Number(m[2] ?? 0), id: m[3]!, pid: Number(m[4]), start: m[5]!, name };
}

async function scan(dir: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const name of await readdir(dir)) {
    const e = parse(name);
    if (e) out.push(e);
  }
  return out;
}

/** Removes the entries of dead processes (unique names: never someone else's) and returns the live ones. */
async function live(dir: string, entries: Entry[], mine: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const e of entries) {
    if (e.id === mine) continue;
    if (isAlive(e.pid, e.start)) out.push(e);
    else await unlink(join(dir, e.name)).catch(() => {});
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** In-process queue per lock directory: callers of one process take turns before the files are involved. */
const local = new Map<string, Promise<void>>();

/**
 * withLock runs `fn` while holding the exclusive lock whose state lives in directory `dir`
 * (created if needed) and releases it after `fn` settles, whatever happens. Waits for live
 * holders (polling, with backoff to 25 ms), never for dead ones; throws
 * {@link LockTimeoutError} after `timeoutMs`, or the signal's reason when aborted — in both
 * cases leaving no file of its own behind.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const before = local.get(dir) ?? Promise.resolve();
  let done!: () => void;
  const turn = new Promise<void>((r) => (done = r));
  const chained = before.then(() => turn);
  local.set(dir, chained);
  try {
    await before;
    return await holding(dir, fn, opts);
  } finally {
    done();
    if (local.get(dir) === chained) local.delete(dir);
  }
}

async function holding<T>(dir: string, fn: () => Promise<T>, opts: LockOptions): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = Date.now();
  await mkdir(dir, { recursive: true });
  const id = `${process.pid}-${ownStartTime()}-${nonce()}`;
  const choosing = join(dir, `choosing-${id}`);
  let ticket: string | undefined;
  try {
    await writeFile(choosing, '', { flag: 'wx' });
    const n = 1 + Math.max(0, ...(await scan(dir)).filter((e) => e.kind === 'ticket').map((e) => e.n));
    ticket = join(dir, `ticket-${String(n).padStart(12, '0')}-${id}`);
    await writeFile(ticket, '', { flag: 'wx' });
    await unlink(choosing);
    for (let delay = 1; ; delay = Math.min(25, delay * 2)) {
      opts.signal?.throwIfAborted();
      // Bakery order: first nobody may be choosing, then nobody may have a smaller ticket.
      const choosers = (await live(dir, await scan(dir), id)).filter((e) => e.kind === 'choosing');
      let blockers: Entry[] = choosers;
      if (choosers.length === 0) {
        blockers = (await live(dir, await scan(dir), id)).filter((e) => e.kind === 'ticket' && (e.n < n || (e.n === n && e.id < id)));
        if (blockers.length === 0) break;
      }
      if (Date.now() - started > timeoutMs) throw new LockTimeoutError(dir, Date.now() - started, [...new Set(blockers.map((b) => b.pid))]);
      await sleep(delay);
    }
    return await fn();
  } finally {
    await unlink(choosing).catch(() => {});
    if (ticket !== undefined) await unlink(ticket).catch(() => {});
  }
}
