import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** ArchiveOutput: where an archive goes — a file path (written atomically) or a `Writable`. */
export type ArchiveOutput = string | Writable;

/** tempName is a fresh name for a temporary sibling of `path`. */
export function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.stratum-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** endStream ends a writable and waits until everything was written (its `finish`). */
export function endStream(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => {
      stream.off('error', reject);
      resolve();
    });
  });
}

/**
 * writeOutput runs `write` against the output stream. A path is written as a temporary file
 * beside it, synced and renamed over the path only when `write` succeeded (a failure leaves
 * nothing, not half an archive). A `Writable` is ended on success and destroyed with the error on
 * failure. `tmp` gets a directory for scratch files on the same filesystem as the output.
 */
export async function writeOutput(output: ArchiveOutput, write: (out: Writable, tmp: string) => Promise<void>): Promise<void> {
  if (typeof output !== 'string') {
    try {
      await write(output, tmpdir());
      output.end();
      await finished(output);
    } catch (err) {
      output.destroy(err as Error);
      throw err;
    }
    return;
  }
  const temp = tempName(output);
  // `flush` fsyncs the file before it is closed: the rename then publishes durable bytes.
  const stream = createWriteStream(temp, { flags: 'wx', mode: 0o644, flush: true, highWaterMark: 1 << 20 });
  try {
    await write(stream, dirname(output));
    await endStream(stream);
    await closed(stream);
    await rename(temp, output);
  } catch (err) {
    stream.destroy();
    await rm(temp, { force: true });
    throw err;
  }
}

/** closed waits until a file stream has closed its descriptor. */
export function closed(stream: Writable): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.once('close', resolve);
    stream.once('error', reject);
  });
}
