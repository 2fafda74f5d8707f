import { execFileSync, spawnSync } from 'node:child_process';

/**
 * testUser returns the uid and gid of the unprivileged account rootless tests run as (default
 * `stratum-rootless`), creating it with `useradd` when missing (no home, nologin shell). Needs
 * root and useradd (guard 'root', 'tool:useradd' first); run the test's child with
 * `setpriv --reuid=NAME --regid=NAME --init-groups`. Idempotent.
 */
export function testUser(name = 'stratum-rootless'): { name: string; uid: number; gid: number } {
  if (spawnSync('id', ['-u', name]).status !== 0) {
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', 'Stratum rootless tests', name]);
  }
  return { name, uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' })) };
}
