import { hostname } from 'node:os';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import {
  DEFAULT_MOUNTS,
  DOCKER_DEFAULT_CAPABILITIES,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  SpawnError,
  spawn,
  type SpawnSpec,
} from '../src/index.js';
import { alive, busyboxRootfs, childrenOf, sleep, tempDir, text, waitFor } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const out = ['ignore', 'pipe', 'pipe'] as const;

async function run(spec: SpawnSpec): Promise<{ stdout: string; stderr: string; code: number | null; signal: string | null }> {
  await using p = await spawn({ stdio: [...out], ...spec });
  const [stdout, stderr, st] = await Promise.all([text(p.stdout), text(p.stderr), p.wait()]);
  return { stdout, stderr, code: st.code, signal: st.signal };
}

async function spawnError(spec: SpawnSpec): Promise<SpawnError> {
  try {
    const p = await spawn({ stdio: 'ignore', ...spec });
    await p[Symbol.asyncDispose]();
  } catch (e) {
    expect(e).toBeInstanceOf(SpawnError);
    return e as SpawnError;
  }
  throw new Error('expected spawn to fail');
}

/** A container spec over a busybox rootfs with Docker's defaults. */
function container(rootfs: string, argv: string[], extra: Partial<SpawnSpec> = {}): SpawnSpec {
  return {
    argv,
    namespaces: { pid: true, mount: true, uts: true, ipc: true, net: true },
    hostname: 'stratum-box',
    rootfs,
    mounts: DEFAULT_MOUNTS,
    maskedPaths: DOCKER_MASKED_PATHS,
    readonlyPaths: DOCKER_READONLY_PATHS,
    ...extra,
  };
}

