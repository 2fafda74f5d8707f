import { mkdtempSync, readFileSync, rmSync, writeFileSync, readlinkSync, statSync, lstatSync, existsSync, closeSync, openSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import {
  AT, ErrnoError, Fd, O, RENAME, S, fchmod, fchmodat, fchown, fchownat, fdPath, fileType, flock, fstat, fstatat, fsyncDir,
  linkat, mkdirat, mknodat, openat, readlinkat, renameat2, symlinkat, unlinkat, utimensat,
} from '../src/index.js';

useLeakCheck({ beforeEach, afterEach });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stratum-native-fs-'));
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

describe('Fd', () => {
  it('closes once, refuses use after close with EBADF, works with using', () => {
    let n: number;
    {
      using fd = openat(AT.FDCWD, dir, O.RDONLY | O.DIRECTORY);
      n = fd.fd;
      expect(fd.closed).toBe(false);
      expect(fdPath(fd)).toBe(dir);
    }
    expect(existsSync(`/proc/self/fd/${n}`) && readlinkSync(`/proc/self/fd/${n}`) === dir).toBe(false);
    const fd = openat(AT.FDCWD, dir, O.PATH);
    fd.close();
    fd.close();
    expect(fd.closed).toBe(true);
    const e = errnoOf(() => fstat(fd));
    expect(e.code).toBe('EBADF');
    expect(() => new Fd(-1)).toThrow(TypeError);
  });

  it('opens every descriptor close-on-exec', () => {
    using fd = openat(AT.FDCWD, dir, O.PATH);
    const flags = readFileSync(`/proc/self/fdinfo/${fd.fd}`, 'utf8').match(/flags:\s+(\d+)/)![1]!;
    expect(parseInt(flags, 8) & O.CLOEXEC).toBe(O.CLOEXEC);
  });
});

describe('openat', () => {
  it('creates and reads a file relative to a dirfd', () => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    using f = openat(d, 'a.txt', O.CREAT | O.EXCL | O.WRONLY, 0o640);
    writeFileSync(f.fd, 'hello');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('hello');
    expect(statSync(join(dir, 'a.txt')).mode & 0o777).toBe(0o640 & ~process.umask());
    const e = errnoOf(() => openat(d, 'a.txt', O.CREAT | O.EXCL | O.WRONLY));
    expect(e.code).toBe('EEXIST');
    expect(e.syscall).toBe('openat');
    expect(e.path).toBe('a.txt');
  });

  it('refuses a trailing symlink with O_NOFOLLOW and bad arguments with TypeError', () => {
    symlinkat('/etc/passwd', AT.FDCWD, join(dir, 'l'));
    expect(errnoOf(() => openat(AT.FDCWD, join(dir, 'l'), O.RDONLY | O.NOFOLLOW)).code).toBe('ELOOP');
    expect(() => openat(AT.FDCWD, 3 as unknown as string)).toThrow(TypeError);
    expect(() => openat(-5, 'x')).toThrow(TypeError);
    expect(() => openat(AT.FDCWD, 'a\0b')).toThrow(TypeError);
  });
});

