import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import {
  AT, ErrnoError, O, XATTR, fgetxattr, flistxattr, fremovexattr, fsetxattr, lgetxattr, llistxattr, lremovexattr, lsetxattr, openat,
} from '../src/index.js';

useLeakCheck({ beforeEach, afterEach });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stratum-native-xattr-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function errnoOf(fn: () => unknown): ErrnoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErrnoError);
    return e as ErrnoError;
  }
  throw new Error('expected an ErrnoError');
}

describe('xattrs on paths (no follow)', () => {
  it('sets, reads, lists and removes binary values', () => {
    const f = join(dir, 'f');
    writeFileSync(f, '');
    const bytes = Buffer.from([0, 1, 2, 255, 0]);
    lsetxattr(f, 'user.stratum.bin', bytes);
    lsetxattr(f, 'user.stratum.str', 'text');
    lsetxattr(f, 'user.stratum.big', Buffer.alloc(3000, 7));
    expect(lgetxattr(f, 'user.stratum.bin')).toEqual(bytes);
    expect(lgetxattr(f, 'user.stratum.str').toString()).toBe('text');
    expect(lgetxattr(f, 'user.stratum.big')).toEqual(Buffer.alloc(3000, 7));
    expect(llistxattr(f).filter((n) => n.startsWith('user.')).sort()).toEqual(['user.stratum.big', 'user.stratum.bin', 'user.stratum.str']);
    expect(errnoOf(() => lsetxattr(f, 'user.stratum.str', 'x', XATTR.CREATE)).code).toBe('EEXIST');
    expect(errnoOf(() => lsetxattr(f, 'user.stratum.nope', 'x', XATTR.REPLACE)).code).toBe('ENODATA');
    lremovexattr(f, 'user.stratum.str');
    const e = errnoOf(() => lgetxattr(f, 'user.stratum.str'));
    expect(e.code).toBe('ENODATA');
    expect(e.syscall).toBe('lgetxattr');
    expect(e.path).toBe(f);
    expect(errnoOf(() => lremovexattr(f, 'user.stratum.str')).code).toBe('ENODATA');
    expect(errnoOf(() => llistxattr(join(dir, 'missing'))).code).toBe('ENOENT');
    expect(() => lsetxattr(f, 'user.x', 5 as unknown as string)).toThrow(TypeError);
  });

  it('acts on the symlink itself, not its target', (ctx) => {
    const f = join(dir, 'f');
    writeFileSync(f, '');
    symlinkSync('f', join(dir, 'l'));
    // user.* is not allowed on symlinks: the kernel says EPERM rather than following.
    expect(errnoOf(() => lsetxattr(join(dir, 'l'), 'user.stratum', 'x')).code).toBe('EPERM');
    guard(ctx, 'root');
    lsetxattr(join(dir, 'l'), 'trusted.stratum.link', 'on-link');
    expect(lgetxattr(join(dir, 'l'), 'trusted.stratum.link').toString()).toBe('on-link');
    expect(errnoOf(() => lgetxattr(f, 'trusted.stratum.link')).code).toBe('ENODATA');
    // The overlay whiteout/opaque markers layer code writes.
    lsetxattr(f, 'trusted.overlay.opaque', 'y');
    expect(llistxattr(f)).toContain('trusted.overlay.opaque');
  });
});

describe('xattrs on fds', () => {
  it('sets, reads, lists and removes; O_PATH fds are refused', () => {
    writeFileSync(join(dir, 'f'), '');
    using fd = openat(AT.FDCWD, join(dir, 'f'), O.RDONLY);
    fsetxattr(fd, 'user.stratum.a', Buffer.from('1'));
    fsetxattr(fd, 'user.stratum.b', new Uint8Array([2]));
    expect(fgetxattr(fd, 'user.stratum.a').toString()).toBe('1');
    expect([...fgetxattr(fd, 'user.stratum.b')]).toEqual([2]);
    expect(flistxattr(fd).filter((n) => n.startsWith('user.')).sort()).toEqual(['user.stratum.a', 'user.stratum.b']);
    fremovexattr(fd, 'user.stratum.a');
    const e = errnoOf(() => fgetxattr(fd, 'user.stratum.a'));
    expect(e.code).toBe('ENODATA');
    expect(e.syscall).toBe('fgetxattr');
    expect(errnoOf(() => fremovexattr(fd, 'user.stratum.a')).code).toBe('ENODATA');
    expect(errnoOf(() => fsetxattr(fd, 'user.stratum.b', 'x', XATTR.CREATE)).code).toBe('EEXIST');
    using p = openat(AT.FDCWD, join(dir, 'f'), O.PATH);
    expect(errnoOf(() => fgetxattr(p, 'user.stratum.b')).code).toBe('EBADF');
    expect(errnoOf(() => flistxattr(987654)).code).toBe('EBADF');
  });
});
