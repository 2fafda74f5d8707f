/**
 * Rootless: an unprivileged user manages cgroups inside a delegated v2 subtree (a directory it
 * owns, with cgroup.procs/subtree_control/threads, as systemd's Delegate=yes hands out), and gets
 * CgroupPermissionError saying why everywhere else (not delegated; v1 needs root).
 */
import { spawn } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Cgroup, detectHierarchy, type CgroupLimits, type ControllerName } from '@stratum/cgroup';
import { testCgroupName } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const NOBODY = 65534;
const MiB = 1024 * 1024;
let parents: string[] = [];
afterEach(async () => {
  for (const name of parents) {
    const cg = await Cgroup.open(name).catch(() => undefined);
    await cg?.[Symbol.asyncDispose]();
  }
  parents = [];
});

/** Runs rootless-child.ts as nobody, inside `into` (as systemd starts a delegated unit's process in it). */
function runAsNobody(into: Cgroup, args: unknown): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const root = join(import.meta.dirname, '../../..');
    const argv = ['--conditions=stratum-source', '--import', 'tsx', join(import.meta.dirname, 'rootless-child.ts'), JSON.stringify(args)];
    // The shell waits until it has been moved into the delegated cgroup, then becomes node.
    const child = spawn('sh', ['-c', 'read go || exit 1; exec "$0" "$@"', process.execPath, ...argv], {
      cwd: root,
      uid: NOBODY,
      gid: NOBODY,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', TMPDIR: '/tmp' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    into.add(child.pid!).then(
      () => child.stdin.end('go\n'),
      (err: unknown) => {
        child.stdin.end();
        reject(err as Error);
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('rootless', () => {
  it('works in a delegated v2 subtree, and says why it cannot elsewhere', async (ctx) => {
    guard(ctx, 'root', 'cgroup-v2', 'tool:tsx');
    const h = detectHierarchy();
    // A controller to delegate: whatever the unified hierarchy offers here (hugetlb on a hybrid host).
    const options: Array<[ControllerName, CgroupLimits]> = [
      ['pids', { pids: { max: 10 } }],
      ['memory', { memory: { max: 64 * MiB } }],
      ['hugetlb', { hugetlb: { '2MB': 2 * MiB } }],
    ];
    const pick = options.find(([c]) => h.v2!.controllers.includes(c));
    if (!pick) return ctx.skip('the unified hierarchy offers no controller to delegate');
    const [controller, limits] = pick;
    const name = testCgroupName();
    parents.push(name);
    // The delegation, done by "systemd" (root): the directory and its three delegation files.
    const delegated = await Cgroup.create(name, {}, { controllers: [controller] });
    const dir = delegated.dirs[0]!.path;
    expect(delegated.dirs).toHaveLength(1);
    for (const p of [dir, join(dir, 'cgroup.procs'), join(dir, 'cgroup.subtree_control'), join(dir, 'cgroup.threads')]) chownSync(p, NOBODY, NOBODY);
    const notMine = `${testCgroupName()}-not-delegated`;

    const r = await runAsNobody(delegated, { name, controller, limits, notMine });
    expect(r.code, `child failed: ${r.stderr}`).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, any>;
    expect(out.uid).toBe(NOBODY);
    expect(out.inLeaf).toBe(true);
    expect(out.limitFiles[controller]).toBe(true);
    expect(out.procs).toBe(1);
    expect(out.signal).toBe('SIGKILL');
    expect(out.workGone).toBe(true);
    expect(out.notDelegated).toMatchObject({ name: 'CgroupPermissionError', code: 'CGROUP_PERMISSION', reason: 'not-delegated', owner: 0, hierarchy: 'v2' });
    expect(out.notDelegated.message).toMatch(/Delegate=yes/);
    expect(existsSync(join(h.v2!.mountpoint, notMine))).toBe(false);
    if (Object.keys(h.v1).length) {
      expect(out.v1).toMatchObject({ name: 'CgroupPermissionError', code: 'CGROUP_PERMISSION', reason: 'v1-needs-root', hierarchy: 'v1' });
    }
  });
});
