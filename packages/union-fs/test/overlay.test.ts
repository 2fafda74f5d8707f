/**
 * mountOverlay on the real kernel, through both paths (new mount API with lowerdir+, and the
 * classic mount(2) with short links, forced by `method`): copy-up, whiteouts, opaque directories,
 * lower layers never change, 128 (and 500) lowers, read-only, typed errors with the kernel's words.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { MNT, fstatat, AT, lgetxattr, mountFs, umount2 } from '@stratum/native';
import { Mount, OverlayMountError, UnmountError, mountOverlay } from '../src/index.js';
import { mountsAt, snapshot, tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const methods = ['lowerdir+', 'classic'] as const;

/** A stack of `n` lower dirs (l0 on top) with upper, work and merged, under a fresh temp dir. */
function stack(dir: string, n: number): { lower: string[]; upper: string; work: string; target: string } {
  const lower = Array.from({ length: n }, (_, i) => join(dir, `l${i}`));
  for (const l of lower) mkdirSync(l);
  const [upper, work, target] = ['upper', 'work', 'merged'].map((d) => join(dir, d)) as [string, string, string];
  for (const d of [upper, work, target]) mkdirSync(d);
  return { lower, upper, work, target };
}

async function rejection(p: Promise<unknown>): Promise<OverlayMountError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OverlayMountError);
    return e as OverlayMountError;
  }
  throw new Error('expected an OverlayMountError');
}

