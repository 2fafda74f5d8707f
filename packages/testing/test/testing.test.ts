import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import {
  guard,
  probe,
  missing,
  CapabilityMissingError,
  snapshotHost,
  diffHost,
  useLeakCheck,
  randomImage,
  randomTree,
  tarOf,
} from '@stratum/testing';

describe('guard', () => {
  it('skips with the reason outside CI and throws in CI', () => {
    const saved = process.env.CI;
    try {
      let note: string | undefined;
      process.env.CI = '';
      guard({ skip: (n) => { note = n; } }, 'tool:definitely-not-installed-stratum');
      expect(note).toMatch(/definitely-not-installed-stratum is not installed/);
      process.env.CI = 'true';
      expect(() => guard({ skip: () => {} }, 'tool:definitely-not-installed-stratum')).toThrow(CapabilityMissingError);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
  it('passes when the capability is there', () => {
    let skipped = false;
    guard({ skip: () => { skipped = true; } }, 'tool:sh');
    expect(skipped).toBe(false);
    expect(missing('tool:sh')).toEqual([]);
  });
  it('root probe agrees with the uid', () => {
    expect(probe('root') === null).toBe(process.getuid?.() === 0);
  });
});

describe('leak check', () => {
  it('sees a mount that was not unmounted, and a child process left running', async (ctx) => {
    guard(ctx, 'root');
    const dir = mkdtempSync(join(tmpdir(), 'stratum-leak-'));
    const before = snapshotHost();
    spawnSync('mount', ['-t', 'tmpfs', 'stratum-leak', dir]);
    const child = spawn('sleep', ['30']);
    try {
      const leaks = diffHost(before, snapshotHost());
      expect(leaks.some((l) => l.kind === 'mounts' && l.item.includes(dir))).toBe(true);
      expect(leaks.some((l) => l.kind === 'processes' && l.item.includes('sleep'))).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(diffHost(before, snapshotHost())).toEqual([]);
  });
  describe('useLeakCheck', () => {
    useLeakCheck({ beforeEach, afterEach });
    it('passes a test that cleans up', async () => {
      const child = spawn('true');
      await new Promise((r) => child.once('exit', r));
    });
  });
});

describe('random images', () => {
  it('are deterministic per seed and internally consistent', async () => {
    const a = await randomImage({ seed: 7, layers: 2 });
    const b = await randomImage({ seed: 7, layers: 2 });
    const c = await randomImage({ seed: 8, layers: 2 });
    expect(await a.digest()).toBe(await b.digest());
    expect(await a.digest()).not.toBe(await c.digest());
    const layers = await a.layers();
    const cfg = await a.config();
    for (const [i, l] of layers.entries()) {
      const hash = createHash('sha256');
      for await (const chunk of (await l.compressed()).pipe(createGunzip())) hash.update(chunk);
      expect(`sha256:${hash.digest('hex')}`).toBe(cfg.rootfs.diff_ids[i]);
    }
    expect(randomTree({ seed: 3 }).length).toBeGreaterThan(10);
    const t = await tarOf(randomTree({ seed: 3, files: 2 }));
    expect(t.length % 512).toBe(0);
    expect(Readable).toBeDefined();
  });
});
