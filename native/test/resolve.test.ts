import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, sandboxArgs, useLeakCheck } from '@stratum/testing';
import { AT, ErrnoError, MNT, O, RESOLVE, fdPath, features, fstat, mount, openat, openat2, resolveInRoot, umount2 } from '../src/index.js';

useLeakCheck({ beforeEach, afterEach });

let base: string;
let root: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'stratum-native-resolve-'));
  root = join(base, 'root');
  // root/etc/marker, root/a/b/up -> ../../../../etc (climbs past the root), root/abs -> /etc,
  // root/loop -> loop, base/outside (a canary next to the root).
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  writeFileSync(join(root, 'etc', 'marker'), 'inside');
  mkdirSync(join(base, 'etc'));
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(base, 'etc', 'marker'), 'outside');
  symlinkSync('../../../../etc', join(root, 'a', 'b', 'up'));
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('loop', join(root, 'loop'));
  symlinkSync('/proc/self/root', join(root, 'magic'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function errnoOf(fn: () => unknown): ErrnoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErrnoError);
    return e as ErrnoError;
  }
  throw new Error('expected an ErrnoError');
}

describe('openat2', () => {
  it('resolves with RESOLVE_IN_ROOT and refuses with RESOLVE_BENEATH', () => {
    using r = openat(AT.FDCWD, root, O.PATH | O.DIRECTORY);
    using fd = openat2(r, 'a/b/up/marker', { flags: O.RDONLY, resolve: RESOLVE.IN_ROOT });
    expect(fdPath(fd)).toBe(join(root, 'etc', 'marker'));
    const e = errnoOf(() => openat2(r, 'a/b/up/marker', { resolve: RESOLVE.BENEATH }));
    expect(e.code).toBe('EXDEV');
    expect(e.syscall).toBe('openat2');
    expect(errnoOf(() => openat2(r, 'abs', { flags: O.PATH, resolve: RESOLVE.NO_SYMLINKS })).code).toBe('ELOOP');
    expect(() => openat2(r, 'x', { resolve: -1 })).toThrow(TypeError);
  });
});

