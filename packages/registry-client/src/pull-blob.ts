import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DigestMismatchError, createDigester, digestAlgorithm, digestHex, type Digest } from '@stratum/oci';
import { type BlobLocation, blobChunks } from './download.js';
import type { ResolvedRetryPolicy } from './http/retry.js';
import type { Transport } from './http/transport.js';
import type { PullStore } from './store.js';

/** The file name prefix of a partial download of `digest` in the partial directory. */
export function partialPrefix(digest: Digest): string {
  return `partial-${digestAlgorithm(digest)}-${digestHex(digest)}.`;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * adoptPartial finds partial downloads of `digest` left by processes that are gone (named
 * `partial-<alg>-<hex>.<pid>`), keeps the longest by renaming it to this process's name
 * (rename is atomic, so two processes never adopt the same file) and deletes the others.
 * Returns the path this process writes to and how many bytes it already holds.
 */
export async function adoptPartial(dir: string, digest: Digest, size: number | undefined): Promise<{ path: string; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const prefix = partialPrefix(digest);
  const mine = join(dir, `${prefix}${process.pid}`);
  const candidates: { path: string; bytes: number }[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    const path = join(dir, name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (pid !== process.pid && alive(pid)) continue; // another live process is downloading it
    try {
      candidates.push({ path, bytes: (await stat(path)).size });
    } catch {
      // gone meanwhile
    }
  }
  candidates.sort((a, b) => b.bytes - a.bytes);
  let bytes = 0;
  for (const [i, c] of candidates.entries()) {
    if (i === 0 && (size === undefined || c.bytes <= size)) {
      try {
        if (c.path !== mine) await rename(c.path, mine);
        bytes = c.bytes;
        continue;
      } catch {
        // adopted by someone else first
      }
    }
    await unlink(c.path).catch(() => {});
  }
  return { path: mine, bytes };
}

/** PullBlobOptions: the context of one blob transfer into a store. */
export interface PullBlobOptions {
  transport: Transport;
  retry: ResolvedRetryPolicy;
  store: PullStore;
  /**
   * The store's OCI image layout directory, when the store is one (its root holds
   * `oci-layout`): the blob is then written once, into `<partialDir>`, and renamed into
   * `blobs/<alg>/<hex>` after verification — what the image-layout spec defines as adding a blob.
   */
  layoutDir: string | undefined;
  /** Directory for partial downloads (resume across processes); undefined: no partial file. */
  partialDir: string | undefined;
  signal?: AbortSignal | undefined;
  mediaType: string;
  /** Called with the bytes already held from an earlier attempt, before any download. */
  onResume?: (bytes: number) => void;
  /** Called with each chunk's length as it arrives. */
  onBytes?: (n: number) => void;
  /** Called when every byte arrived and the blob is being verified/committed. */
  onVerifying?: () => void;
  /**
   * Into a layout: the directory the blob was renamed into is handed here instead of being
   * fsynced, for the caller to fsync once for all its blobs before anything refers to them
   * (default: fsynced at once).
   */
  deferDirSync?: (dir: string) => void;
}

/** Groups chunks into batches of about `size` bytes, for fewer, larger writes. */
async function* batches(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer[]> {
  let batch: Buffer[] = [];
  let length = 0;
  for await (const c of source) {
    batch.push(c);
    length += c.byteLength;
    if (length >= size) {
      yield batch;
      batch = [];
      length = 0;
    }
  }
  if (length > 0) yield batch;
}

const batchSize = 1024 * 1024;
/** A `datasync` is started every this many bytes, so that the last one has little left to flush. */
const syncEvery = 8 * 1024 * 1024;

/**
 * pullBlob copies one blob from a registry into a store, resumable across processes: the bytes
 * go to `<partialDir>/partial-<alg>-<hex>.<pid>` as they arrive, so that a later pull — after a
 * crash, a kill or an abort — re-hashes what is there and continues with `Range` instead of
 * starting over. A partial that turns out corrupt (digest mismatch) is deleted and the blob
 * downloaded once more from byte 0.
 *
 * Into an OCI-layout store the verified partial file itself becomes the blob (fsync, rename
 * into `blobs/<alg>/<hex>`, fsync the directory — now or, with `deferDirSync`, by the caller
 * before anything refers to the blob): one write, one hash. Any other store gets the
 * bytes through `store.blobs.put` (which verifies), with the partial file written beside.
 * Either way nothing is visible under the digest until every byte is verified.
 */
export async function pullBlob(loc: BlobLocation, o: PullBlobOptions): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (o.layoutDir !== undefined && o.partialDir !== undefined) await intoLayout(loc, o, o.layoutDir, o.partialDir);
      else await throughPut(loc, o);
      return;
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason ?? err;
      // A corrupt partial from an earlier attempt: once more, from byte 0 (it was deleted).
      if (err instanceof ResumedMismatch && attempt === 0) continue;
      throw err instanceof ResumedMismatch ? err.mismatch : err;
    }
  }
}

/** A digest mismatch of a blob that started from a partial file (which is now deleted). */
class ResumedMismatch extends Error {
  constructor(readonly mismatch: DigestMismatchError) {
    super(mismatch.message);
  }
}

