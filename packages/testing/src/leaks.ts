import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StratumError } from '@stratum/oci';
import { which } from './probes.js';

/** What the host holds that a test could leak: mounts, netns, links, cgroups, nft tables, processes. */
export interface HostSnapshot {
  mounts: string[];
  netns: string[];
  links: string[];
  cgroups: string[];
  nftTables: string[];
  processes: string[];
}

/** A kernel object that was there after a test and not before it. */
export interface Leak {
  kind: keyof HostSnapshot;
  item: string;
}

/** LeakError: a test left mounts, cgroups, netns, links, nft rules or processes behind. */
export class LeakError extends StratumError {
  readonly leaks: Leak[];
  constructor(leaks: Leak[], where?: string) {
    super('LEAK', `${where ? `${where}: ` : ''}left behind ${leaks.map((l) => `${l.kind} ${l.item}`).join(', ')}`);
    this.leaks = leaks;
  }
}

function mounts(): string[] {
  // Mount point (field 5) plus mount id, so that a remount at the same path counts as new.
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(' ');
      return `${f[4]} (${f[8] ?? '?'} id ${f[0]})`;
    });
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function cgroups(): string[] {
  const out: string[] = [];
  const root = '/sys/fs/cgroup';
  const walk = (dir: string, depth: number): void => {
    if (depth > 4) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (/stratum/i.test(e.name)) out.push(p);
      walk(p, depth + 1);
    }
  };
  const top = list(root);
  if (existsSync(join(root, 'cgroup.controllers'))) walk(root, 0);
  else for (const h of top) walk(join(root, h), 0);
  return out.sort();
}

function nftTables(): string[] {
  if (process.getuid?.() !== 0 || !which('nft')) return [];
  const r = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.split('\n').map((s) => s.trim()).filter((s) => /stratum/i.test(s)) : [];
}

/** Live (not zombie-reaped) descendants of this process, as "pid comm". */
function descendants(): string[] {
  const children = new Map<number, Array<{ pid: number; comm: string }>>();
  for (const name of list('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const rest = stat.slice(close + 2).split(' ');
      const ppid = Number(rest[1]);
      const arr = children.get(ppid) ?? [];
      arr.push({ pid: Number(name), comm });
      children.set(ppid, arr);
    } catch {
      // raced with exit
    }
  }
  const out: string[] = [];
  const queue = [process.pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of children.get(p) ?? []) {
      out.push(`${c.pid} ${c.comm}`);
      queue.push(c.pid);
    }
  }
  return out.sort();
}

/** snapshotHost records what the host holds now (see {@link HostSnapshot}). */
export function snapshotHost(): HostSnapshot {
  return {
    mounts: mounts(),
    netns: list('/run/netns'),
    links: list('/sys/class/net'),
    cgroups: cgroups(),
    nftTables: nftTables(),
    processes: descendants(),
  };
}

/** diffHost lists what `after` holds that `before` did not. */
export function diffHost(before: HostSnapshot, after: HostSnapshot): Leak[] {
  const leaks: Leak[] = [];
  for (const kind of Object.keys(after) as Array<keyof HostSnapshot>) {
    const had = new Set(before[kind]);
    for (const item of after[kind]) if (!had.has(item)) leaks.push({ kind, item });
  }
  return leaks;
}

/** Hooks of a test runner (vitest's `beforeEach`/`afterEach` fit). */
export interface LeakCheckHooks {
  beforeEach(fn: () => void | Promise<void>): void;
  afterEach(fn: () => void | Promise<void>): void;
}

/**
 * useLeakCheck registers an afterEach check that fails the test when it left anything behind:
 * mounts, netns, links, cgroups, nft tables or child processes. Processes get a short grace
 * period to be reaped. Run test files serially (the repo's vitest config does) so that what
 * another file creates meanwhile is not blamed on this one.
 *
 * @example
 * import { beforeEach, afterEach } from 'vitest';
 * useLeakCheck({ beforeEach, afterEach });
 */
export function useLeakCheck(hooks: LeakCheckHooks, opts: { graceMs?: number } = {}): void {
  let before: HostSnapshot | undefined;
  hooks.beforeEach(() => {
    before = snapshotHost();
  });
  hooks.afterEach(async () => {
    if (!before) return;
    const deadline = Date.now() + (opts.graceMs ?? 2000);
    let leaks = diffHost(before, snapshotHost());
    while (leaks.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      leaks = diffHost(before, snapshotHost());
    }
    before = undefined;
    if (leaks.length > 0) throw new LeakError(leaks);
  });
}

/** isDirectory is a small helper for probes: true when `p` is a directory. */
export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
