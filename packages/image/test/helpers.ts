/** Test helpers of @stratum/image: temp dirs, collecting streams, child processes running fixtures. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Layer } from '@stratum/oci';

/** tempDir makes a fresh directory under the system temp dir; `cleanup` removes all of them. */
export function tempDirs(prefix: string): { make(): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make() {
      const d = mkdtempSync(join(tmpdir(), `stratum-image-${prefix}-`));
      made.push(d);
      return d;
    },
    cleanup() {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** collect reads a stream whole. */
export async function collect(stream: AsyncIterable<Uint8Array> | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** blobFiles lists the blob files of a layout (hex names under blobs/sha256). */
export function blobFiles(root: string): string[] {
  try {
    return readdirSync(join(root, 'blobs', 'sha256')).sort();
  } catch {
    return [];
  }
}

const here = import.meta.dirname;

/**
 * runFixture starts `node --import tsx --conditions=stratum-source test/fixtures/NAME.ts ARGS…`
 * (node itself, so that the child's pid is the one that writes files), stdout piped.
 */
export function runFixture(name: string, args: string[]): ChildProcess & { output: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=stratum-source', join(here, 'fixtures', `${name}.ts`), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: join(here, '../../..'),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const output = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return Object.assign(child, { output });
}

/** waitFor polls `cond` every 10 ms until it is true (or throws after `ms`). Not a timed assertion: a deadline for a hang. */
export async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * spyLayer wraps a layer and counts reads of its bytes, so that a test can prove a layer was
 * passed through (never read, never recompressed).
 */
export function spyLayer(layer: Layer): Layer & { reads: number } {
  const spy = {
    reads: 0,
    digest: () => layer.digest(),
    diffID: () => layer.diffID(),
    size: () => layer.size(),
    mediaType: () => layer.mediaType(),
    compressed: async (o?: { signal?: AbortSignal }) => {
      spy.reads++;
      return layer.compressed(o);
    },
    uncompressed: async (o?: { signal?: AbortSignal }) => {
      spy.reads++;
      return layer.uncompressed(o);
    },
  };
  return spy;
}
