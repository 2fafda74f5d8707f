import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { chownSync, readlinkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import {
  AT, ErrnoError, MNT, MOUNT_ATTR, MOVE_MOUNT, MS, O, OPEN_TREE, features, openat, fsconfig, fsmount, fsopen, mount, mountFs,
  mountSetattr, moveMount, openTree, umount2,
} from '../src/index.js';

useLeakCheck({ beforeEach, afterEach });

let dir: string;
const mounted: string[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stratum-native-mount-'));
});
afterEach(() => {
  // Unmount whatever a failed test left, innermost first, then remove the temp dir.
  for (const m of mounted.splice(0).reverse()) {
    try {
      umount2(m, MNT.DETACH);
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function mountsAt(target: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === target);
}

async function rejects(fn: () => unknown): Promise<ErrnoError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErrnoError);
    return e as ErrnoError;
  }
  throw new Error('expected an ErrnoError');
}

const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('mount / umount2', () => {
  it('mounts and unmounts a tmpfs with data and flags', async (ctx) => {
    guard(ctx, 'root');
    const t = join(dir, 't');
    mkdirSync(t);
    mount({ source: 'stratum-tmpfs', target: t, fstype: 'tmpfs', flags: MS.NOSUID | MS.NODEV, data: 'size=1m,mode=700' });
    mounted.push(t);
    const line = mountsAt(t)[0]!;
    expect(line).toContain(' - tmpfs stratum-tmpfs ');
    expect(line).toMatch(/nosuid,nodev/);
    expect(line).toContain('mode=700');
    writeFileSync(join(t, 'f'), 'x');
    umount2(t);
    mounted.pop();
    expect(mountsAt(t)).toEqual([]);
    expect(readdirSync(t)).toEqual([]);
    const e = await rejects(() => umount2(t));
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('umount2');
    expect(e.path).toBe(t);
  });

  it('bind-mounts read-only with a remount', async (ctx) => {
    guard(ctx, 'root');
    const src = join(dir, 'src');
    const t = join(dir, 'b');
    mkdirSync(src);
    mkdirSync(t);
    writeFileSync(join(src, 'f'), 'bound');
    mount({ source: src, target: t, flags: MS.BIND });
    mounted.push(t);
    mount({ target: t, flags: MS.REMOUNT | MS.BIND | MS.RDONLY });
    expect(readFileSync(join(t, 'f'), 'utf8')).toBe('bound');
    expect(() => writeFileSync(join(t, 'g'), '')).toThrow(/EROFS/);
    umount2(t, MNT.DETACH);
    mounted.pop();
  });

  it('fails with typed errors and TypeErrors', async (ctx) => {
    expect(() => mount({ target: '' })).toThrow(TypeError);
    expect(() => mount({ target: '/x', flags: -1 })).toThrow(TypeError);
    expect(() => mount(undefined as unknown as { target: string })).toThrow(TypeError);
    guard(ctx, 'root');
    const e = await rejects(() => mount({ source: 'x', target: join(dir, 'missing'), fstype: 'tmpfs' }));
    expect(e.code).toBe('ENOENT');
    expect(e.syscall).toBe('mount');
    const f = await rejects(() => mount({ source: 'x', target: dir, fstype: 'stratum-nofs' }));
    expect(f.code).toBe('ENODEV');
  });
});

