import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { digestStream, type Image, type Layer } from '@stratum/oci';

/** scratch gives each test a fresh directory, removed after it. */
export function scratch(): () => string {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => (dir ??= mkdtempSync(join(tmpdir(), 'stratum-archive-test-')));
}

/** layerDigests hashes every layer's uncompressed stream: what a peer must have read identically. */
export async function uncompressedDigests(image: Image): Promise<string[]> {
  const out: string[] = [];
  for (const l of await image.layers()) out.push((await digestStream(await l.uncompressed())).digest);
  return out;
}

/** bytesOf reads a layer's uncompressed tar. */
export async function bytesOf(layer: Layer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await layer.uncompressed()) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** tarList lists an archive with GNU tar (a peer's view of what we wrote). */
export function tarList(path: string): string[] {
  return execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n');
}

/** run runs a command, returning stdout; throws with stderr when it fails. */
export function run(argv: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}
