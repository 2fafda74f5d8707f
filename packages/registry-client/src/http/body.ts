import type { Readable } from 'node:stream';

/**
 * TooLargeError (internal): a body was longer than the caller allows; thrown before the rest is
 * read (the stream is destroyed, the connection dropped).
 */
export class BodyTooLargeError extends Error {
  readonly limit: number;
  readonly declared: number | undefined;
  constructor(limit: number, declared?: number) {
    super(declared !== undefined ? `body is ${declared} bytes, more than the ${limit} allowed` : `body is more than the ${limit} bytes allowed`);
    this.limit = limit;
    this.declared = declared;
  }
}

/**
 * readLimited reads a whole (small) body into one buffer, refusing — before reading — one whose
 * declared length exceeds `limit`, and stopping as soon as more than `limit` bytes arrive.
 */
export async function readLimited(body: Readable, limit: number, declaredLength?: number): Promise<Buffer> {
  if (declaredLength !== undefined && declaredLength > limit) {
    drop(body);
    throw new BodyTooLargeError(limit, declaredLength);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const c = chunk as Buffer;
    total += c.byteLength;
    if (total > limit) {
      drop(body);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(c);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** discard drops a body without reading it (frees the connection or closes it). */
export function discard(body: Readable | undefined): void {
  if (!body) return;
  const dump = (body as unknown as { dump?: (o?: { limit?: number }) => Promise<void> }).dump;
  if (typeof dump === 'function') {
    dump.call(body, { limit: 64 * 1024 }).catch(() => {});
  } else {
    body.resume();
    body.on('error', () => {});
  }
}

/** drop destroys a body (closing its connection), swallowing the abort error it then emits. */
export function drop(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}
