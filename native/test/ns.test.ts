import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { AT, CLONE, ErrnoError, O, initHelperPath, openat, pidfdOpen, pidfdSendSignal, setns, sethostname, unshare } from '../src/index.js';

useLeakCheck({ beforeEach, afterEach });

const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function errnoOf(fn: () => unknown): ErrnoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ErrnoError);
    return e as ErrnoError;
  }
  throw new Error('expected an ErrnoError');
}

describe('namespaces from the multithreaded Node process', () => {
  it('the kernel refuses unshare(CLONE_NEWUSER) with EINVAL', () => {
    const e = errnoOf(() => unshare(CLONE.NEWUSER));
    expect(e.code).toBe('EINVAL');
    expect(e.syscall).toBe('unshare');
  });

  it('the kernel refuses joining a mount or user namespace with EINVAL', (ctx) => {
    guard(ctx, 'root');
    using mnt = openat(AT.FDCWD, '/proc/self/ns/mnt', O.RDONLY);
    expect(errnoOf(() => setns(mnt, CLONE.NEWNS)).code).toBe('EINVAL');
    using user = openat(AT.FDCWD, '/proc/self/ns/user', O.RDONLY);
    expect(errnoOf(() => setns(user, CLONE.NEWUSER)).code).toBe('EINVAL');
    // A namespace fd of the wrong kind for nstype.
    using uts = openat(AT.FDCWD, '/proc/self/ns/uts', O.RDONLY);
    expect(errnoOf(() => setns(uts, CLONE.NEWNET)).code).toBe('EINVAL');
  });

  it('validates flags before the syscall', () => {
    expect(() => unshare(0x100 /* CLONE_VM */)).toThrow(TypeError);
    expect(() => setns(-7, CLONE.NEWNET)).toThrow(TypeError);
    expect(() => sethostname('x'.repeat(65))).toThrow(TypeError);
  });

  it('unshare(NEWUTS) + sethostname, and setns back, in a child process', (ctx) => {
    guard(ctx, 'root');
    const before = hostname();
    const r = spawnSync(process.execPath, ['--import', tsx, fixture('uts.ts')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, string>;
    expect(out.inNs).toBe('stratum-uts-test');
    expect(out.back).toBe(before);
    expect(out.netLinks).toBe('lo');
    expect(hostname()).toBe(before);
  });

  it('sethostname without privileges or namespace fails with EPERM', (ctx) => {
    guard(ctx, 'root', 'tool:setpriv');
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', tsx, fixture('uts.ts'), 'unprivileged'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ unprivileged: 'EPERM' });
  });
});

describe('pidfd', () => {
  it('signals the process it names and reports ESRCH after it is gone', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    using fd = pidfdOpen(child.pid!);
    const exited = once(child, 'exit');
    pidfdSendSignal(fd, 'SIGTERM');
    const [code, signal] = await exited;
    expect(code).toBeNull();
    expect(signal).toBe('SIGTERM');
    const e = errnoOf(() => pidfdSendSignal(fd, 0));
    expect(e.code).toBe('ESRCH');
    expect(e.syscall).toBe('pidfd_send_signal');
    expect(() => pidfdSendSignal(fd, 'SIGNOPE' as NodeJS.Signals)).toThrow(TypeError);
  });

  it('pidfdOpen fails for a pid that does not exist', () => {
    const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const e = errnoOf(() => pidfdOpen(max + 1));
    expect(['ESRCH', 'EINVAL']).toContain(e.code);
    expect(e.code).toBe('ESRCH');
    expect(() => pidfdOpen(0)).toThrow(TypeError);
  });
});

describe('init helper', () => {
  it('is built beside the addon and runs', () => {
    const p = initHelperPath();
    expect(p).toMatch(/\/build\/(Release|Debug)\/stratum-init$/);
    const r = spawnSync(p, ['--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^stratum-init \d+\.\d+\.\d+/);
  });
});
