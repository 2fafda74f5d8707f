/**
 * One lifecycle suite (add, procs, events, freeze/thaw, kill, delete, dispose) run for real over
 * every way a cgroup can sit on this host: only v1 hierarchies, only the unified v2 tree (what
 * a v2-only host does: cgroup.procs, cgroup.freeze, cgroup.events, cgroup.kill), and both
 * (hybrid, the default here).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck, type Capability } from '@stratum/testing';
import { ErrnoError } from '@stratum/native';
import { Cgroup, CgroupBusyError, type CgroupOptions } from '@stratum/cgroup';
import { alive, cleanupReaper, sleep, startWorkload, testCgroupName, waitFor, type Workload } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });
afterAll(cleanupReaper);

const variants: Array<{ name: string; caps: Capability[]; opts: CgroupOptions; expect: { v1: boolean; v2: boolean } }> = [
  { name: 'v1 hierarchies only', caps: ['root', 'cgroup-v1', 'tool:cc'], opts: { unified: false }, expect: { v1: true, v2: false } },
  { name: 'unified v2 tree only', caps: ['root', 'cgroup-v2', 'tool:cc'], opts: { controllers: [] }, expect: { v1: false, v2: true } },
  { name: 'every hierarchy (default)', caps: ['root', 'cgroup-v1', 'cgroup-v2', 'tool:cc'], opts: {}, expect: { v1: true, v2: true } },
];

describe.each(variants)('cgroup lifecycle: $name', ({ caps, opts, expect: want }) => {
  let workloads: Workload[] = [];
  let parents: string[] = [];
  let tmp: string | undefined;

  /** A parent cgroup named for the test, removed (killed first) after it. */
  const parent = async (): Promise<string> => {
    const name = testCgroupName();
    await Cgroup.create(name, {}, opts);
    parents.push(name);
    return name;
  };
  const work = async (script: string): Promise<Workload> => {
    const w = await startWorkload(script);
    workloads.push(w);
    return w;
  };

  afterEach(async () => {
    for (const name of parents) {
      const cg = await Cgroup.open(name).catch(() => undefined);
      await cg?.[Symbol.asyncDispose]();
    }
    for (const w of workloads) await w.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    workloads = [];
    parents = [];
    tmp = undefined;
  });

  it('add puts a process in every hierarchy; its children follow; procs and events see them', async (ctx) => {
    guard(ctx, ...caps);
    const cg = await Cgroup.create(`${await parent()}/w`, {}, opts);
    expect(cg.dirs.some((d) => d.version === 'v1')).toBe(want.v1);
    expect(cg.dirs.some((d) => d.version === 'v2')).toBe(want.v2);
    expect(await cg.events()).toEqual({ populated: false, frozen: false });
    const w = await work('sleep 30 & sleep 30 & wait');
    await cg.add(w.pid);
    w.go();
    const pids = await waitFor(async () => ((await cg.procs()).length === 3 ? cg.procs() : undefined), 5000, 'three processes');
    expect(pids).toContain(w.pid);
    for (const d of cg.dirs) {
      expect(readFileSync(join(d.path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number).sort(), d.path).toEqual(pids);
    }
    expect(await cg.events()).toEqual({ populated: true, frozen: false });
    const err = await cg.add(2 ** 22 + 12345).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrnoError);
    expect(err).toMatchObject({ code: 'ESRCH' });
    expect((err as ErrnoError).path).toMatch(/cgroup\.procs$/);
  });

  it('freeze stops progress, thaw resumes it', async (ctx) => {
    guard(ctx, ...caps);
    tmp = mkdtempSync(join(tmpdir(), 'stratum-cgroup-freeze-'));
    const counter = join(tmp, 'counter');
    const cg = await Cgroup.create(`${await parent()}/w`, {}, opts);
    const w = await work(`i=0; while :; do i=$((i+1)); echo $i > ${counter}; sleep 0.01; done`);
    await cg.add(w.pid);
    w.go();
    const read = (): number => (existsSync(counter) ? Number(readFileSync(counter, 'utf8').trim() || 0) : 0);
    await waitFor(() => read() > 3, 5000, 'the counter to run');
    await cg.freeze({ timeout: 5000 });
    expect((await cg.events()).frozen).toBe(true);
    const a = read();
    await sleep(300);
    expect(read()).toBe(a);
    await cg.freeze(); // idempotent
    await cg.thaw();
    expect((await cg.events()).frozen).toBe(false);
    await waitFor(() => read() > a + 3, 5000, 'the counter to move again');
  });

  it('kill empties the cgroup and its child cgroups, grandchildren included', async (ctx) => {
    guard(ctx, ...caps);
    const top = await parent();
    // Processes only in leaves: v2 refuses them in a cgroup whose children have controllers.
    const cg = await Cgroup.create(`${top}/w`, {}, opts);
    const leafA = await Cgroup.create(`${top}/w/a`, {}, opts);
    const leafB = await Cgroup.create(`${top}/w/b/deeper`, {}, opts);
    const a = await work('sleep 60 & (sleep 60 &); sleep 60 & wait');
    const b = await work('exec sleep 60');
    await leafA.add(a.pid);
    await leafB.add(b.pid);
    a.go();
    b.go();
    await waitFor(async () => (await cg.procs({ recursive: true })).length >= 4, 5000, 'the workload to fork');
    const seen = await cg.procs({ recursive: true });
    expect(seen).toContain(b.pid);
    expect(await cg.procs()).toEqual([]);
    await cg.kill({ timeout: 10_000 });
    expect(await cg.procs({ recursive: true })).toEqual([]);
    expect((await a.exited).signal).toBe('SIGKILL');
    expect((await b.exited).signal).toBe('SIGKILL');
    await waitFor(() => seen.every((p) => !alive(p)), 3000, 'every killed process to be gone');
    await cg.kill(); // idempotent on an empty cgroup
    expect((await cg.events()).populated).toBe(false);
  });

  it('delete refuses while populated (descendants too), waits for processes to leave, removes child cgroups', async (ctx) => {
    guard(ctx, ...caps);
    const top = await parent();
    const cg = await Cgroup.create(`${top}/w`, {}, opts);
    const leaf = await Cgroup.create(`${top}/w/leaf`, {}, opts);
    const w = await work('exec sleep 60');
    await leaf.add(w.pid);
    w.go();
    const t0 = Date.now();
    const err = await cg.delete({ timeout: 200 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(err).toBeInstanceOf(CgroupBusyError);
    expect(err).toMatchObject({ code: 'CGROUP_BUSY', pids: [w.pid], cgroup: `${top}/w` });
    for (const d of [...cg.dirs, ...leaf.dirs]) expect(existsSync(d.path), d.path).toBe(true);

    // A process that leaves by itself: delete waits for it.
    const brief = await work('exec sleep 0.3');
    const cg2 = await Cgroup.create(`${top}/brief`, {}, opts);
    await cg2.add(brief.pid);
    brief.go();
    const t1 = Date.now();
    await cg2.delete({ timeout: 5000 });
    expect(Date.now() - t1).toBeGreaterThanOrEqual(150);
    for (const d of cg2.dirs) expect(existsSync(d.path), d.path).toBe(false);

    // Empty child cgroups go with their parent.
    const tree = await Cgroup.create(`${top}/tree`, {}, opts);
    const deep = await Cgroup.create(`${top}/tree/x/y`, {}, opts);
    await Cgroup.create(`${top}/tree/z`, {}, opts);
    await tree.delete();
    for (const d of [...tree.dirs, ...deep.dirs]) expect(existsSync(d.path), d.path).toBe(false);

    await cg.kill();
    await cg.delete();
    for (const d of [...cg.dirs, ...leaf.dirs]) expect(existsSync(d.path), d.path).toBe(false);
    await cg.delete(); // idempotent
    await expect(cg.add(w.pid)).rejects.toMatchObject({ code: 'CGROUP_DELETED' });
  });

  it('await using kills and deletes', async (ctx) => {
    guard(ctx, ...caps);
    const top = await parent();
    const w = await work('exec sleep 60');
    let dirs: string[] = [];
    {
      await using cg = await Cgroup.create(`${top}/disposable`, {}, opts);
      dirs = cg.dirs.map((d) => d.path);
      await cg.add(w.pid);
      w.go();
    }
    expect((await w.exited).signal).toBe('SIGKILL');
    for (const d of dirs) expect(existsSync(d), d).toBe(false);
  });
});