for (const method of methods) {
  describe(`mountOverlay (${method})`, () => {
    it('copy-on-write as the seeds describe: copy-up, whiteouts, opaque dirs; the lower layers never change', async (ctx) => {
      guard(ctx, 'root', 'overlay');
      using t = tempDir('cow');
      const s = stack(t.dir, 2);
      // l1 (bottom): a file, a directory with content, a symlink; l0 (top): overrides a file.
      writeFileSync(join(s.lower[1]!, 'A'), 'lower A');
      writeFileSync(join(s.lower[1]!, 'shared'), 'from l1');
      mkdirSync(join(s.lower[1]!, 'docs'));
      writeFileSync(join(s.lower[1]!, 'docs', 'index.html'), 'tomcat docs');
      symlinkSync('A', join(s.lower[1]!, 'link'));
      writeFileSync(join(s.lower[0]!, 'shared'), 'from l0');
      const before = s.lower.map((l) => snapshot(l, { dirMtime: true }));

      await using m = await mountOverlay({ ...s, method });
      expect(m).toBeInstanceOf(Mount);
      expect(m.method).toBe(method);
      expect(m.userxattr).toBe(false);
      expect(mountsAt(s.target)[0]).toContain(' - overlay stratum-overlay ');
      expect(readdirSync(s.target).sort()).toEqual(['A', 'docs', 'link', 'shared']);
      expect(readFileSync(join(s.target, 'shared'), 'utf8')).toBe('from l0');
      expect(readdirSync(s.upper)).toEqual([]);

      // Copy-up: the first write copies the lower file into upper; the lower copy stays.
      writeFileSync(join(s.target, 'A'), 'changed A');
      expect(readFileSync(join(s.upper, 'A'), 'utf8')).toBe('changed A');
      expect(readFileSync(join(s.lower[1]!, 'A'), 'utf8')).toBe('lower A');
      chmodSync(join(s.target, 'shared'), 0o600);
      expect(statSync(join(s.upper, 'shared')).mode & 0o777).toBe(0o600);
      // Whiteouts: deleting a lower name leaves a 0/0 character device in upper.
      rmSync(join(s.target, 'link'));
      const wh = fstatat(AT.FDCWD, join(s.upper, 'link'), AT.SYMLINK_NOFOLLOW);
      expect([wh.mode & 0o170000, wh.rdevMajor, wh.rdevMinor]).toEqual([0o020000, 0, 0]);
      expect(existsSync(join(s.target, 'link'))).toBe(false);
      // The seeds' tomcat example: remove the docs directory, then make it again: opaque.
      rmSync(join(s.target, 'docs'), { recursive: true });
      mkdirSync(join(s.target, 'docs'));
      writeFileSync(join(s.target, 'docs', 'new'), 'n');
      expect(readdirSync(join(s.target, 'docs'))).toEqual(['new']);
      expect(lgetxattr(join(s.upper, 'docs'), 'trusted.overlay.opaque').toString()).toBe('y');
      writeFileSync(join(s.target, 'brand-new'), 'only upper');

      await m.unmount();
      expect(mountsAt(s.target)).toEqual([]);
      expect(s.lower.map((l) => snapshot(l, { dirMtime: true }))).toEqual(before);
      // Mounted again over the same upper: the changes are still there.
      await using again = await mountOverlay({ ...s, method });
      expect(readdirSync(s.target).sort()).toEqual(['A', 'brand-new', 'docs', 'shared']);
      expect(readFileSync(join(s.target, 'A'), 'utf8')).toBe('changed A');
      await again.unmount();
      await again.unmount(); // idempotent
    });

    it('128 lower layers, top first', async (ctx) => {
      guard(ctx, 'root', 'overlay');
      using t = tempDir('128');
      const s = stack(t.dir, 128);
      for (const [i, l] of s.lower.entries()) {
        writeFileSync(join(l, `f${i}`), String(i));
        writeFileSync(join(l, 'shared'), String(i));
      }
      await using m = await mountOverlay({ ...s, method, readonly: true });
      expect(readdirSync(s.target).length).toBe(129);
      expect(readFileSync(join(s.target, 'shared'), 'utf8')).toBe('0');
      expect(readFileSync(join(s.target, 'f127'), 'utf8')).toBe('127');
      expect(() => writeFileSync(join(s.target, 'x'), '')).toThrow(/EROFS/);
      const info = mountsAt(s.target)[0]!;
      expect(info).toMatch(/ ro[ ,]/);
      if (method === 'classic') expect(info).toMatch(/lowerdir=([0-9a-z]{1,3}:){127}[0-9a-z]{1,3},/); // short link names
      await m.unmount();
    });

    it('a lower-only overlay (no upper) is read-only', async (ctx) => {
      guard(ctx, 'root', 'overlay');
      using t = tempDir('ro');
      const s = stack(t.dir, 2);
      writeFileSync(join(s.lower[1]!, 'x'), 'x');
      await using m = await mountOverlay({ lower: s.lower, target: s.target, method });
      expect(m.readonly).toBe(true);
      expect(readFileSync(join(s.target, 'x'), 'utf8')).toBe('x');
      expect(() => writeFileSync(join(s.target, 'x'), 'y')).toThrow(/EROFS/);
    });

    it('typed errors: the failing option, its layer and the kernel’s explanation; nothing mounted', async (ctx) => {
      guard(ctx, 'root', 'overlay');
      using t = tempDir('err');
      const s = stack(t.dir, 3);
      const missing = join(t.dir, 'stratum-no-such-layer');
      const e = await rejection(mountOverlay({ ...s, lower: [s.lower[0]!, missing, s.lower[2]!], method }));
      expect(e.code).toBe('OVERLAY_MOUNT_FAILED');
      expect(e.errno).toBe('ENOENT');
      expect(e.method).toBe(method);
      expect(e.layer).toBe(1);
      expect(e.option).toMatch(/^lowerdir\+?=.*stratum-no-such-layer$/);
      if (method === 'classic') expect(e.log).toMatch(/overlayfs: failed to resolve '[0-9a-z]+': -2/);
      // A parameter the kernel does not know: its own words.
      const u = await rejection(mountOverlay({ ...s, method, options: { 'stratum-bogus': true } }));
      expect(u.errno).toBe('EINVAL');
      if (method === 'lowerdir+') {
        expect(u.option).toBe('stratum-bogus');
        expect(u.log).toBe("overlay: Unknown parameter 'stratum-bogus'");
      } else {
        expect(u.log).toMatch(/overlay: Unknown parameter 'stratum-bogus'/);
      }
      // Found only when the superblock is made: from the kernel log.
      const one = await rejection(mountOverlay({ lower: [s.lower[0]!], target: s.target, method }));
      expect(one.log).toMatch(/at least 2 lowerdir are needed while upperdir nonexistent/);
      expect(mountsAt(s.target)).toEqual([]);
    });
  });
}

