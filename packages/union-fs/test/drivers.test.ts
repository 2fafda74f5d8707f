/**
 * One conformance suite, run over every storage driver the host has (as @parcel/watcher runs one
 * suite over its backends): prepare merges the layers as UnionView does; writes copy up, delete
 * and make opaque dirs without touching a layer; diff() is a change createLayer turns into a
 * layer that, put on top of the layers, gives exactly the root filesystem; release keeps the
 * changes, prepare again finds them, remove cleans up.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck, type Capability } from '@stratum/testing';
import { createLayer } from '@stratum/layer';
import { UnionView, driverByName, selectDriver, type DriverName } from '../src/index.js';
import { drain, layerDir, mountsAt, rawTar, snapshot, tempDir, viewSnapshot, type Member } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const dir = (name: string, mode = 0o755): Member => ({ name, type: 'directory', mode });
// Top first.
const layers: Member[][] = [
  [dir('etc'), { name: 'etc/os-release', type: 'file', data: 'ID=top\n' }, { name: 'etc/.wh.motd', type: 'file' }, dir('usr'), dir('usr/bin'), { name: 'usr/bin/sh', type: 'file', data: 'sh v2', mode: 0o755 }],
  [dir('var'), dir('var/cache', 0o700), { name: 'var/cache/.wh..wh..opq', type: 'file' }, { name: 'var/cache/mid', type: 'file', data: 'mid' }, { name: 'lnk', type: 'symlink', linkname: 'etc/passwd' }],
  [
    dir('etc'),
    { name: 'etc/os-release', type: 'file', data: 'ID=bottom\n' },
    { name: 'etc/passwd', type: 'file', data: 'root:x:0:0::/root:/bin/sh\n' },
    { name: 'etc/hosts', type: 'file', data: '127.0.0.1 localhost\n' },
    { name: 'etc/motd', type: 'file', data: 'hello' },
    dir('usr'),
    dir('usr/bin'),
    { name: 'usr/bin/sh', type: 'file', data: 'sh v1', mode: 0o755 },
    { name: 'usr/bin/ls', type: 'file', data: 'ls', mode: 0o755, uid: 1000, gid: 1000 },
    dir('var'),
    dir('var/cache'),
    { name: 'var/cache/old', type: 'file', data: 'old' },
    { name: 'dev-null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
  ],
];

/** What a container does to its root filesystem (the seeds' walk-through, and more). */
function mutate(root: string): void {
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/bash\n', { flag: 'a' }); // copy-up
  unlinkSync(join(root, 'etc/hosts')); // whiteout
  rmSync(join(root, 'var/cache'), { recursive: true }); // opaque when made again
  mkdirSync(join(root, 'var/cache'));
  writeFileSync(join(root, 'var/cache/fresh'), 'fresh');
  mkdirSync(join(root, 'srv'));
  writeFileSync(join(root, 'srv/new'), 'new file');
  chmodSync(join(root, 'usr/bin/sh'), 0o700); // metadata-only change
  symlinkSync('/etc/passwd', join(root, 'newlink'));
  renameSync(join(root, 'etc/os-release'), join(root, 'etc/os-release.bak')); // copy-up + whiteout
  rmSync(join(root, 'lnk'));
}

const needs: Record<DriverName, Capability[]> = {
  overlay: ['root', 'overlay'],
  'fuse-overlayfs': ['root', 'tool:fuse-overlayfs'],
  vfs: ['root'],
};

async function makeLayers(base: string): Promise<string[]> {
  const out: string[] = [];
  for (const [i, m] of layers.entries()) out.push(await layerDir(rawTar(m), join(base, `layer${i}`)));
  return out;
}