describe('spawn in new namespaces', () => {
  it('PID 1 of a new pid namespace sees only its own processes', async (ctx) => {
    guard(ctx, 'root', 'native');
    const r = await run({
      argv: ['/bin/sh', '-c', 'echo self=$$; for d in /proc/[0-9]*; do echo ${d#/proc/}; done'],
      namespaces: { pid: true, mount: true },
      mounts: [{ destination: '/proc', type: 'proc', options: ['nosuid', 'nodev', 'noexec'] }],
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('self=1');
    const pids = lines.slice(1).map(Number);
    // Only the shell itself (the loop is a builtin): on the host there are hundreds.
    expect(pids).toEqual([1]);
    // The host's /proc was remounted only inside: the host still sees every process.
    expect(existsSync(`/proc/${process.pid}`)).toBe(true);
  });

  it('reports the host pid, and the program is PID 1 of the namespace', async (ctx) => {
    guard(ctx, 'root', 'native');
    await using p = await spawn({ argv: ['sleep', '30'], namespaces: { pid: true }, stdio: 'ignore' });
    const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
    expect(status).toMatch(/^Name:\s+sleep$/m);
    expect(status).toMatch(new RegExp(`^NSpid:\\s+${p.pid}\\s+1$`, 'm'));
    expect(readlinkSync(`/proc/${p.pid}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
  });

  it('a hostname set inside does not change the host\'s', async (ctx) => {
    guard(ctx, 'root', 'native');
    const before = hostname();
    const r = await run({ argv: ['/bin/sh', '-c', 'hostname; cat /proc/sys/kernel/domainname; hostname inner-changed; hostname'], namespaces: { uts: true }, hostname: 'stratum-uts', domainname: 'stratum.test' });
    expect(r.stdout).toBe('stratum-uts\nstratum.test\ninner-changed\n');
    expect(hostname()).toBe(before);
  });

  it('a new net namespace has only lo, and it is down', async (ctx) => {
    guard(ctx, 'root', 'native');
    const r = await run({ argv: ['cat', '/proc/self/net/dev'], namespaces: { net: true } });
    const ifaces = r.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.split(':')[0]!.trim());
    expect(ifaces).toEqual(['lo']);
    const host = readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2).filter(Boolean);
    expect(host.length).toBeGreaterThanOrEqual(1);
  });

  it('mounts in a new mount namespace do not leak out', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('mnt');
    const target = join(t.dir, 'm');
    mkdirSync(target);
    const r = await run({
      argv: ['/bin/sh', '-c', `echo inside > ${target}/file && grep -c " ${target} " /proc/self/mountinfo && cat ${target}/file`],
      namespaces: { mount: true },
      mounts: [{ destination: target, type: 'tmpfs', options: ['size=1m'] }],
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\ninside\n');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${target} `);
    expect(existsSync(join(target, 'file'))).toBe(false);
  });

  it('pivot_root into a busybox rootfs runs /bin/sh -c with Docker\'s mounts, masked and read-only paths', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('rootfs');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    writeFileSync(join(rootfs, 'etc', 'marker'), 'in-the-image\n');
    const script = [
      'cat /etc/marker',
      'echo pid=$$',
      'hostname',
      'echo $(ls /)',
      'ls -l /dev/null /dev/fd',
      'test -c /dev/null && echo null-ok',
      'wc -c < /proc/keys',
      'ls /proc/acpi | wc -l',
      '(echo other > /proc/sys/kernel/hostname) 2>/dev/null || echo sys-ro',
      'touch /sys/stratum 2>/dev/null || echo sysfs-ro',
      'ls /sys/firmware | wc -l',
      'grep -c . /proc/self/mountinfo',
      'awk \'$5 == "/" { print $4 }\' /proc/self/mountinfo',
    ].join('; ');
    const r = await run(container(rootfs, ['/bin/sh', '-c', script]));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('in-the-image');
    expect(lines[1]).toBe('pid=1');
    expect(lines[2]).toBe('stratum-box');
    expect(lines[3]!.split(/\s+/).sort()).toEqual(['bin', 'dev', 'etc', 'proc', 'sys', 'tmp']);
    expect(r.stdout).toMatch(/\/dev\/fd -> \/proc\/self\/fd/);
    expect(r.stdout).toContain('null-ok');
    // /proc/keys and /proc/acpi masked (empty), /proc/sys and /sys read-only, /sys/firmware empty.
    expect(r.stdout).toMatch(/\n0\n0\nsys-ro\nsysfs-ro\n0\n/);
    expect(readFileSync('/proc/keys', 'utf8').length).toBeGreaterThan(0);
    // The host's mounts are gone: only the container's remain after the old root was detached,
    // and the root is the bind of the rootfs directory.
    const tail = lines.slice(-3);
    expect(Number(tail[0])).toBeLessThan(20);
    expect(tail[1]).toBe(rootfs);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(rootfs);
  });

  it('MS_MOVE + chroot instead of pivot_root with noPivotRoot', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('chroot');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    const r = await run(container(rootfs, ['/bin/sh', '-c', 'ls /; echo pid=$$'], { noPivotRoot: true }));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^bin\ndev\netc\nproc\nsys\ntmp\npid=1\n$/);
  });

  it('exec of a missing binary is SpawnError ENOENT at spawn, not exit 127', async (ctx) => {
    guard(ctx, 'root', 'native');
    const direct = await spawnError({ argv: ['/nonexistent/stratum-program'] });
    expect(direct).toMatchObject({ code: 'ENOENT', step: 'exec', syscall: 'execve', path: '/nonexistent/stratum-program', errno: 2 });
    const viaPath = await spawnError({ argv: ['stratum-no-such-program'], env: { PATH: '/usr/bin:/bin' } });
    expect(viaPath).toMatchObject({ code: 'ENOENT', step: 'exec', path: 'stratum-no-such-program' });
    using t = tempDir('noexec');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    writeFileSync(join(rootfs, 'bin', 'notexec'), '#!/bin/sh\n', { mode: 0o644 });
    const inContainer = await spawnError(container(rootfs, ['/bin/stratum-missing']));
    expect(inContainer).toMatchObject({ code: 'ENOENT', step: 'exec', path: '/bin/stratum-missing' });
    const init = await spawnError(container(rootfs, ['/bin/stratum-missing'], { init: true }));
    expect(init).toMatchObject({ code: 'ENOENT', step: 'exec' });
    const eacces = await spawnError(container(rootfs, ['notexec']));
    expect(eacces).toMatchObject({ code: 'EACCES', step: 'exec', path: 'notexec' });
  });

  it('a bad mount is a SpawnError naming the step and the path', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('badmount');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    const e = await spawnError(container(rootfs, ['/bin/true'], { mounts: [...DEFAULT_MOUNTS, { destination: '/data', type: 'stratumfs' }] }));
    expect(e).toMatchObject({ step: 'mount', code: 'ENODEV', syscall: 'mount', path: '/data' });
    expect(e.message).toContain("mount '/data': ENODEV");
    const missing = await spawnError(container(rootfs, ['/bin/true'], { mounts: [{ destination: '/data', type: 'bind', source: join(t.dir, 'absent') }] }));
    expect(missing).toMatchObject({ step: 'mount', code: 'ENOENT', syscall: 'stat', path: join(t.dir, 'absent') });
    const cwd = await spawnError(container(rootfs, ['/bin/true'], { cwd: '/does/not/exist' }));
    expect(cwd).toMatchObject({ step: 'cwd', code: 'ENOENT', path: '/does/not/exist' });
    // A rootfs that is not a directory fails at the rootfs bind.
    const rootfsFile = join(t.dir, 'file');
    writeFileSync(rootfsFile, '');
    const notDir = await spawnError(container(rootfsFile, ['/bin/true'], { mounts: [] }));
    expect(notDir.step).toBe('rootfs');
  });

  it('mount targets are resolved inside the rootfs: a symlink to the host cannot redirect them', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('escape');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    const outside = join(t.dir, 'outside');
    mkdirSync(outside);
    // /evil → the host directory (absolute), /up → ../../../.. + the host directory (relative):
    // a runtime resolving them on the host would mount over `outside`. In the root they both
    // mean <rootfs>/<outside>.
    mkdirSync(join(rootfs, outside), { recursive: true });
    symlinkSync(outside, join(rootfs, 'evil'));
    symlinkSync(`../../../../../../..${outside}`, join(rootfs, 'up'));
    const r = await run(
      container(rootfs, ['/bin/sh', '-c', `echo a > /evil/a; echo b > /up/b; ls ${outside}`], {
        mounts: [...DEFAULT_MOUNTS, { destination: '/evil', type: 'tmpfs', options: ['size=1m'] }, { destination: '/up/sub', type: 'tmpfs', options: ['size=1m'] }],
      }),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('a\nb\nsub\n');
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(outside);
    // A dangling link is not followed out either: the spawn fails instead.
    symlinkSync(join(t.dir, 'nowhere'), join(rootfs, 'dangling'));
    const e = await spawnError(container(rootfs, ['/bin/true'], { mounts: [{ destination: '/dangling/x', type: 'tmpfs' }] }));
    expect(e).toMatchObject({ step: 'mount', code: 'ENOENT' });
    expect(existsSync(join(t.dir, 'nowhere'))).toBe(false);
  });

  it('no helper descriptor reaches the program, and the init is closed to the container (CVE-2024-21626, CVE-2019-5736)', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('fds');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    // The program the helper execs lists its own descriptors (a shell in between would add its
    // own pipes for command substitution, at moments that vary with load).
    const fds = await run(container(rootfs, ['/bin/ls', '/proc/self/fd'], { init: true, capabilities: DOCKER_DEFAULT_CAPABILITIES }));
    // stdin, stdout, stderr, and the fd ls opened on the directory it lists.
    expect(fds.stdout.trim().split('\n')).toEqual(['0', '1', '2', '3']);
    const r = await run(
      container(rootfs, ['/bin/sh', '-c', 'readlink /proc/1/exe || echo exe-denied; readlink /proc/1/fd/0 || echo fd-denied; readlink /proc/$$/cwd'], {
        init: true,
        capabilities: DOCKER_DEFAULT_CAPABILITIES,
      }),
    );
    expect(r.stdout).toContain('exe-denied\nfd-denied\n/\n');
  });

  it('stdio: pipes both ways, separate stderr, files and inherited fds', async (ctx) => {
    guard(ctx, 'root', 'native');
    {
      await using p = await spawn({ argv: ['/bin/sh', '-c', 'cat; echo err >&2'], namespaces: { uts: true } });
      p.stdin!.end('through the pipe\n');
      const [o, e, st] = await Promise.all([text(p.stdout), text(p.stderr), p.wait()]);
      expect(o).toBe('through the pipe\n');
      expect(e).toBe('err\n');
      expect(st).toEqual({ code: 0, signal: null });
    }
    using t = tempDir('stdio');
    const input = join(t.dir, 'in');
    const output = join(t.dir, 'out');
    writeFileSync(input, 'from a file\n');
    writeFileSync(output, 'first\n');
    await using p = await spawn({ argv: ['cat'], namespaces: { pid: true }, stdio: [{ file: input }, { file: output }, 'ignore'] });
    expect(p.stdin).toBeNull();
    expect(p.stdout).toBeNull();
    expect(await p.wait()).toEqual({ code: 0, signal: null });
    expect(readFileSync(output, 'utf8')).toBe('first\nfrom a file\n');
    // A descriptor of the caller's, passed as is.
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync(join(t.dir, 'fd-out'), 'w');
    try {
      await using q = await spawn({ argv: ['echo', 'via fd'], stdio: ['ignore', fd, 'ignore'] });
      expect(await q.wait()).toEqual({ code: 0, signal: null });
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(join(t.dir, 'fd-out'), 'utf8')).toBe('via fd\n');
  });

  it('keeps the output of a program that exited before anyone read it', async (ctx) => {
    guard(ctx, 'root', 'native');
    // Node's child_process discards piped output nobody listens to once the child exits.
    await using p = await spawn({ argv: ['/bin/sh', '-c', 'echo out; echo err >&2'], stdio: ['ignore', 'pipe', 'pipe'] });
    expect(await p.wait()).toEqual({ code: 0, signal: null });
    await sleep(100);
    expect(await Promise.all([text(p.stdout), text(p.stderr)])).toEqual(['out\n', 'err\n']);
  });

  it('the program gets its stdio and no other descriptor, ignored or blocked signal of Node\'s', async (ctx) => {
    guard(ctx, 'root', 'native');
    for (const init of [false, true]) {
      await using p = await spawn({ argv: ['sleep', '30'], namespaces: { pid: true, uts: true }, init, stdio: ['ignore', 'pipe', 'inherit'] });
      // The program once it is `sleep` (before its exec it is the helper's fork: other fds, signals blocked).
      const program = (): number | undefined => (init ? childrenOf(p.pid).find((c) => c.comm === 'sleep')?.pid : readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep' ? p.pid : undefined);
      // (comm changes a moment before the exec closes the close-on-exec fds: a leaked fd stays,
      // a closing one goes within the wait.)
      const fds = (): string[] => {
        const pid = program();
        return pid === undefined ? [] : readdirSync(`/proc/${pid}/fd`).sort();
      };
      for (let i = 0; i < 200 && fds().join() !== '0,1,2'; i++) await sleep(10);
      const pid = program()!;
      expect(readdirSync(`/proc/${pid}/fd`).sort()).toEqual(['0', '1', '2']);
      expect(readlinkSync(`/proc/${pid}/fd/0`)).toBe('/dev/null');
      expect(readlinkSync(`/proc/${pid}/fd/1`)).toMatch(/^(pipe|socket):\[\d+\]$/);
      expect(readlinkSync(`/proc/${pid}/fd/2`)).toBe(readlinkSync('/proc/self/fd/2'));
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      // Node ignores SIGPIPE; the program must not inherit that (nor glibc's internal signals).
      expect(status).toMatch(/^SigIgn:\s+0+$/m);
      expect(status).toMatch(/^SigBlk:\s+0+$/m);
    }
  });

  it('kill after the exit is harmless, whether the helper exec\'d the program or stayed', async (ctx) => {
    guard(ctx, 'root', 'native');
    for (const spec of [{ namespaces: { uts: true } }, { namespaces: { pid: true }, init: true }] as const) {
      const p = await spawn({ argv: ['/bin/sh', '-c', 'exit 3'], stdio: 'ignore', ...spec });
      expect(await p.wait()).toEqual({ code: 3, signal: null });
      expect(p.kill('SIGKILL')).toBe(false);
      expect(p.kill()).toBe(false);
      await p[Symbol.asyncDispose]();
      await p[Symbol.asyncDispose]();
      expect(p.exitStatus).toEqual({ code: 3, signal: null });
    }
  });

  it('stdin of a program that exited is destroyed (no EPIPE from a late write), as with child_process', async (ctx) => {
    guard(ctx, 'root', 'native');
    await using p = await spawn({ argv: ['/bin/sh', '-c', 'read line; echo got:$line'], stdio: ['pipe', 'pipe', 'ignore'] });
    p.stdin!.write('hello\n');
    expect(await text(p.stdout)).toBe('got:hello\n');
    expect(await p.wait()).toEqual({ code: 0, signal: null });
    await sleep(10);
    expect(p.stdin!.destroyed).toBe(true);
  });

  it('a pseudo-terminal as stdio, with resize', async (ctx) => {
    guard(ctx, 'root', 'native');
    await using p = await spawn({
      argv: ['/bin/sh', '-c', 'tty; stty size; read line; echo got:$line; stty size'],
      namespaces: { pid: true, uts: true },
      stdio: { tty: true, rows: 30, cols: 100 },
    });
    expect(p.stderr).toBeNull();
    const seen = await waitFor(p.stdout!, /30 100\r?\n/);
    expect(seen).toMatch(/^\/dev\/pts\/\d+\r?\n/);
    await p.resize(50, 120);
    p.stdin!.write('hello\n');
    const rest = await text(p.stdout);
    expect(rest).toMatch(/got:hello\r?\n50 120\r?\n/);
    expect(await p.wait()).toEqual({ code: 0, signal: null });
  });

  it('init: true reaps an orphaned zombie and forwards SIGTERM', async (ctx) => {
    guard(ctx, 'root', 'native');
    await using p = await spawn({
      // The inner shell starts `sleep 1` in the background and exits: sleep is orphaned and
      // re-parented to the namespace's init.
      argv: ['/bin/sh', '-c', 'sh -c "sleep 1 & exit 0"; trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done'],
      namespaces: { pid: true, mount: true },
      mounts: [{ destination: '/proc', type: 'proc' }],
      init: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitFor(p.stdout!, /ready/);
    // The init is PID 1 and its program (the shell) its child; the orphan is now the init's too.
    const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^NSpid:\\s+${p.pid}\\s+1$`, 'm'));
    // The orphan is a forked `sh` until it has exec'd `sleep` (slow under load): wait for that.
    for (let i = 0; i < 50 && !childrenOf(p.pid).some((c) => c.comm === 'sleep'); i++) await sleep(10);
    expect(childrenOf(p.pid).map((c) => c.comm)).toContain('sleep');
    await sleep(1500);
    // The orphan exited and was reaped: no zombie under the init.
    const kids = childrenOf(p.pid);
    expect(kids.filter((c) => c.state === 'Z')).toEqual([]);
    expect(kids.map((c) => c.comm)).not.toContain('sleep');
    expect(p.kill('SIGTERM')).toBe(true);
    const rest = await text(p.stdout);
    expect(rest).toContain('got-term');
    expect(await p.wait()).toEqual({ code: 7, signal: null });
  });

  it('init: true reports the program\'s death by signal as such', async (ctx) => {
    guard(ctx, 'root', 'native');
    await using p = await spawn({ argv: ['sleep', '30'], namespaces: { pid: true }, init: true, stdio: 'ignore' });
    await sleep(50);
    const [prog] = childrenOf(p.pid);
    expect(prog?.comm).toBe('sleep');
    process.kill(prog!.pid, 'SIGKILL');
    expect(await p.wait()).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('without init the program is PID 1 and the kernel drops the SIGTERM it has no handler for', async (ctx) => {
    guard(ctx, 'root', 'native');
    await using p = await spawn({ argv: ['sleep', '30'], namespaces: { pid: true }, stdio: 'ignore' });
    expect(p.kill('SIGTERM')).toBe(true);
    await sleep(300);
    expect(p.exitStatus).toBeUndefined();
    expect(alive(p.pid)).toBe(true);
    expect(p.kill('SIGKILL')).toBe(true);
    expect(await p.wait()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(p.kill('SIGTERM')).toBe(false);
  });

  it('without a pid namespace SIGTERM just kills the program', async (ctx) => {
    guard(ctx, 'root', 'native');
    await using p = await spawn({ argv: ['sleep', '30'], namespaces: { uts: true }, stdio: 'ignore' });
    p.kill();
    expect(await p.wait()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('an AbortSignal kills the process', async (ctx) => {
    guard(ctx, 'root', 'native');
    const ac = new AbortController();
    await using p = await spawn({ argv: ['sleep', '30'], namespaces: { pid: true }, init: true, stdio: 'ignore', signal: ac.signal });
    ac.abort();
    expect(await p.wait()).toEqual({ code: null, signal: 'SIGKILL' });
    await expect(spawn({ argv: ['true'], signal: ac.signal })).rejects.toThrow(/abort/i);
  });

  it('credentials, capabilities, no_new_privs, rlimits, umask and oom_score_adj', async (ctx) => {
    guard(ctx, 'root', 'native');
    const r = await run({
      argv: ['/bin/sh', '-c', 'grep -E "^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):" /proc/self/status; umask; ulimit -n; cat /proc/self/oom_score_adj'],
      namespaces: { uts: true },
      user: { uid: 1234, gid: 2345, additionalGids: [27, 100] },
      capabilities: {
        bounding: ['CAP_NET_BIND_SERVICE', 'CAP_KILL', 'CAP_CHOWN'],
        permitted: ['CAP_NET_BIND_SERVICE', 'CAP_KILL'],
        effective: ['CAP_NET_BIND_SERVICE'],
        inheritable: ['CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_NET_BIND_SERVICE'],
      },
      noNewPrivileges: true,
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 123, hard: 456 }],
      umask: 0o027,
      oomScoreAdj: 321,
    });
    expect(r.stderr).toBe('');
    const field = (k: string): string => r.stdout.match(new RegExp(`^${k}:\\s+(.*)$`, 'm'))![1]!.trim();
    expect(field('Uid')).toBe('1234\t1234\t1234\t1234');
    expect(field('Gid')).toBe('2345\t2345\t2345\t2345');
    expect(field('Groups')).toBe('27 100');
    const bit = (n: number): bigint => 1n << BigInt(n);
    // A non-root program keeps exactly its ambient capabilities across execve.
    expect(BigInt(`0x${field('CapAmb')}`)).toBe(bit(10));
    expect(BigInt(`0x${field('CapEff')}`)).toBe(bit(10));
    expect(BigInt(`0x${field('CapPrm')}`)).toBe(bit(10));
    expect(BigInt(`0x${field('CapInh')}`)).toBe(bit(10));
    expect(BigInt(`0x${field('CapBnd')}`)).toBe(bit(10) | bit(5) | bit(0));
    expect(field('NoNewPrivs')).toBe('1');
    expect(r.stdout).toMatch(/\n0027\n123\n321\n$/);
  });

  it('Docker\'s default capabilities for root in a container', async (ctx) => {
    guard(ctx, 'root', 'native');
    const r = await run({ argv: ['grep', '-E', '^Cap(Eff|Bnd):', '/proc/self/status'], namespaces: { pid: true }, capabilities: DOCKER_DEFAULT_CAPABILITIES });
    const expected = DOCKER_DEFAULT_CAPABILITIES.map((c) => c).length;
    const [eff, bnd] = [...r.stdout.matchAll(/:\s+([0-9a-f]+)/g)].map((m) => BigInt(`0x${m[1]}`));
    expect(eff).toBe(bnd);
    let n = 0;
    for (let b = eff!; b; b >>= 1n) n += Number(b & 1n);
    expect(n).toBe(expected);
    expect(eff! & (1n << 21n)).toBe(0n); // no CAP_SYS_ADMIN
  });

  it('joins cgroups before exec', async (ctx) => {
    guard(ctx, 'root', 'native', 'cgroup-v1');
    const dir = `/sys/fs/cgroup/pids/stratum-ns-test-${process.pid}`;
    mkdirSync(dir);
    try {
      const r = await run({ argv: ['cat', '/proc/self/cgroup'], namespaces: { pid: true }, cgroup: [dir] });
      expect(r.stdout).toMatch(new RegExp(`:pids:/stratum-ns-test-${process.pid}$`, 'm'));
      const bad = await spawnError({ argv: ['true'], cgroup: `${dir}/absent` });
      expect(bad).toMatchObject({ step: 'cgroup', code: 'ENOENT', path: `${dir}/absent/cgroup.procs` });
    } finally {
      (await import('node:fs')).rmdirSync(dir);
    }
  });

  it('a new time namespace with a boottime offset', async (ctx) => {
    guard(ctx, 'root', 'native');
    if (!existsSync('/proc/self/ns/time')) ctx.skip('no time namespaces (Linux < 5.6)');
    const r = await run({ argv: ['cat', '/proc/uptime'], namespaces: { time: true }, timeOffsets: { boottime: 86400 } });
    const inside = Number(r.stdout.split(' ')[0]);
    const host = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    expect(inside - host).toBeGreaterThan(86390);
    expect(inside - host).toBeLessThan(86410);
  });

  it('bind mounts into the rootfs: files, directories, read-only', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('bind');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    const data = join(t.dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'hello'), 'from the host\n');
    writeFileSync(join(t.dir, 'single'), 'a file\n');
    const r = await run(
      container(rootfs, ['/bin/sh', '-c', 'cat /data/hello /etc/single; touch /data/x 2>/dev/null || echo ro; echo changed > /etc/single'], {
        mounts: [
          ...DEFAULT_MOUNTS,
          { destination: '/data', source: data, options: ['rbind', 'ro'] },
          { destination: '/etc/single', source: join(t.dir, 'single'), options: ['bind'] },
        ],
      }),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from the host\na file\nro\n');
    expect(existsSync(join(data, 'x'))).toBe(false);
    expect(readFileSync(join(t.dir, 'single'), 'utf8')).toBe('changed\n');
    // The mount points were created inside the rootfs (a file for the file bind).
    expect(statSync(join(rootfs, 'etc', 'single')).isFile()).toBe(true);
  });

  describe('mount propagation both ways', () => {
    /** A host directory that is a shared mount of its own, as Docker requires for shared binds. */
    async function sharedDir(dir: string): Promise<() => void> {
      const { mount, umount2, MS, MNT } = await import('@stratum/native');
      mkdirSync(join(dir, 'sub'), { recursive: true });
      mount({ source: dir, target: dir, flags: MS.BIND });
      mount({ target: dir, flags: MS.SHARED });
      return () => {
        for (const m of [join(dir, 'sub'), dir]) {
          try {
            umount2(m, MNT.DETACH);
          } catch {
            // not mounted
          }
        }
      };
    }

    it('host → container: a host mount made after the start appears in an rslave bind', async (ctx) => {
      guard(ctx, 'root', 'native');
      using t = tempDir('prop-in');
      const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
      const data = join(t.dir, 'data');
      const undo = await sharedDir(data);
      try {
        await using p = await spawn(
          container(rootfs, ['/bin/sh', '-c', 'echo ready; read go; cat /data/sub/late'], {
            mounts: [...DEFAULT_MOUNTS, { destination: '/data', source: data, options: ['rbind', 'rslave'] }],
            stdio: ['pipe', 'pipe', 'pipe'],
          }),
        );
        await waitFor(p.stdout!, /ready/);
        const { mount } = await import('@stratum/native');
        mount({ source: 'tmpfs', target: join(data, 'sub'), fstype: 'tmpfs', data: 'size=1m' });
        writeFileSync(join(data, 'sub', 'late'), 'mounted later on the host\n');
        p.stdin!.end('go\n');
        const [o, e] = await Promise.all([text(p.stdout), text(p.stderr)]);
        expect(e).toBe('');
        expect(o).toBe('mounted later on the host\n');
      } finally {
        undo();
      }
    });

    it('container → host: a mount made inside an rshared bind appears on the host', async (ctx) => {
      guard(ctx, 'root', 'native');
      using t = tempDir('prop-out');
      const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
      const data = join(t.dir, 'data');
      const undo = await sharedDir(data);
      try {
        const r = await run(
          container(rootfs, ['/bin/sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /data/sub && echo from-inside > /data/sub/made'], {
            mounts: [...DEFAULT_MOUNTS, { destination: '/data', source: data, options: ['rbind', 'rshared'] }],
            rootfsPropagation: 'shared',
          }),
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(readFileSync(join(data, 'sub', 'made'), 'utf8')).toBe('from-inside\n');
        // Nothing else of the container reached the host: not its rootfs, proc or dev.
        const host = readFileSync('/proc/self/mountinfo', 'utf8');
        expect(host).not.toContain(rootfs);
      } finally {
        undo();
      }
    });
  });
});
