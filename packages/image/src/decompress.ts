/**
 * Decompression of a layer blob for `Layer.uncompressed()`, by magic bytes (as Docker does:
 * media types lie more often than bytes). gzip and plain tar are handled here with node:zlib;
 * zstd is delegated to @stratum/layer's `decompressLayer` (zlib or the zstd tool), loaded only when a zstd layer is
 * actually read (so that importing the store never loads the native addon).
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** The first chunk of `source` and a stream of all of it (that chunk included). */
async function peek(source: Readable): Promise<{ head: Uint8Array; stream: Readable }> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const head: Uint8Array = first.done ? new Uint8Array(0) : (first.value as Uint8Array);
  const stream = Readable.from(
    (async function* () {
      if (head.byteLength > 0) yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value as Uint8Array;
      }
    })(),
    { objectMode: false },
  );
  stream.once('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return { head, stream };
}

/**
 * decompress returns the uncompressed tar of a layer blob stream: gunzipped when it starts with
 * gzip's magic, through @stratum/layer for zstd, as is otherwise. Errors of the source reach
 * the returned stream.
 */
export async function decompress(source: Readable): Promise<Readable> {
  const { head, stream } = await peek(source);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    pipeline(stream, gunzip, () => {});
    return gunzip;
  }
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
    const { decompressLayer } = await import('@stratum/layer');
    return decompressLayer(stream);
  }
  return stream;
}