for (const name of ['overlay', 'fuse-overlayfs', 'vfs'] as const) {
  describe(`driver ${name}`, () => {
    const driver = driverByName(name);

    it('check() tries it for real and says why it works', async (ctx) => {
      guard(ctx, ...needs[name]);
      const c = await driver.check();
      expect(c.available, c.reason).toBe(true);
      expect(c.reason).toMatch(name === 'vfs' ? /copied/ : /test mount copied up and whited out/);
      expect(driver.name).toBe(name);
    });

    it('prepare merges the layers as UnionView does; writes never touch a layer; diff() makes the layer that reproduces the rootfs', async (ctx) => {
      guard(ctx, ...needs[name]);
      using t = tempDir(`drv-${name}`);
      const ls = await makeLayers(t.dir);
      const lowerBefore = ls.map((l) => snapshot(l, { dirMtime: true }));
      await using view = await UnionView.open(ls);
      const expected = await viewSnapshot(view, { dirMtime: true });
      {
        await using r = await driver.prepare(ls, { dir: join(t.dir, 'c') });
        expect(r.driver).toBe(name);
        expect(r.layers).toEqual(ls);
        expect(snapshot(r.path, { dirMtime: true })).toEqual(expected);
        expect(readFileSync(join(r.path, 'etc/os-release'), 'utf8')).toBe('ID=top\n');
        expect(existsSync(join(r.path, 'etc/motd'))).toBe(false);
        expect(readdirSync(join(r.path, 'var/cache'))).toEqual(['mid']);

        mutate(r.path);
        expect(readdirSync(join(r.path, 'var/cache'))).toEqual(['fresh']);
        expect(ls.map((l) => snapshot(l, { dirMtime: true }))).toEqual(lowerBefore);

        const change = await r.diff();
        expect(change).toEqual(name === 'vfs' ? { from: join(t.dir, 'c', 'base'), to: r.path } : { upper: expect.any(String), xattrPrefix: 'trusted' });
        const created = createLayer(change, { compression: 'none' });
        writeFileSync(join(t.dir, 'change.tar'), await drain(created.stream));
        await using after = await UnionView.open([join(t.dir, 'change.tar'), ...ls]);
        expect(await viewSnapshot(after)).toEqual(snapshot(r.path));
        expect(await after.readdir('/var/cache')).toEqual(['fresh']);
        expect(await after.exists('/etc/hosts')).toBe(false);
        expect((await after.stat('/usr/bin/sh')).mode & 0o777).toBe(0o700);
        await r.release();
        if (name !== 'vfs') expect(mountsAt(r.path)).toEqual([]);
      }
      // Prepared again (a restarted container): the changes are there.
      const again = await driver.prepare(ls, { dir: join(t.dir, 'c') });
      expect(readFileSync(join(again.path, 'srv/new'), 'utf8')).toBe('new file');
      expect(existsSync(join(again.path, 'etc/hosts'))).toBe(false);
      await again.remove();
      await again.remove();
      expect(existsSync(join(t.dir, 'c'))).toBe(false);
      expect(ls.map((l) => snapshot(l, { dirMtime: true }))).toEqual(lowerBefore);
    });

    it('no layers: an empty, writable root; readonly: writes refused (vfs cannot enforce it)', async (ctx) => {
      guard(ctx, ...needs[name]);
      using t = tempDir(`drv-ro-${name}`);
      {
        await using r = await driver.prepare([], { dir: join(t.dir, 'empty') });
        expect(readdirSync(r.path)).toEqual([]);
        writeFileSync(join(r.path, 'x'), 'x');
        await r.remove();
      }
      const ls = await makeLayers(t.dir);
      await using r = await driver.prepare(ls, { dir: join(t.dir, 'ro'), readonly: true });
      expect(r.readonly).toBe(true);
      expect(readFileSync(join(r.path, 'etc/passwd'), 'utf8')).toContain('root');
      if (name === 'vfs') {
        expect(await r.diff()).toEqual({ from: r.path, to: r.path });
      } else {
        expect(() => writeFileSync(join(r.path, 'etc/passwd'), 'x')).toThrow(/EROFS/);
      }
      await r.remove();
    });

    it('bad arguments are TypeErrors; an aborted prepare leaves nothing', async (ctx) => {
      guard(ctx, ...needs[name]);
      using t = tempDir(`drv-bad-${name}`);
      await expect(driver.prepare('x' as unknown as string[], { dir: t.dir })).rejects.toThrow(TypeError);
      await expect(driver.prepare([], { dir: '' })).rejects.toThrow(TypeError);
      const ac = new AbortController();
      ac.abort(new Error('stop'));
      await expect(driver.prepare([], { dir: join(t.dir, 'c'), signal: ac.signal })).rejects.toThrow('stop');
      expect(existsSync(join(t.dir, 'c'))).toBe(false);
    });
  });
}

describe('selectDriver', () => {
  it('picks kernel overlay as root, with the reason; honours a preference list', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'tool:fuse-overlayfs');
    const best = await selectDriver();
    expect(best.driver.name).toBe('overlay');
    expect(best.reason).toMatch(/kernel overlayfs works for this process \((new mount API|classic)/);
    expect(best.rejected).toEqual([]);
    const fuse = await selectDriver({ prefer: ['fuse-overlayfs', 'vfs'] });
    expect(fuse.driver.name).toBe('fuse-overlayfs');
    expect((await selectDriver({ prefer: ['vfs'] })).driver.name).toBe('vfs');
    await expect(selectDriver({ prefer: ['zfs' as DriverName] })).rejects.toThrow(TypeError);
  });

});
