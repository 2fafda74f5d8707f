import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { ErrnoError, canSpawnProcess, pidfdSendSignal, pipe, spawnProcess, socketpair, watchPidfd, type Fd, type PidfdExit, type Spawned } from '../src/index.js';

useLeakCheck({ beforeEach, afterEach });

function exitOf(s: Spawned): Promise<PidfdExit> {
  return new Promise((resolve) => watchPidfd(s.pidfd, resolve));
}

async function readAll(fd: Fd): Promise<string> {
  const sock = new Socket({ fd: fd.release(), readable: true, writable: false });
  let out = '';
  for await (const chunk of sock) out += String(chunk);
  return out;
}

/** The status line `name` of /proc/PID/status, e.g. SigIgn. */
function statusField(pid: number, name: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  return line!.slice(name.length + 1).trim();
}

describe('spawnProcess + watchPidfd', () => {
  it('the addon has them', () => {
    expect(canSpawnProcess()).toBe(true);
  });

  it('reports exit codes and signal deaths', async (ctx) => {
    guard(ctx, 'native');
    const a = spawnProcess({ path: '/bin/sh', argv: ['sh', '-c', 'exit 7'], fds: [] });
    expect(await exitOf(a)).toEqual({ code: 7, signal: null });
    a.pidfd.close();
    const b = spawnProcess({ path: '/bin/sh', argv: ['sh', '-c', 'kill -TERM $$'], fds: [] });
    expect(await exitOf(b)).toEqual({ code: null, signal: 'SIGTERM' });
    b.pidfd.close();
    const c = spawnProcess({ path: '/bin/sleep', argv: ['sleep', '100'], fds: [] });
    const done = exitOf(c);
    pidfdSendSignal(c.pidfd, 'SIGKILL');
    expect(await done).toEqual({ code: null, signal: 'SIGKILL' });
    // After the exit (and the reaping), the pidfd still names that process: ESRCH, never another one.
    let err: unknown;
    try {
      pidfdSendSignal(c.pidfd, 'SIGKILL');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrnoError);
    expect((err as ErrnoError).code).toBe('ESRCH');
    c.pidfd.close();
  });

  it('passes argv and exactly the environment given', async (ctx) => {
    guard(ctx, 'native');
    const [r, w] = pipe();
    const s = spawnProcess({ path: '/bin/sh', argv: ['sh', '-c', 'echo "$0|$1|$(env | sort | tr "\\n" " ")"', 'zero', 'one'], env: ['A=1', 'B=two words'], fds: [0, w] });
    w.close();
    const [out, st] = await Promise.all([readAll(r), exitOf(s)]);
    s.pidfd.close();
    expect(st).toEqual({ code: 0, signal: null });
    // sh adds PWD (and SHLVL) itself.
    expect(out).toMatch(/^zero\|one\|A=1 B=two words /);
    expect(out).not.toContain('PATH=');
  });

  it('the child gets exactly the descriptors given, default signal actions and an empty mask', async (ctx) => {
    guard(ctx, 'native');
    const devNull = openSync('/dev/null', 'r');
    const [r, w] = pipe();
    const [ours, theirs] = socketpair();
    // Node's own fds (stdio 1 and 2 without O_CLOEXEC, the event loop's epoll and eventfds) must not reach it.
    const s = spawnProcess({ path: '/bin/sleep', argv: ['sleep', '100'], fds: [devNull, w, w, theirs] });
    closeSync(devNull);
    w.close();
    theirs.close();
    const done = exitOf(s);
    try {
      const fds = readdirSync(`/proc/${s.pid}/fd`).sort();
      expect(fds).toEqual(['0', '1', '2', '3']);
      expect(readlinkSync(`/proc/${s.pid}/fd/0`)).toBe('/dev/null');
      const pipeIno = fstatSync(r.fd).ino;
      expect(readlinkSync(`/proc/${s.pid}/fd/1`)).toBe(`pipe:[${pipeIno}]`);
      expect(readlinkSync(`/proc/${s.pid}/fd/2`)).toBe(`pipe:[${pipeIno}]`);
      expect(readlinkSync(`/proc/${s.pid}/fd/3`)).toMatch(/^socket:\[\d+\]$/);
      // Node ignores SIGPIPE; the child must not inherit that.
      expect(statusField(s.pid, 'SigIgn')).toBe('0000000000000000');
      expect(statusField(s.pid, 'SigBlk')).toBe('0000000000000000');
    } finally {
      pidfdSendSignal(s.pidfd, 'SIGKILL');
      await done;
      s.pidfd.close();
      r.close();
      ours.close();
    }
  });

  it('keeps the output of a child that exited before anyone read it', async (ctx) => {
    guard(ctx, 'native');
    const [r, w] = pipe();
    const s = spawnProcess({ path: '/bin/sh', argv: ['sh', '-c', 'echo early'], fds: [0, w, 2] });
    w.close();
    expect(await exitOf(s)).toEqual({ code: 0, signal: null });
    s.pidfd.close();
    await new Promise((res) => setTimeout(res, 50));
    expect(await readAll(r)).toBe('early\n');
  });

  it('an exec failure throws with nothing left running; bad options are TypeErrors', () => {
    let err: unknown;
    try {
      spawnProcess({ path: '/nonexistent/stratum-test', argv: ['x'], fds: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrnoError);
    expect((err as ErrnoError).code).toBe('ENOENT');
    expect((err as ErrnoError).syscall).toBe('execve');
    expect(() => spawnProcess({ path: 'sh', argv: ['sh'], fds: [] })).toThrow(TypeError);
    expect(() => spawnProcess({ path: '/bin/sh', argv: [], fds: [] })).toThrow(TypeError);
    expect(() => spawnProcess({ path: '/bin/sh', argv: ['a\0b'], fds: [] })).toThrow(TypeError);
    expect(() => spawnProcess({ path: '/bin/sh', argv: ['sh'], fds: [-1] })).toThrow(TypeError);
    expect(() => watchPidfd(0, undefined as unknown as () => void)).toThrow(TypeError);
  });
});
