import { readFileSync } from 'node:fs';

let cached: boolean | undefined;

/**
 * inUserNamespace tells whether this process runs in a user namespace other than the initial
 * one (rootless: `unshare -Ur`, podman's rootless mode): its uid map is not the identity map of
 * all 2^32 ids. Overlay mounts there need the `userxattr` option (Linux ≥ 5.11) and layers whose
 * opaque directories carry `user.overlay.opaque`. Read once per process.
 */
export function inUserNamespace(): boolean {
  if (cached !== undefined) return cached;
  try {
    const lines = readFileSync('/proc/self/uid_map', 'utf8').trim().split('\n');
    const f = lines[0]?.trim().split(/\s+/) ?? [];
    cached = !(lines.length === 1 && f[0] === '0' && f[1] === '0' && f[2] === '4294967295');
  } catch {
    cached = false; // no /proc: assume the initial namespace
  }
  return cached;
}