async function intoLayout(loc: BlobLocation, o: PullBlobOptions, layoutDir: string, partialDir: string): Promise<void> {
  const partial = await adoptPartial(partialDir, loc.digest, loc.size);
  const resumed = partial.bytes;
  const hasher = createDigester(digestAlgorithm(loc.digest));
  let fh: FileHandle | undefined = await open(partial.path, resumed > 0 ? 'r+' : 'w');
  let pending: Promise<unknown> = Promise.resolve();
  // Writeback while the download goes on: the fsync before the rename then has little to do.
  let syncing: Promise<void> | undefined;
  let syncError: { error: unknown } | undefined; // kept: a writeback error is reported once per file
  let sinceSync = 0;
  try {
    if (resumed > 0) {
      o.onResume?.(resumed);
      // Re-hash what an earlier attempt left; the download continues after it.
      for await (const c of createReadStream(partial.path, { start: 0, end: resumed - 1, highWaterMark: batchSize })) hasher.update(c as Buffer);
    }
    let position = resumed;
    for await (const batch of batches(blobChunks(o.transport, o.retry, loc, { offset: resumed, signal: o.signal }), batchSize)) {
      let n = 0;
      for (const c of batch) {
        hasher.update(c);
        n += c.byteLength;
      }
      // One write in flight while the next batch arrives and is hashed.
      await pending;
      pending = fh.writev(batch, position);
      position += n;
      sinceSync += n;
      if (sinceSync >= syncEvery && syncing === undefined) {
        sinceSync = 0;
        const file = fh;
        const s: Promise<void> = pending
          .then(() => file.datasync())
          .catch((error: unknown) => {
            syncError ??= { error };
          })
          .finally(() => {
            if (syncing === s) syncing = undefined;
          });
        syncing = s;
      }
      o.onBytes?.(n);
    }
    await pending;
    await syncing;
    if (syncError) throw syncError.error;
    o.onVerifying?.();
    const digest = hasher.digest();
    if (digest !== loc.digest || (loc.size !== undefined && hasher.size !== loc.size)) {
      await fh.close();
      fh = undefined;
      await unlink(partial.path).catch(() => {});
      const mismatch = new DigestMismatchError({ digest: loc.digest, ...(loc.size !== undefined ? { size: loc.size } : {}) }, { digest, size: hasher.size });
      throw resumed > 0 ? new ResumedMismatch(mismatch) : mismatch;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    const dir = join(layoutDir, 'blobs', digestAlgorithm(loc.digest));
    await mkdir(dir, { recursive: true });
    await rename(partial.path, join(dir, digestHex(loc.digest)));
    if (o.deferDirSync) o.deferDirSync(dir);
    else await syncDir(dir);
  } finally {
    await pending.catch(() => {});
    await syncing;
    await fh?.close().catch(() => {});
  }
}

/** syncDir fsyncs a directory, so that the renames into it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

async function throughPut(loc: BlobLocation, o: PullBlobOptions): Promise<void> {
  let partial: { path: string; bytes: number } | undefined;
  let fh: FileHandle | undefined;
  if (o.partialDir !== undefined) {
    partial = await adoptPartial(o.partialDir, loc.digest, loc.size);
    fh = await open(partial.path, partial.bytes > 0 ? 'r+' : 'w');
  }
  const resumed = partial?.bytes ?? 0;
  if (resumed > 0) o.onResume?.(resumed);
  let pending: Promise<unknown> = Promise.resolve();
  let writeFailed = false;
  const source = async function* (): AsyncGenerator<Buffer> {
    if (partial && resumed > 0) {
      for await (const c of createReadStream(partial.path, { start: 0, end: resumed - 1, highWaterMark: batchSize })) yield c as Buffer;
    }
    let position = resumed;
    for await (const batch of batches(blobChunks(o.transport, o.retry, loc, { offset: resumed, signal: o.signal }), batchSize)) {
      let n = 0;
      for (const c of batch) n += c.byteLength;
      if (fh && !writeFailed) {
        await pending;
        pending = fh.writev(batch, position).catch(() => {
          writeFailed = true; // a full disk for the partial must not fail the pull itself
        });
        position += n;
      }
      o.onBytes?.(n);
      yield* batch;
    }
    await pending;
    o.onVerifying?.();
  };
  try {
    await o.store.blobs.put(Readable.from(source(), { objectMode: false, highWaterMark: batchSize }), {
      digest: loc.digest,
      ...(loc.size !== undefined ? { size: loc.size } : {}),
      mediaType: o.mediaType,
    });
  } catch (err) {
    await pending.catch(() => {});
    await fh?.close().catch(() => {});
    if (err instanceof DigestMismatchError || (err as { code?: string })?.code === 'DIGEST_MISMATCH') {
      if (partial) await unlink(partial.path).catch(() => {});
      if (resumed > 0) throw new ResumedMismatch(err as DigestMismatchError);
    }
    throw err;
  }
  await pending.catch(() => {});
  await fh?.close().catch(() => {});
  if (partial) await unlink(partial.path).catch(() => {});
}
