import { join } from 'node:path';

/** The repository this kit lives in (packages/testing/src → the root). */
const repoRoot = join(import.meta.dirname, '..', '..', '..');

/**
 * sandboxArgs returns the `bwrap` arguments that hostile-input tests run their child under: the
 * whole host read-only (`--ro-bind / /`), a fresh tmpfs on /tmp, its own /dev and /proc, and only
 * `writable` (the test's own directories) bound writable. The repository is bound back read-only
 * after the tmpfs, so that a checkout under /tmp (a CI clone) still has its sources and
 * node_modules inside. Append the program and its arguments. Needs `tool:bwrap` and `mount-ns`.
 */
export function sandboxArgs(writable: readonly string[]): string[] {
  return [
    '--ro-bind', '/', '/',
    '--tmpfs', '/tmp',
    '--ro-bind', repoRoot, repoRoot,
    '--dev', '/dev',
    '--proc', '/proc',
    ...writable.flatMap((d) => ['--bind', d, d]),
    '--die-with-parent',
  ];
}
