/**
 * vitest globalSetup: one whole-suite leak check. It records the host before the first test
 * file and, after the last, fails the run if mounts, netns, links, cgroups, nft tables or
 * processes named for Stratum remain (per-test checks use useLeakCheck).
 */
import { inCI } from './guard.js';
import { diffHost, snapshotHost, type HostSnapshot, type Leak } from './leaks.js';

const ours = /stratum|^st[a-z0-9-]*$/i;

function relevant(leaks: Leak[]): Leak[] {
  return leaks.filter((l) => (l.kind === 'processes' ? /stratum/i.test(l.item) : ours.test(l.item) || /stratum/i.test(l.item)));
}

let before: HostSnapshot;

export function setup(): void {
  before = snapshotHost();
}

export function teardown(): void {
  const leaks = relevant(diffHost(before, snapshotHost()));
  if (leaks.length > 0) {
    const text = leaks.map((l) => `  ${l.kind}: ${l.item}`).join('\n');
    // Enforced in CI (one suite per machine); locally other suites may be running beside this one.
    if (inCI() || process.env.STRATUM_LEAK_CHECK === '1') throw new Error(`the test suite left these behind:\n${text}`);
    console.warn(`warning: these appeared during the run (another suite may own them):\n${text}`);
  }
}
