import { spawn as cpSpawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { DEFAULT_MOUNTS, prepareSpec } from '../src/index.js';
import { FLAG } from '../src/protocol.js';
import { start } from '../src/spawn.js';
import { alive, busyboxRootfs, sleep, tempDir, text } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/pdeath.ts', import.meta.url));

/** Starts the fixture in a Node child, returns the container pid and the child. */
async function startFixture(mode: string, signal: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const node = cpSpawn(process.execPath, ['--conditions=stratum-source', '--import', tsx, fixture, mode, signal], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let s = '';
    node.stdout.on('data', (d: Buffer) => {
      s += d.toString();
      if (s.includes('\n')) resolve(s.trim());
    });
    node.once('exit', (c) => reject(new Error(`fixture exited ${c}`)));
  });
  return {
    pid: Number(line),
    kill: async () => {
      const exited = new Promise((r) => node.once('exit', r));
      node.kill('SIGKILL');
      await exited;
    },
  };
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    // A zombie whose parent is gone is reaped by init; treat state Z as gone too.
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return true;
    } catch {
      return true;
    }
    await sleep(20);
  }
  return false;
}

describe('lifecycle', () => {
  for (const mode of ['direct', 'fork'] as const) {
    it(`parentDeathSignal: the program dies with the Node process (${mode === 'fork' ? 'helper as monitor' : 'helper exec\'d'})`, async (ctx) => {
      guard(ctx, 'root', 'native');
      const f = await startFixture(mode, 'SIGKILL');
      expect(alive(f.pid)).toBe(true);
      await f.kill();
      expect(await gone(f.pid, 3000)).toBe(true);
    });
  }

  it('without parentDeathSignal the program outlives the Node process', async (ctx) => {
    guard(ctx, 'root', 'native');
    const f = await startFixture('fork', 'none');
    try {
      await f.kill();
      await sleep(200);
      expect(alive(f.pid)).toBe(true);
    } finally {
      process.kill(f.pid, 'SIGKILL');
      await gone(f.pid, 3000);
    }
  });

  it('the component-walk resolver (kernels without openat2) keeps mount targets inside the rootfs too', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('walk');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    const outside = join(t.dir, 'outside');
    mkdirSync(outside);
    mkdirSync(join(rootfs, outside), { recursive: true });
    symlinkSync(outside, join(rootfs, 'evil'));
    symlinkSync(`../../../../../../..${outside}`, join(rootfs, 'up'));
    symlinkSync('up', join(rootfs, 'chain'));
    const prepared = prepareSpec({
      argv: ['/bin/sh', '-c', `echo a > /evil/a; echo b > /chain/sub/b; ls ${outside} ${outside}/sub`],
      namespaces: { pid: true, mount: true },
      rootfs,
      mounts: [...DEFAULT_MOUNTS, { destination: '/evil', type: 'tmpfs', options: ['size=1m'] }, { destination: '/chain/sub', type: 'tmpfs', options: ['size=1m'] }],
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    prepared.wire.flags |= FLAG.NO_OPENAT2;
    await using p = await start(prepared);
    const [o, e] = await Promise.all([text(p.stdout), text(p.stderr), p.wait()]);
    expect(e).toBe('');
    expect(o).toBe(`${outside}:\na\nsub\n\n${outside}/sub:\nb\n`);
    expect(readdirSync(outside)).toEqual([]);
  });
});