describe('*at family', () => {
  it('mkdirat / unlinkat', () => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    mkdirat(d, 'sub', 0o750);
    expect(statSync(join(dir, 'sub')).isDirectory()).toBe(true);
    expect(errnoOf(() => mkdirat(d, 'sub')).code).toBe('EEXIST');
    expect(errnoOf(() => unlinkat(d, 'sub')).code).toBe('EISDIR');
    unlinkat(d, 'sub', AT.REMOVEDIR);
    expect(existsSync(join(dir, 'sub'))).toBe(false);
    expect(errnoOf(() => unlinkat(d, 'sub', AT.REMOVEDIR)).code).toBe('ENOENT');
  });

  it('symlinkat / readlinkat, including the O_PATH symlink itself', () => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    symlinkat('../../etc', d, 'up');
    expect(readlinkat(d, 'up')).toBe('../../etc');
    using l = openat(d, 'up', O.PATH | O.NOFOLLOW);
    expect(readlinkat(l, '')).toBe('../../etc');
    expect(errnoOf(() => symlinkat('x', d, 'up')).code).toBe('EEXIST');
    writeFileSync(join(dir, 'f'), '');
    expect(errnoOf(() => readlinkat(d, 'f')).code).toBe('EINVAL');
  });

  it('linkat makes a hard link and fails across a missing source', () => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    writeFileSync(join(dir, 'f'), 'x');
    linkat(d, 'f', d, 'g');
    expect(statSync(join(dir, 'f')).nlink).toBe(2);
    expect(fstatat(d, 'g').ino).toBe(fstatat(d, 'f').ino);
    const e = errnoOf(() => linkat(d, 'missing', d, 'h'));
    expect(e.code).toBe('ENOENT');
    expect(e.path).toBe('missing');
    expect(e.dest).toBe('h');
  });

  it('mknodat makes a FIFO and, as root, a char device', (ctx) => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    mknodat(d, 'fifo', S.IFIFO | 0o600);
    expect(fileType(fstatat(d, 'fifo').mode)).toBe('fifo');
    expect(errnoOf(() => mknodat(d, 'fifo', S.IFIFO | 0o600)).code).toBe('EEXIST');
    guard(ctx, 'root');
    mknodat(d, 'null', S.IFCHR | 0o666, 1, 3);
    const st = fstatat(d, 'null');
    expect(fileType(st.mode)).toBe('char');
    expect([st.rdevMajor, st.rdevMinor]).toEqual([1, 3]);
    expect(lstatSync(join(dir, 'null')).rdev).toBe(st.rdev);
  });

  it('renameat2 with NOREPLACE, EXCHANGE and WHITEOUT', (ctx) => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    writeFileSync(join(dir, 'a'), 'A');
    writeFileSync(join(dir, 'b'), 'B');
    expect(errnoOf(() => renameat2(d, 'a', d, 'b', RENAME.NOREPLACE)).code).toBe('EEXIST');
    renameat2(d, 'a', d, 'b', RENAME.EXCHANGE);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('B');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('A');
    renameat2(d, 'a', d, 'c');
    expect(existsSync(join(dir, 'a'))).toBe(false);
    guard(ctx, 'root');
    renameat2(d, 'c', d, 'd', RENAME.WHITEOUT);
    const wh = fstatat(d, 'c', AT.SYMLINK_NOFOLLOW);
    expect(fileType(wh.mode)).toBe('char');
    expect([wh.rdevMajor, wh.rdevMinor]).toEqual([0, 0]);
  });

  it('fchownat / fchown change ownership; an unknown entry fails', (ctx) => {
    guard(ctx, 'root');
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    writeFileSync(join(dir, 'f'), '');
    symlinkat('f', d, 'l');
    fchownat(d, 'l', 1234, 5678, AT.SYMLINK_NOFOLLOW);
    expect(lstatSync(join(dir, 'l'))).toMatchObject({ uid: 1234, gid: 5678 });
    expect(statSync(join(dir, 'f')).uid).toBe(0);
    using f = openat(d, 'f', O.RDONLY);
    fchown(f, 42, -1);
    expect(statSync(join(dir, 'f'))).toMatchObject({ uid: 42, gid: 0 });
    expect(errnoOf(() => fchownat(d, 'nope', 1, 1)).code).toBe('ENOENT');
    using p = openat(d, 'f', O.PATH);
    expect(errnoOf(() => fchown(p, 1, 1)).code).toBe('EBADF');
  });

  it('fchmod / fchmodat, with NOFOLLOW refusing a symlink', () => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    writeFileSync(join(dir, 'f'), '');
    using f = openat(d, 'f', O.RDONLY);
    fchmod(f, 0o4755);
    expect(statSync(join(dir, 'f')).mode & 0o7777).toBe(0o4755);
    fchmodat(d, 'f', 0o600);
    expect(statSync(join(dir, 'f')).mode & 0o7777).toBe(0o600);
    fchmodat(d, 'f', 0o640, AT.SYMLINK_NOFOLLOW);
    expect(statSync(join(dir, 'f')).mode & 0o7777).toBe(0o640);
    symlinkat('f', d, 'l');
    expect(errnoOf(() => fchmodat(d, 'l', 0o777, AT.SYMLINK_NOFOLLOW)).code).toBe('EOPNOTSUPP');
    expect(statSync(join(dir, 'f')).mode & 0o7777).toBe(0o640);
    using p = openat(d, 'f', O.PATH);
    expect(errnoOf(() => fchmod(p, 0o600)).code).toBe('EBADF');
    expect(() => fchmod(f, -1)).toThrow(TypeError);
  });

  it('utimensat sets nanosecond times from {sec,nsec} and bigint, on a symlink too', () => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    writeFileSync(join(dir, 'f'), '');
    utimensat(d, 'f', { sec: 1_000_000_000, nsec: 123_456_789 }, 1_600_000_000_987_654_321n);
    const st = fstatat(d, 'f');
    expect(st.atimeNs).toBe(1_000_000_000_123_456_789n);
    expect(st.mtimeNs).toBe(1_600_000_000_987_654_321n);
    symlinkat('f', d, 'l');
    utimensat(d, 'l', 'omit', { sec: 5, nsec: 6 }, AT.SYMLINK_NOFOLLOW);
    expect(fstatat(d, 'l', AT.SYMLINK_NOFOLLOW).mtimeNs).toBe(5_000_000_006n);
    expect(fstatat(d, 'f').mtimeNs).toBe(1_600_000_000_987_654_321n);
    using f = openat(d, 'f', O.RDONLY);
    utimensat(f, '', 'omit', -1n);
    expect(fstat(f).mtimeNs).toBe(-1n);
    expect(errnoOf(() => utimensat(d, 'missing', 'now', 'now')).code).toBe('ENOENT');
    expect(() => utimensat(d, 'f', { sec: 1, nsec: 2e9 }, 'now')).toThrow(TypeError);
  });

  it('fstatat / fstat agree with the kernel, and fail on missing entries', () => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    writeFileSync(join(dir, 'f'), 'abc');
    symlinkat('f', d, 'l');
    const st = fstatat(d, 'f');
    const node = statSync(join(dir, 'f'), { bigint: true });
    expect(st.ino).toBe(node.ino);
    expect(st.dev).toBe(Number(node.dev));
    expect(st.size).toBe(3);
    expect(st.mtimeNs).toBe(node.mtimeNs);
    expect(typeof st.mntId).toBe('number');
    expect(fileType(fstatat(d, 'l', AT.SYMLINK_NOFOLLOW).mode)).toBe('symlink');
    expect(fileType(fstatat(d, 'l').mode)).toBe('file');
    expect(fileType(fstat(d).mode)).toBe('directory');
    const bad = errnoOf(() => fstat(987654));
    expect(bad.code).toBe('EBADF');
    expect(bad.syscall).toBe('fstat');
    const e = errnoOf(() => fstatat(d, 'nope'));
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(2);
    expect(e.path).toBe('nope');
  });

  it('fdPath names what an fd points at', () => {
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    expect(fdPath(d)).toBe(dir);
    expect(errnoOf(() => fdPath(987654)).code).toBe('ENOENT');
  });

  it('fsyncDir flushes a directory and fails on a missing one', async () => {
    await fsyncDir(dir);
    using d = openat(AT.FDCWD, dir, O.RDONLY | O.DIRECTORY);
    await fsyncDir(d);
    await expect(fsyncDir(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('flock', () => {
  it('excludes a second open file description and waits off the event loop', async () => {
    writeFileSync(join(dir, 'lock'), '');
    using a = openat(AT.FDCWD, join(dir, 'lock'), O.RDONLY);
    using b = openat(AT.FDCWD, join(dir, 'lock'), O.RDONLY);
    await flock(a, 'ex');
    const busy = await flock(b, 'ex', { wait: false }).then(() => null, (e: unknown) => e);
    expect(busy).toBeInstanceOf(ErrnoError);
    expect((busy as ErrnoError).code).toBe('EAGAIN');
    expect((busy as ErrnoError).syscall).toBe('flock');
    let granted = false;
    const waiting = flock(b, 'ex').then(() => {
      granted = true;
    });
    // The event loop keeps running while b waits on a pool thread.
    await new Promise((r) => setTimeout(r, 100));
    expect(granted).toBe(false);
    await flock(a, 'un');
    await waiting;
    expect(granted).toBe(true);
    await flock(b, 'un');
    await flock(a, 'sh');
    await flock(b, 'sh', { wait: false });
    expect(() => flock(a, 'bad' as 'ex')).toThrow(TypeError);
    using p = openat(AT.FDCWD, join(dir, 'lock'), O.PATH);
    await expect(flock(p, 'ex')).rejects.toMatchObject({ code: 'EBADF' });
  });
});

describe('raw fd interop', () => {
  it('an Fd is usable with node:fs by number', () => {
    writeFileSync(join(dir, 'f'), 'data');
    using f = openat(AT.FDCWD, join(dir, 'f'), O.RDONLY);
    const buf = Buffer.alloc(4);
    expect(readSync(f.fd, buf)).toBe(4);
    expect(buf.toString()).toBe('data');
    const raw = openSync(join(dir, 'f'), 'r');
    expect(fstat(raw).ino).toBe(fstat(f).ino);
    closeSync(raw);
  });
});
