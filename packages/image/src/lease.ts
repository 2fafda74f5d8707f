/**
 * Leases keep blobs that were just written, but are not yet reachable from `index.json`, safe
 * from a `gc()` running meanwhile (the window between `blobs.put` of a layer and the `tag`
 * that makes it reachable — a pull, a commit).
 *
 * - Another process: each Store instance appends `<digest> <ms since epoch>` to its lease file
 *   `<root>/tmp/lease-<pid>-<nonce>` for every blob it puts or finds present on write. gc keeps
 *   the blobs named by the lease files of live processes for {@link leaseTtlMs}.
 * - This process: blobs of operations still running (a put, a write until it has tagged) are
 *   counted in memory; gc in the same process keeps those, and only those (so that
 *   `untag` + `gc()` in one script frees space at once).
 */
import { appendFile, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@stratum/oci';
import { isAlive, ownerOf, tempName } from './owner.js';

/** How long a lease of another process protects a blob: one hour. */
export const leaseTtlMs = 60 * 60 * 1000;

const inflight = new Map<string, Map<Digest, number>>();

/** Leases: the lease file of one Store instance, and this process's in-flight blobs of its root. */
export class Leases {
  readonly #tmp: string;
  readonly #root: string;
  #file: string | undefined;

  constructor(root: string, tmp: string) {
    this.#root = root;
    this.#tmp = tmp;
  }

  /**
   * hold marks `digests` in flight in this process and records them in this instance's lease
   * file (for other processes' gc); call the returned function when the operation is done.
   */
  async hold(digests: Iterable<Digest>): Promise<() => void> {
    const list = [...digests];
    const map = inflight.get(this.#root) ?? new Map<Digest, number>();
    inflight.set(this.#root, map);
    for (const d of list) map.set(d, (map.get(d) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      for (const d of list) {
        const n = (map.get(d) ?? 1) - 1;
        if (n <= 0) map.delete(d);
        else map.set(d, n);
      }
    };
    try {
      this.#file ??= join(this.#tmp, tempName('lease'));
      const now = Date.now();
      await appendFile(this.#file, list.map((d) => `${d} ${now}\n`).join(''));
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /** Removes this instance's lease file (on close). */
  async drop(): Promise<void> {
    const f = this.#file;
    this.#file = undefined;
    if (f !== undefined) await unlink(f).catch(() => {});
  }
}

/**
 * protectedDigests lists what gc must keep besides reachable blobs: this process's in-flight
 * blobs of `root`, and the blobs leased by other live processes within `ttlMs`.
 */
export async function protectedDigests(root: string, tmp: string, ttlMs = leaseTtlMs): Promise<Set<Digest>> {
  const out = new Set<Digest>(inflight.get(root)?.keys() ?? []);
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return out;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith('lease-')) continue;
    const pid = ownerOf(name);
    if (pid === undefined || pid === process.pid || !isAlive(pid)) continue;
    let text: string;
    try {
      text = await readFile(join(tmp, name), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const [d, t] = line.split(' ');
      if (d && t && now - Number(t) < ttlMs) out.add(d as Digest);
    }
  }
  return out;
}
