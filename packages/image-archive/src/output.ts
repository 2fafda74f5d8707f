import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileSink, streamSink, type ByteSink } from './tar/sink.js';

/** ArchiveOutput: where an archive goes — a file path (written atomically) or a `Writable`. */
export type ArchiveOutput = string | Writable;

/** OutputOptions: how an archive file is written. */
export interface OutputOptions {
  /** fsync the file before it is renamed into place (default false, as `docker save`). */
  sync?: boolean;
  signal?: AbortSignal;
}

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
 * writeOutput runs `write` against a sink for the output. A path is written as a temporary file
 * beside it (positional writes: the sink can patch) and renamed over the path only when `write`
 * succeeded — a failure leaves nothing, not half an archive; with `sync` the file is fsynced
 * first. A `Writable` is ended on success and destroyed with the error on failure. `tmp` is a
 * directory for scratch files on the output's filesystem.
 */
export async function writeOutput(output: ArchiveOutput, write: (sink: ByteSink, tmp: string) => Promise<void>, opts: OutputOptions = {}): Promise<void> {
  if (typeof output !== 'string') {
    try {
      await write(streamSink(output, opts.signal), tmpdir());
      await endStream(output);
    } catch (err) {
      output.destroy(err as Error);
      throw err;
    }
    return;
  }
  const temp = tempName(output);
  const fh = await open(temp, 'wx', 0o644);
  try {
    const sink = fileSink(fh, opts.signal);
    await write(sink, dirname(output));
    await sink.flush();
    if (opts.sync) await fh.sync();
    await fh.close();
    await rename(temp, output);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
}
