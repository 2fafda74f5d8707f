import { PassThrough, Readable } from 'node:stream';
import { decompressLayer } from '@stratum/layer';
import { createDigester, digestBytes, digestStream, type Descriptor, type Digest } from '@stratum/oci';
import { detectCompression } from './input.js';
import { layerMediaType } from './layout.js';
import type { ArchiveStore } from './store.js';

/** Ingested: an archive file written to the store, with what was learned on the way. */
export interface Ingested {
  /** The blob as stored: the file's exact bytes. */
  descriptor: Descriptor;
  /** The digest of its uncompressed content (= `descriptor.digest` for a plain tar). */
  diffID: Digest;
  /** Its first bytes. */
  head: Uint8Array;
}

/**
 * uncompressedDigest hashes what `chunks` decompress to (gzip or zstd by magic bytes), reading
 * them as they are written to the returned sink: the loader tees a compressed layer into it on
 * its way into the store, so the diffID costs no second read.
 */
function uncompressedDigest(observer?: TarObserver): { sink: PassThrough; digest: Promise<Digest> } {
  const sink = new PassThrough({ highWaterMark: 1 << 20 });
  const digest = (async () => {
    const d = createDigester();
    for await (const c of await decompressLayer(sink)) {
      d.update(c as Uint8Array);
      observer?.write(c as Uint8Array);
    }
    observer?.end();
    return d.digest();
  })();
  digest.catch(() => {});
  return { sink, digest };
}

/** TarObserver sees the uncompressed bytes of what is ingested (a tar parser checking them). */
export interface TarObserver {
  write(chunk: Uint8Array): void;
  end(): void;
}

/**
 * ingest writes one archive file to the store as it streams past — exactly its bytes, whatever
 * their compression, so that blob digests in an archive's own manifests stay true — and learns
 * its diffID on the way (a compressed file is decompressed beside the write and hashed). When
 * `expected` (the digest the file's `blobs/` name states) is already in the store, an
 * uncompressed file is skipped instead of written again. Constant memory.
 */
export async function ingest(
  store: ArchiveStore,
  head: Uint8Array,
  rest: AsyncIterable<Uint8Array>,
  size: number | undefined,
  opts: { name: string; expected?: Digest; signal?: AbortSignal; observer?: TarObserver },
): Promise<Ingested> {
  const compression = detectCompression(head, opts.name);
  const mediaType = layerMediaType(compression);
  if (compression === 'none' && opts.expected !== undefined && size !== undefined && !opts.observer && (await store.blobs.has(opts.expected))) {
    for await (const _ of rest) opts.signal?.throwIfAborted();
    return { descriptor: { mediaType, digest: opts.expected, size }, diffID: opts.expected, head };
  }
  const side = compression === 'none' ? undefined : uncompressedDigest(opts.observer);
  const plain = compression === 'none' ? opts.observer : undefined;
  async function* bytes(): AsyncGenerator<Uint8Array> {
    try {
      for (const c of [head, rest]) {
        for await (const chunk of c instanceof Uint8Array ? [c] : c) {
          if (chunk.length === 0) continue;
          if (side && !side.sink.write(chunk)) await Promise.race([new Promise((r) => side.sink.once('drain', r)), side.digest]);
          plain?.write(chunk);
          yield chunk;
        }
      }
      plain?.end();
      side?.sink.end();
    } finally {
      if (side && !side.sink.writableEnded) side.sink.destroy();
    }
  }
  const descriptor = await store.blobs.put(Readable.from(bytes(), { objectMode: false, highWaterMark: 1 << 20 }), {
    ...(size !== undefined ? { size } : {}),
    mediaType,
    ...(opts.expected !== undefined ? { digest: opts.expected } : {}),
  });
  return { descriptor, diffID: side ? await side.digest : descriptor.digest, head };
}

/** diffIDOf computes the uncompressed digest of small bytes held in memory. */
export async function diffIDOf(bytes: Uint8Array): Promise<Digest> {
  if (detectCompression(bytes.subarray(0, 16)) === 'none') return digestBytes(bytes);
  return (await digestStream(await decompressLayer(Readable.from([bytes])))).digest;
}