describe('mountOverlay', () => {
  it('up to the kernel’s 500 layers with lowerdir+; 501 is the kernel’s refusal, in its words', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    using t = tempDir('500');
    const s = stack(t.dir, 501);
    writeFileSync(join(s.lower[499]!, 'deep'), 'bottom');
    {
      await using m = await mountOverlay({ ...s, lower: s.lower.slice(0, 500), method: 'lowerdir+' });
      expect(readFileSync(join(s.target, 'deep'), 'utf8')).toBe('bottom');
      await m.unmount();
    }
    {
      await using m = await mountOverlay({ ...s, lower: s.lower.slice(0, 500), method: 'classic' });
      expect(readFileSync(join(s.target, 'deep'), 'utf8')).toBe('bottom');
      await m.unmount();
    }
    const e = await rejection(mountOverlay({ ...s, method: 'lowerdir+' }));
    expect(e.errno).toBe('EINVAL');
    expect(e.log).toMatch(/too many lower/i);
    expect(mountsAt(s.target)).toEqual([]);
  });

  it('userxattr, mount flags and extra parameters', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    using t = tempDir('flags');
    const s = stack(t.dir, 1);
    mkdirSync(join(s.lower[0]!, 'd'));
    writeFileSync(join(s.lower[0]!, 'd', 'x'), '');
    await using m = await mountOverlay({ ...s, userxattr: true, nosuid: true, nodev: true, noexec: true, options: { volatile: true, index: false } });
    expect(m.userxattr).toBe(true);
    const info = mountsAt(s.target)[0]!;
    expect(info).toMatch(/nosuid,nodev,noexec/);
    expect(info).toMatch(/volatile/);
    expect(info).toMatch(/userxattr/);
    rmSync(join(s.target, 'd'), { recursive: true });
    mkdirSync(join(s.target, 'd'));
    expect(lgetxattr(join(s.upper, 'd'), 'user.overlay.opaque').toString()).toBe('y');
  });

  it('unmount takes down only its own mount', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    using t = tempDir('own');
    const s = stack(t.dir, 1);
    const m = await mountOverlay(s);
    mountFs({ fstype: 'tmpfs', source: 'stratum-on-top', target: s.target });
    try {
      await expect(m.unmount()).rejects.toBeInstanceOf(UnmountError);
      expect(mountsAt(s.target).length).toBe(2);
    } finally {
      umount2(s.target, MNT.DETACH);
    }
    await m.unmount();
    expect(mountsAt(s.target)).toEqual([]);
    // Gone behind its back: nothing to do, no error.
    const n = await mountOverlay(s);
    umount2(s.target);
    await n.unmount();
    expect(n.mounted).toBe(false);
  });

  it('bad options are TypeErrors before any syscall; an aborted signal mounts nothing', async (ctx) => {
    const ok = { lower: ['/a'], target: '/t' };
    await expect(mountOverlay({ ...ok, lower: [] })).rejects.toThrow(TypeError);
    await expect(mountOverlay({ ...ok, upper: '/u' })).rejects.toThrow(/go together/);
    await expect(mountOverlay({ ...ok, target: '' })).rejects.toThrow(TypeError);
    await expect(mountOverlay({ ...ok, options: { lowerdir: 'x' } })).rejects.toThrow(/options.lower/);
    await expect(mountOverlay({ ...ok, options: { a: 'x,y' } })).rejects.toThrow(TypeError);
    await expect(mountOverlay({ ...ok, method: 'nope' as 'classic' })).rejects.toThrow(TypeError);
    await expect(mountOverlay({ ...ok, readonly: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
    guard(ctx, 'root', 'overlay');
    using t = tempDir('abort');
    const s = stack(t.dir, 1);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(mountOverlay({ ...s, signal: ac.signal })).rejects.toThrow('stop');
    expect(mountsAt(s.target)).toEqual([]);
  });
});
