import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/**
 * testSubordinateIds gives the account `name` (uid `uid`) a range of 65536 subordinate uids and
 * gids in /etc/subuid and /etc/subgid when it has none (`usermod --add-subuids/--add-subgids`,
 * what newuidmap/newgidmap check), and returns the start of each. Needs root and usermod.
 * Idempotent.
 */
export function testSubordinateIds(name: string, uid: number): { uid: number; gid: number } {
  const start: number[] = [];
  for (const [file, flag] of [['/etc/subuid', '--add-subuids'], ['/etc/subgid', '--add-subgids']] as const) {
    let line: string | undefined;
    try {
      line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
    } catch {
      // no file yet
    }
    if (!line) {
      const base = 500000 + (uid % 1000) * 65536;
      execFileSync('usermod', [flag, `${base}-${base + 65535}`, name]);
      line = `${name}:${base}:65536`;
    }
    start.push(Number(line.split(':')[1]));
  }
  return { uid: start[0]!, gid: start[1]! };
}
