/**
 * vitest globalSetup: one whole-suite leak check. It records the host before the first test
 * file and, after the last, fails the run if mounts, netns, links, cgroups, nft tables or
 * processes named for Stratum remain (per-test checks use useLeakCheck). As root it also lets
 * the rootless tests' unprivileged user reach the checkout (see {@link reachableCheckout}).
 */
import { chmodSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { inCI } from './guard.js';
import { diffHost, snapshotHost, type HostSnapshot, type Leak } from './leaks.js';

const ours = /stratum|^st[a-z0-9-]*$/i;

function relevant(leaks: Leak[]): Leak[] {
  return leaks.filter((l) => (l.kind === 'processes' ? /stratum/i.test(l.item) : ours.test(l.item) || /stratum/i.test(l.item)));
}

let before: HostSnapshot;
let opened: Array<{ dir: string; mode: number }> = [];

/**
 * reachableCheckout adds search permission for others (o+x, not read) to every directory above
 * the checkout that lacks it — a clone under `mktemp -d` (0700) or /root — so that the rootless
 * tests' unprivileged user can run node on the repository's files. Returns what it changed, for
 * teardown to put back.
 */
function reachableCheckout(root: string): Array<{ dir: string; mode: number }> {
  if (process.getuid?.() !== 0) return [];
  const changed: Array<{ dir: string; mode: number }> = [];
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, mode | 0o001);
      changed.push({ dir, mode });
    }
    if (dirname(dir) === dir) break;
  }
  return changed;
}

export function setup(): void {
  before = snapshotHost();
  opened = reachableCheckout(process.cwd());
}

export function teardown(): void {
  for (const { dir, mode } of opened) chmodSync(dir, mode);
  opened = [];
  const leaks = relevant(diffHost(before, snapshotHost()));
  if (leaks.length > 0) {
    const text = leaks.map((l) => `  ${l.kind}: ${l.item}`).join('\n');
    // Enforced in CI (one suite per machine); locally other suites may be running beside this one.
    if (inCI() || process.env.STRATUM_LEAK_CHECK === '1') throw new Error(`the test suite left these behind:\n${text}`);
    console.warn(`warning: these appeared during the run (another suite may own them):\n${text}`);
  }
}
