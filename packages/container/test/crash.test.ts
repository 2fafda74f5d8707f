/**
 * Crash safety: the Node process that started a container is SIGKILLed; a later gc() in a new
 * process removes everything it leaked (the leak check then finds nothing), and an `autoRemove`
 * container dies with its Node process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import type { GcReport } from '../src/index.js';
import { firstLine, nodeScript, runScript, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });


const t = useSuite('crash', 235, { beforeAll, afterAll });

function nftRules(): string {
  const r = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  return r.stdout;
}

function pidAlive(pid: number): boolean {
  try {
    return !/^\S+ \S+ Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\(.*\)/, 'x'));
  } catch {
    return false;
  }
}

for (const autoRemove of [false, true]) {
  describe(`SIGKILL of the Node process that started a container (${autoRemove ? 'autoRemove' : 'no autoRemove'})`, () => {
    it('gc in a new process removes every leaked kernel object', async (ctx) => {
      guard(ctx, 'root', 'overlay', 'netns', 'nftables', 'tool:tsx');
      const port = 19000 + (process.pid % 500) + (autoRemove ? 1 : 0);
      const child = nodeScript('run-and-hang', { root: t.options.root, network: t.options.network, rootfs: t.rootfs, port, autoRemove });
      const { id } = await firstLine<{ id: string }>(child);
      const st = JSON.parse(readFileSync(join(t.options.root, 'containers', id, 'state.json'), 'utf8')) as { Pid: number; held: { rootfs: string; cgroup: string; endpoint: { hostIfname: string } } };
      // What it holds while running.
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(st.held.rootfs);
      expect(existsSync(`/sys/class/net/${st.held.endpoint.hostIfname}`)).toBe(true);
      expect(nftRules()).toContain(`dport ${port}`);
      expect(pidAlive(st.Pid)).toBe(true);

      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      if (autoRemove) {
        // The kernel ends the container with its Node process (parent-death signal).
        for (let i = 0; i < 500 && pidAlive(st.Pid); i++) await new Promise((r) => setTimeout(r, 10));
        expect(pidAlive(st.Pid)).toBe(false);
      } else {
        expect(pidAlive(st.Pid)).toBe(true);
      }

      const report = await runScript<GcReport>('runtime-op', { ...t.options, op: 'gc' });
      expect(report.reconciled).toEqual([id]);
      expect(report.killed).toEqual(autoRemove ? [] : [id]);
      expect(report.removed).toEqual(autoRemove ? [id] : []);
      expect(pidAlive(st.Pid)).toBe(false);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(st.held.rootfs);
      expect(existsSync(`/sys/class/net/${st.held.endpoint.hostIfname}`)).toBe(false);
      expect(nftRules()).not.toContain(`dport ${port}`);
      const net = await t.rt.networks.get();
      expect(net.leases()).toEqual([]);
      expect(existsSync(join(t.options.root, 'containers', id))).toBe(!autoRemove);
      if (!autoRemove) {
        const after = JSON.parse(readFileSync(join(t.options.root, 'containers', id, 'state.json'), 'utf8')) as { Status: string; held?: unknown; ExitCode: number };
        expect(after).toMatchObject({ Status: 'exited', ExitCode: 255 });
        expect(after.held).toBeUndefined();
        // A second gc finds nothing more.
        const again = await t.rt.gc();
        expect(again).toMatchObject({ killed: [], reconciled: [], removed: [], mounts: [], leftovers: [] });
        await t.rt.state.lock(id, () => t.rt.state.removeLocked(id, t.rt.state.record(id).Name));
      }
    });
  });
}
