import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DEFAULT_MOUNTS, spawn, type MountSpec, type SpawnSpec } from '@stratum/namespace';

/** A temp dir named stratum-volume-*, removed on dispose. */
export function tempDir(tag: string): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), `stratum-volume-${tag}-`));
  chmodSync(dir, 0o755);
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A busybox-static rootfs in `dir`: bin/busybox plus one symlink per applet. */
export function busyboxRootfs(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const name of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (name && name !== 'busybox') symlinkSync('busybox', join(dir, 'bin', name));
  }
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(dir, d), { recursive: true });
  return dir;
}

async function text(s: Readable | null): Promise<string> {
  if (!s) return '';
  let out = '';
  for await (const chunk of s) out += String(chunk);
  return out;
}

/** Runs `sh -c script` in a container on `rootfs` (new mount/pid/net namespaces, Docker's default mounts) with `mounts` added. */
export async function sh(rootfs: string, script: string, mounts: readonly MountSpec[], extra: Partial<SpawnSpec> = {}): Promise<{ stdout: string; stderr: string; code: number | null }> {
  await using p = await spawn({
    argv: ['/bin/sh', '-c', script],
    namespaces: { mount: true, pid: true, net: true, ipc: true, uts: true },
    rootfs,
    mounts: [...DEFAULT_MOUNTS, ...mounts],
    stdio: ['ignore', 'pipe', 'pipe'],
    ...extra,
  });
  const [stdout, stderr, st] = await Promise.all([text(p.stdout), text(p.stderr), p.wait()]);
  return { stdout, stderr, code: st.code };
}
