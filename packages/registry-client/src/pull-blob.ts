import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DigestMismatchError, digestAlgorithm, digestHex, type Digest } from '@stratum/oci';
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
  /** Directory for partial downloads (resume across processes); undefined: no partial file. */
  partialDir: string | undefined;
  signal?: AbortSignal | undefined;
  mediaType: string;
  /** Called with the bytes already held from an earlier attempt, before any download. */
  onResume?: (bytes: number) => void;
  /** Called with each chunk's length as it arrives. */
  onBytes?: (n: number) => void;
  /** Called when every byte arrived and the store is verifying/committing. */
  onVerifying?: () => void;
}

/**
 * pullBlob copies one blob from a registry into a store through `store.blobs.put` (which
 * verifies digest and size before the blob becomes visible). Bytes also go to a partial file
 * `<partialDir>/partial-<alg>-<hex>.<pid>`, so that a later pull — in this process or another,
 * after a crash or an abort — replays them and continues with `Range` instead of starting over.
 * A partial that turns out corrupt (digest mismatch) is deleted and the blob downloaded once
 * more from scratch. The partial file is removed once the blob is in the store.
 */
export async function pullBlob(loc: BlobLocation, o: PullBlobOptions): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let partial: { path: string; bytes: number } | undefined;
    let fh: FileHandle | undefined;
    if (o.partialDir !== undefined) {
      partial = await adoptPartial(o.partialDir, loc.digest, loc.size);
      fh = await open(partial.path, partial.bytes > 0 ? 'a' : 'w');
    }
    const resumed = partial?.bytes ?? 0;
    if (resumed > 0) o.onResume?.(resumed);
    let pending: Promise<unknown> = Promise.resolve();
    let writeFailed = false;
    const source = async function* (): AsyncGenerator<Buffer> {
      if (partial && resumed > 0) {
        for await (const c of createReadStream(partial.path, { start: 0, end: resumed - 1, highWaterMark: 1024 * 1024 })) yield c as Buffer;
      }
      for await (const c of blobChunks(o.transport, o.retry, loc, { offset: resumed, signal: o.signal })) {
        if (fh && !writeFailed) {
          // Keep at most one write in flight: the file trails the stream by one chunk.
          await pending;
          pending = fh.write(c).catch(() => {
            writeFailed = true; // a full disk for the partial must not fail the pull itself
          });
        }
        o.onBytes?.(c.byteLength);
        yield c;
      }
      await pending;
      o.onVerifying?.();
    };
    try {
      await o.store.blobs.put(Readable.from(source(), { objectMode: false, highWaterMark: 1024 * 1024 }), { digest: loc.digest, ...(loc.size !== undefined ? { size: loc.size } : {}), mediaType: o.mediaType });
    } catch (err) {
      await pending.catch(() => {});
      await fh?.close().catch(() => {});
      if (err instanceof DigestMismatchError || (err as { code?: string })?.code === 'DIGEST_MISMATCH') {
        if (partial) await unlink(partial.path).catch(() => {});
        // A corrupt partial from an earlier attempt: once more, from byte 0.
        if (resumed > 0 && attempt === 0) continue;
      }
      if (o.signal?.aborted) throw o.signal.reason ?? err;
      throw err;
    }
    await pending.catch(() => {});
    await fh?.close().catch(() => {});
    if (partial) await unlink(partial.path).catch(() => {});
    return;
  }
}
