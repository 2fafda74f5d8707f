import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressLayer } from '@stratum/layer';
import { layerCompression, type Digest, type Layer } from '@stratum/oci';
import { tempName } from './output.js';
import { verified } from './verify.js';

/** SizedTar: a layer's uncompressed tar with its size known up front, as a tar member needs. */
export interface SizedTar {
  size: number;
  /** Opens the bytes (once). */
  open(): Promise<Readable>;
  /** Removes the scratch file, if any. */
  dispose(): Promise<void>;
}

/**
 * uncompressedOf decompresses a layer's blob here (gzip or zstd by magic bytes) rather than asking
 * the source for its uncompressed stream: the caller verifies the diffID once, where a source
 * that verifies too would make it hash every byte twice.
 */
export async function uncompressedOf(layer: Layer, signal?: AbortSignal): Promise<Readable> {
  return decompressLayer(await layer.compressed({ signal }), { signal });
}

/**
 * sizedTar gets a layer's uncompressed tar ready to be written as an archive member, whose size
 * must precede its bytes. An uncompressed layer blob is streamed as is (its size is the blob's).
 * A compressed one is decompressed once into a scratch file in `tmp` (so a remote layer is
 * fetched once) and streamed from there. Either way the bytes are verified against the diffID
 * ({@link DiffIDMismatchError}).
 */
export async function sizedTar(layer: Layer, diffID: Digest, where: { index: number; path?: string }, tmp: string, signal?: AbortSignal): Promise<SizedTar> {
  if (layerCompression(await layer.mediaType()) === 'none') {
    const size = await layer.size();
    return {
      size,
      open: async () => verified(await layer.compressed({ signal }), diffID, { size, layer: where }),
      dispose: async () => {},
    };
  }
  const path = tempName(join(tmp, 'layer'));
  try {
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 });
    await pipeline(verified(await uncompressedOf(layer, signal), diffID, { layer: where }), out, { signal });
    const { size } = await stat(path);
    return {
      size,
      open: async () => createReadStream(path, { highWaterMark: 1 << 20 }),
      dispose: () => rm(path, { force: true }),
    };
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}