describe('new mount API', () => {
  it('fsopen → fsconfig → fsmount → moveMount, then mountSetattr read-only', async (ctx) => {
    guard(ctx, 'root');
    const t = join(dir, 't');
    mkdirSync(t);
    {
      using fs = fsopen('tmpfs');
      fsconfig(fs, 'string', 'source', 'stratum-fsmount');
      fsconfig(fs, 'string', 'size', '1m');
      fsconfig(fs, 'create');
      using mnt = fsmount(fs, 0, MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV);
      moveMount(mnt, '', AT.FDCWD, t, MOVE_MOUNT.F_EMPTY_PATH);
      mounted.push(t);
    }
    expect(mountsAt(t)[0]).toContain(' - tmpfs stratum-fsmount ');
    writeFileSync(join(t, 'f'), 'w');
    mountSetattr(AT.FDCWD, t, 0, { attrSet: MOUNT_ATTR.RDONLY });
    expect(() => writeFileSync(join(t, 'g'), '')).toThrow(/EROFS/);
    mountSetattr(AT.FDCWD, t, 0, { attrClr: MOUNT_ATTR.RDONLY, propagation: MS.PRIVATE });
    writeFileSync(join(t, 'g'), '');
    umount2(t);
    mounted.pop();
  });

  it('fsconfig errors carry the kernel log', async (ctx) => {
    guard(ctx, 'root');
    using fs = fsopen('tmpfs');
    const e = await rejects(() => fsconfig(fs, 'string', 'stratum-bogus', '1'));
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('fsconfig');
    expect(e.detail).toMatch(/stratum-bogus/);
    expect(() => fsconfig(fs, 'nope' as 'flag', 'x')).toThrow(TypeError);
    // fsmount before the superblock exists.
    const m = await rejects(() => fsmount(fs));
    expect(m.code).toBe('EINVAL');
    expect(m.syscall).toBe('fsmount');
    const n = await rejects(() => fsopen('stratum-nofs'));
    expect(n.code).toBe('ENODEV');
  });

  it('openTree clones a tree as a detached bind mount', async (ctx) => {
    guard(ctx, 'root');
    const src = join(dir, 'src');
    const t = join(dir, 't');
    mkdirSync(src);
    mkdirSync(t);
    writeFileSync(join(src, 'f'), 'tree');
    {
      using tree = openTree(AT.FDCWD, src, OPEN_TREE.CLONE | AT.RECURSIVE);
      moveMount(tree, '', AT.FDCWD, t, MOVE_MOUNT.F_EMPTY_PATH);
      mounted.push(t);
    }
    expect(readFileSync(join(t, 'f'), 'utf8')).toBe('tree');
    umount2(t);
    mounted.pop();
    {
      using tree = openTree(AT.FDCWD, src, OPEN_TREE.CLONE);
      const mv = await rejects(() => moveMount(tree, '', AT.FDCWD, join(dir, 'missing'), MOVE_MOUNT.F_EMPTY_PATH));
      expect(mv.code).toBe('ENOENT');
      expect(mv.syscall).toBe('move_mount');
    }
    const e = await rejects(() => openTree(AT.FDCWD, join(dir, 'missing'), OPEN_TREE.CLONE));
    expect(e.code).toBe('ENOENT');
    expect(e.syscall).toBe('open_tree');
  });

  it('mountSetattr makes an idmapped mount from a user namespace fd', async (ctx) => {
    guard(ctx, 'root', 'userns');
    // A throwaway user namespace mapping inner 0..65535 to host 100000..165535, held by a sleep.
    // unshare(1) creates the namespace and execs sleep; we (root outside) write its maps.
    const holder = spawn('unshare', ['--user', 'sleep', '60'], { stdio: 'ignore' });
    try {
      await once(holder, 'spawn');
      const pid = holder.pid!;
      const own = readlinkSync('/proc/self/ns/user');
      for (let i = 0; i < 500 && readlinkSync(`/proc/${pid}/ns/user`) === own; i++) await sleep(10);
      writeFileSync(`/proc/${pid}/uid_map`, '0 100000 65536\n');
      writeFileSync(`/proc/${pid}/gid_map`, '0 100000 65536\n');
      using userns = openat(AT.FDCWD, `/proc/${pid}/ns/user`, O.RDONLY);
      const src = join(dir, 'src');
      const t = join(dir, 't');
      mkdirSync(src);
      mkdirSync(t);
      writeFileSync(join(src, 'root-owned'), '');
      writeFileSync(join(src, 'unmapped'), '');
      chownSync(join(src, 'unmapped'), 200000, 200000);
      const attached = await rejects(() => mountSetattr(AT.FDCWD, src, 0, { attrSet: MOUNT_ATTR.IDMAP, userns }));
      expect(attached.code).toBe('EINVAL');
      expect(() => mountSetattr(AT.FDCWD, src, 0, { attrSet: MOUNT_ATTR.IDMAP })).toThrow(TypeError);
      {
        using tree = openTree(AT.FDCWD, src, OPEN_TREE.CLONE);
        mountSetattr(tree, '', AT.EMPTY_PATH, { attrSet: MOUNT_ATTR.IDMAP, userns });
        moveMount(tree, '', AT.FDCWD, t, MOVE_MOUNT.F_EMPTY_PATH);
        mounted.push(t);
      }
      // On-disk 0 shows as host 100000 through the mount; an id outside the map as overflow.
      expect(statSync(join(t, 'root-owned'))).toMatchObject({ uid: 100000, gid: 100000 });
      expect(statSync(join(t, 'unmapped')).uid).toBe(65534);
      expect(statSync(join(src, 'root-owned')).uid).toBe(0);
      umount2(t);
      mounted.pop();
    } finally {
      holder.kill('SIGKILL');
      if (holder.exitCode === null && holder.signalCode === null) await once(holder, 'exit');
    }
  });

  it('mountFs mounts an overlay with several lowerdir+ in order', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    expect(features().overlayLowerdirPlus).toBe(true);
    const lowers = ['l1', 'l2', 'l3'].map((l) => join(dir, l));
    for (const [i, l] of lowers.entries()) {
      mkdirSync(l);
      writeFileSync(join(l, 'shared'), `from ${i + 1}`);
      writeFileSync(join(l, `only${i + 1}`), '');
    }
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    const t = join(dir, 'merged');
    for (const d of [upper, work, t]) mkdirSync(d);
    mountFs({
      fstype: 'overlay',
      source: 'stratum-overlay',
      options: [...lowers.map((l): [string, string] => ['lowerdir+', l]), ['upperdir', upper], ['workdir', work], ['index', 'off']],
      target: t,
      attrs: MOUNT_ATTR.NODEV,
    });
    mounted.push(t);
    expect(mountsAt(t)[0]).toContain(' - overlay stratum-overlay ');
    expect(readFileSync(join(t, 'shared'), 'utf8')).toBe('from 1');
    expect(readdirSync(t).sort()).toEqual(['only1', 'only2', 'only3', 'shared']);
    writeFileSync(join(t, 'new'), 'up');
    expect(readFileSync(join(upper, 'new'), 'utf8')).toBe('up');
    umount2(t);
    mounted.pop();
    expect(mountsAt(t)).toEqual([]);
  });

  it('mountFs follows a symlinked target only with MOVE_MOUNT.T_SYMLINKS', async (ctx) => {
    guard(ctx, 'root');
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'link'));
    const e = await rejects(() => mountFs({ fstype: 'tmpfs', source: 'stratum-tmpfs', target: join(dir, 'link') }));
    expect(e.syscall).toBe('move_mount');
    expect(mountsAt(real)).toEqual([]);
    mountFs({ fstype: 'tmpfs', source: 'stratum-tmpfs', options: [['size', '1m']], target: join(dir, 'link'), flags: MOVE_MOUNT.T_SYMLINKS });
    mounted.push(real);
    expect(mountsAt(real)[0]).toContain(' - tmpfs stratum-tmpfs ');
    umount2(real);
    mounted.pop();
    expect(() => mountFs({ fstype: 'tmpfs', target: real, flags: MOVE_MOUNT.F_EMPTY_PATH })).toThrow(TypeError);
  });

  it('mountFs failures name the option and carry the kernel log', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const t = join(dir, 'merged');
    mkdirSync(t);
    mkdirSync(join(dir, 'l1'));
    const missing = join(dir, 'stratum-no-such-lower');
    const e = await rejects(() => mountFs({ fstype: 'overlay', source: 'stratum-bad', options: [['lowerdir+', join(dir, 'l1')], ['lowerdir+', missing]], target: t }));
    expect(e.code).toBe('ENOENT');
    expect(e.syscall).toBe('fsconfig');
    expect(e.path).toBe(t);
    expect(e.detail).toBe(`option lowerdir+=${missing}`);
    // The kernel's own words from the fs-context log:
    const u = await rejects(() => mountFs({ fstype: 'overlay', options: [['lowerdir+', join(dir, 'l1')], ['stratum-unknown']], target: t }));
    expect(u.code).toBe('EINVAL');
    expect(u.detail).toBe("option stratum-unknown: overlay: Unknown parameter 'stratum-unknown'");
    expect(u.message).toContain(u.detail!);
    const mix = await rejects(() => mountFs({ fstype: 'overlay', options: [['lowerdir', join(dir, 'l1')], ['lowerdir+', join(dir, 'l1')]], target: t }));
    expect(mix.detail).toMatch(/overlay: lowerdir\+ and datadir\+ cannot follow lowerdir$/);
    // Parameters accepted one by one can still be refused together at create time.
    const c = await rejects(() => mountFs({ fstype: 'overlay', options: [['upperdir', join(dir, 'l1')]], target: t }));
    expect(c.code).toBe('EINVAL');
    expect(c.detail).toMatch(/^create overlay: /);
    expect(mountsAt(t)).toEqual([]);
    expect(() => mountFs({ fstype: 'overlay', options: [['a', 'b', 'c']] as unknown as [string][], target: t })).toThrow(TypeError);
    expect(() => mountFs({ fstype: 'overlay', options: [[1]] as unknown as [string][], target: t })).toThrow(TypeError);
  });
});

describe('pivotRoot', () => {
  it('pivots a child in a private mount namespace (never this process)', (ctx) => {
    guard(ctx, 'root', 'mount-ns');
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', process.execPath, '--import', tsx, fixture('pivot.ts'), dir], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { notMount: string; rootEntries: string[]; marker: string; oldGone: boolean };
    expect(out.notMount).toBe('ENOENT');
    expect(out.rootEntries).toEqual(['marker', 'old']);
    expect(out.marker).toBe('new root');
    expect(out.oldGone).toBe(true);
    // The host's root is untouched.
    expect(readdirSync('/')).toContain('proc');
  });
});