for (const fallback of [false, true]) {
  describe(`resolveInRoot (${fallback ? 'userspace fallback' : 'openat2'})`, () => {
    const open = (p: string, o: Parameters<typeof resolveInRoot>[2] = {}) => resolveInRoot(root, p, { ...o, fallback });

    it('keeps a relative symlink that climbs past the root inside it', () => {
      using fd = open('a/b/up/marker');
      expect(fdPath(fd)).toBe(join(root, 'etc', 'marker'));
    });

    it('resolves an absolute symlink and an absolute path against the root', () => {
      using a = open('abs/marker', { flags: O.RDONLY });
      expect(fdPath(a)).toBe(join(root, 'etc', 'marker'));
      using b = open('/etc/marker');
      expect(fdPath(b)).toBe(join(root, 'etc', 'marker'));
    });

    it('clamps .. at the root', () => {
      using a = open('../../../../etc/marker');
      expect(fdPath(a)).toBe(join(root, 'etc', 'marker'));
      using b = open('a/../../..');
      expect(fdPath(b)).toBe(root);
      using c = open('');
      expect(fdPath(c)).toBe(root);
    });

    it('accepts an Fd root and keeps it open', () => {
      using r = openat(AT.FDCWD, root, O.PATH | O.DIRECTORY);
      using fd = resolveInRoot(r, 'abs/marker', { fallback });
      expect(fdPath(fd)).toBe(join(root, 'etc', 'marker'));
      expect(r.closed).toBe(false);
    });

    it('refuses /proc magic links with ELOOP', () => {
      expect(errnoOf(() => resolveInRoot('/proc', 'self/root', { fallback })).code).toBe('ELOOP');
      expect(errnoOf(() => resolveInRoot('/proc', 'self/fd/0', { fallback })).code).toBe('ELOOP');
      expect(errnoOf(() => resolveInRoot('/', 'proc/self/exe', { fallback })).code).toBe('ELOOP');
      // The plain symlink /proc/self is followed.
      using st = resolveInRoot('/proc', 'self/status', { fallback });
      expect(fdPath(st)).toBe(`/proc/${process.pid}/status`);
      // A symlink inside the root TO /proc/... is just text resolved in the root.
      expect(errnoOf(() => open('magic')).code).toBe('ENOENT');
    });

    it('reports missing entries, loops and non-directories', () => {
      const e = errnoOf(() => open('a/missing/x'));
      expect(e.code).toBe('ENOENT');
      expect(e.path).toBe('a/missing/x');
      expect(errnoOf(() => open('loop/x')).code).toBe('ELOOP');
      expect(errnoOf(() => open('etc/marker/x')).code).toBe('ENOTDIR');
      expect(errnoOf(() => open('abs', { resolve: RESOLVE.NO_SYMLINKS })).code).toBe('ELOOP');
    });

    it('opens the final symlink itself with O_PATH|O_NOFOLLOW', () => {
      using fd = open('abs', { flags: O.PATH | O.NOFOLLOW });
      expect((fstat(fd).mode & 0o170000) === 0o120000).toBe(true);
    });

    it('refuses O_CREAT|O_EXCL on an existing entry (creation through hostile links is tested in bwrap)', () => {
      expect(errnoOf(() => open('etc/marker', { flags: O.CREAT | O.EXCL | O.WRONLY })).code).toBe('EEXIST');
      expect(errnoOf(() => open('abs', { flags: O.CREAT | O.EXCL | O.WRONLY })).code).toBe('EEXIST');
      expect(errnoOf(() => open('a/', { flags: O.CREAT | O.WRONLY })).code).toBe('EISDIR');
    });

    it('refuses to cross a mount with NO_XDEV', (ctx) => {
      guard(ctx, 'root');
      mkdirSync(join(root, 'mnt'));
      mount({ source: 'stratum-test', target: join(root, 'mnt'), fstype: 'tmpfs' });
      try {
        writeFileSync(join(root, 'mnt', 'f'), '');
        symlinkSync('/mnt/f', join(root, 'tomnt'));
        using ok = open('mnt/f');
        expect(fdPath(ok)).toBe(join(root, 'mnt', 'f'));
        expect(errnoOf(() => open('mnt/f', { resolve: RESOLVE.NO_XDEV })).code).toBe('EXDEV');
        expect(errnoOf(() => open('tomnt', { resolve: RESOLVE.NO_XDEV })).code).toBe('EXDEV');
        expect(errnoOf(() => open('mnt', { resolve: RESOLVE.NO_XDEV })).code).toBe('EXDEV');
        using same = open('etc/marker', { resolve: RESOLVE.NO_XDEV });
        expect(fdPath(same)).toBe(join(root, 'etc', 'marker'));
      } finally {
        umount2(join(root, 'mnt'), MNT.DETACH);
      }
    });
  });
}

describe('resolveInRoot on hostile trees (in bwrap)', () => {
  it('never creates outside the root, with openat2 or the fallback', (ctx) => {
    guard(ctx, 'tool:bwrap', 'mount-ns');
    // Escapes that would write to /etc and to a sibling directory if resolution leaked.
    symlinkSync('/etc/stratum-escape-canary', join(root, 'abs-new'));
    symlinkSync('../../outside/new', join(root, 'a', 'rel-new'));
    mkdirSync(join(base, 'outside'));
    writeFileSync(join(base, 'outside', 'keep'), 'canary');
    const child = fileURLToPath(new URL('./fixtures/resolve-create.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));
    const r = spawnSync(
      'bwrap',
      [...sandboxArgs([base]),
        process.execPath, '--import', tsx, child, root],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, string>;
    for (const mode of ['openat2', 'fallback']) {
      expect(got[`${mode}:abs-new`]).toBe(join(root, 'etc', 'stratum-escape-canary'));
      expect(got[`${mode}:a/rel-new`]).toBe(join(root, 'outside', 'new'));
    }
    expect(existsSync('/etc/stratum-escape-canary')).toBe(false);
    expect(readdirSync(join(base, 'outside'))).toEqual(['keep']);
  });
});

describe('features', () => {
  it('probes this kernel and caches the answer', () => {
    const f = features();
    expect(f).toBe(features());
    expect(f.kernelRelease).toMatch(/^\d+\.\d+/);
    // This host runs 6.18: every probed feature is present.
    expect(f.openat2).toBe(true);
    expect(f.mountApi).toBe(true);
    expect(f.idmappedMounts).toBe(true);
    expect(f.fchmodat2).toBe(true);
    expect(typeof f.userns).toBe('boolean');
  });

  it('reports lowerdir+ and userns as root', (ctx) => {
    guard(ctx, 'root', 'overlay', 'userns');
    expect(features().overlayLowerdirPlus).toBe(true);
    expect(features().userns).toBe(true);
  });
});
