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

/**
 * chunksOf yields a body's chunks exactly as they arrived — `for await` on a paused Readable
 * joins whatever is buffered into one new Buffer (a copy of every byte when the consumer is
 * slower than the network) — pausing the stream while `limit` bytes wait. Data that arrived
 * before an error is yielded first; a body closed before its end throws
 * `ERR_STREAM_PREMATURE_CLOSE`. Leaving early (break, throw) destroys the body.
 */
export async function* chunksOf(body: Readable, limit: number): AsyncGenerator<Buffer> {
  let queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (c: Buffer): void => {
    queue.push(c);
    queued += c.byteLength;
    if (queued >= limit) body.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (error: unknown): void => {
    failure ??= { error };
    notify();
  };
  const onClose = (): void => {
    if (!ended) failure ??= { error: Object.assign(new Error('the body closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }) };
    notify();
  };
  body.on('data', onData);
  body.on('end', onEnd);
  body.on('error', onError);
  body.on('close', onClose);
  try {
    for (;;) {
      if (queue.length > 0) {
        const batch = queue;
        queue = [];
        queued = 0;
        if (!ended && body.isPaused()) body.resume(); // the next bytes arrive while these are used
        yield* batch;
        continue;
      }
      if (failure) throw failure.error;
      if (ended) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('close', onClose);
    if (!ended) {
      // errors after this are nobody's: keep the listener, then drop the connection
      body.destroy();
    } else {
      body.off('error', onError);
    }
  }
}
