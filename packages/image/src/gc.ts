/** Garbage collection and verification of a store (the I/O half; the store takes the lock). */
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createDigester, digestAlgorithm, type Descriptor, type Digest } from '@stratum/oci';
import type { BlobStore } from './blobs.js';
import { isErrno, syncDir } from './fsutil.js';
import { protectedDigests } from './lease.js';
import { isAlive, ownerOf } from './owner.js';
import { missingOf, reachable } from './reach.js';

/** GcOptions: the options of `store.gc`. */
export interface GcOptions {
  signal?: AbortSignal;
  /** Report what would be removed, remove nothing (like `docker image prune --dry-run` would). */
  dryRun?: boolean;
}

/** GcResult: what `store.gc` removed. */
export interface GcResult {
  /** Blobs removed (no ref reached them and no running writer held them). */
  removed: Digest[];
  /** Bytes of the removed blobs. */
  bytes: number;
  /** Stale files removed from `<root>/tmp/` (left by processes that are gone). */
  temporary: string[];
}

/** Unknown files in `tmp/` older than this are stale. */
const unknownTempAgeMs = 60 * 60 * 1000;

/**
 * collect removes the blobs not reachable from `roots` and not protected (leases of live
 * writers, this process's writes in flight), then the stale temp files. The caller holds the
 * index lock, so no tag can appear meanwhile; blobs are listed before leases are read, so a
 * blob that a writer renames in after the listing is never considered, and one renamed before
 * it had its lease written first.
 */
export async function collect(blobs: BlobStore, tmp: string, roots: Descriptor[], opts: GcOptions = {}): Promise<GcResult> {
  const live = await reachable(blobs, roots);
  const present: Digest[] = [];
  for await (const d of blobs.list()) present.push(d);
  const held = await protectedDigests(blobs.root, tmp);
  const removed: Digest[] = [];
  const dirs = new Set<string>();
  let bytes = 0;
  for (const d of present) {
    opts.signal?.throwIfAborted();
    if (live.has(d) || held.has(d)) continue;
    const s = await blobs.stat(d);
    if (s === undefined) continue;
    if (!opts.dryRun && !(await blobs.delete(d))) continue;
    removed.push(d);
    bytes += s.size;
    dirs.add(join(blobs.root, 'blobs', digestAlgorithm(d)));
  }
  for (const dir of dirs) await syncDir(dir);
  const temporary = await sweepTemp(tmp, opts.dryRun ?? false);
  return { removed, bytes, temporary };
}

/** Removes files of `tmp` whose owning process is gone (or, unnamed, that are older than an hour). */
async function sweepTemp(tmp: string, dryRun: boolean): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: string[] = [];
  for (const name of names) {
    const path = join(tmp, name);
    let s;
    try {
      s = await lstat(path);
    } catch {
      continue;
    }
    if (s.isDirectory()) continue; // the lock's directory sweeps itself
    const pid = ownerOf(name);
    const stale = pid !== undefined ? !isAlive(pid) : Date.now() - s.mtimeMs > unknownTempAgeMs;
    if (!stale) continue;
    if (!dryRun) {
      try {
        await unlink(path);
      } catch {
        continue;
      }
    }
    out.push(name);
  }
  return out;
}

/** VerifyResult: what `store.verify` found. */
export interface VerifyResult {
  /** True when no blob is corrupt and no ref misses anything. */
  ok: boolean;
  /** Blobs checked, and their bytes. */
  blobs: number;
  bytes: number;
  /** Blobs whose content does not hash to their name. */
  corrupt: Digest[];
  /** Blobs that an entry of `index.json` needs but the store lacks, with the entry's ref (if any). */
  missing: Array<{ digest: Digest; ref?: string }>;
}

/**
 * check re-hashes every blob and checks that every entry of `index.json` is complete. Changes
 * nothing. Like `umoci`'s verified reads over the whole store, or `oci-image-tool validate`.
 */
export async function check(blobs: BlobStore, roots: Descriptor[], refOf: (d: Descriptor) => string | undefined, opts: { signal?: AbortSignal } = {}): Promise<VerifyResult> {
  const corrupt: Digest[] = [];
  let count = 0;
  let bytes = 0;
  for await (const d of blobs.list()) {
    opts.signal?.throwIfAborted();
    const h = createDigester(digestAlgorithm(d));
    try {
      for await (const c of blobs.get(d, opts.signal ? { signal: opts.signal } : {})) h.update(c as Buffer);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      corrupt.push(d);
      continue;
    }
    count++;
    bytes += h.size;
    if (h.digest() !== d) corrupt.push(d);
  }
  const missing: VerifyResult['missing'] = [];
  const reported = new Set<string>();
  for (const root of roots) {
    const ref = refOf(root);
    for (const digest of await missingOf(blobs, root)) {
      // One ref has several entries (full and short name): report it once.
      const key = `${digest} ${ref ?? ''}`;
      if (reported.has(key)) continue;
      reported.add(key);
      missing.push(ref === undefined ? { digest } : { digest, ref });
    }
  }
  return { ok: corrupt.length === 0 && missing.length === 0, blobs: count, bytes, corrupt, missing };
}
