import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { AT, ErrnoError, MNT, O, openat, mountAt, umount2 } from '../src/index.js';

useLeakCheck({ beforeEach, afterEach });

let dir: string;
const mounted: string[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stratum-native-mountat-'));
});
afterEach(() => {
  for (const m of mounted.splice(0).reverse()) {
    try {
      umount2(m, MNT.DETACH);
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const mountsAt = (target: string): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === target);

describe('mountAt', () => {
  it('resolves relative overlay lowerdirs against a directory fd, leaving the cwd alone', (ctx) => {
    guard(ctx, 'root', 'overlay');
    // Docker overlay2's short links: l/A -> ../layers/0 …, mounted as lowerdir=l/A:l/B.
    mkdirSync(join(dir, 'l'));
    for (const i of [0, 1]) {
      mkdirSync(join(dir, 'layers', String(i)), { recursive: true });
      writeFileSync(join(dir, 'layers', String(i), `f${i}`), `layer ${i}`);
      symlinkSync(`../layers/${i}`, join(dir, 'l', `L${i}`));
    }
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(dir, d));
    const cwd = process.cwd();
    using fd = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    mountAt(fd, { source: 'stratum-mountat', target: 'merged', fstype: 'overlay', data: 'lowerdir=l/L1:l/L0,upperdir=upper,workdir=work' });
    mounted.push(join(dir, 'merged'));
    expect(process.cwd()).toBe(cwd);
    expect(mountsAt(join(dir, 'merged'))[0]).toContain(' - overlay stratum-mountat ');
    expect(readdirSync(join(dir, 'merged')).sort()).toEqual(['f0', 'f1']);
    expect(readFileSync(join(dir, 'merged', 'f1'), 'utf8')).toBe('layer 1');
    umount2(join(dir, 'merged'));
    mounted.pop();
  });

  it('fails with typed errors', (ctx) => {
    expect(() => mountAt(-5, { target: 'x' })).toThrow();
    expect(() => mountAt(AT.FDCWD, { target: '' })).toThrow(TypeError);
    guard(ctx, 'root');
    writeFileSync(join(dir, 'file'), '');
    using file = openat(AT.FDCWD, join(dir, 'file'), O.RDONLY);
    let e: unknown;
    try {
      mountAt(file, { source: 'stratum-x', target: 't', fstype: 'tmpfs' });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(ErrnoError);
    expect((e as ErrnoError).code).toBe('ENOTDIR');
    expect((e as ErrnoError).syscall).toBe('fchdir');
    using d = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
    try {
      mountAt(d, { source: 'stratum-x', target: 'missing', fstype: 'tmpfs' });
      e = undefined;
    } catch (err) {
      e = err;
    }
    expect((e as ErrnoError).code).toBe('ENOENT');
    expect((e as ErrnoError).syscall).toBe('mount');
    expect((e as ErrnoError).path).toBe('missing');
  });
});
