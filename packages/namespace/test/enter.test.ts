import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { DEFAULT_MOUNTS, NamespaceHandle, SpawnError, cgroupDirs, enter, spawn, type SpawnSpec } from '../src/index.js';
import { busyboxRootfs, tempDir, text, waitFor } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

function container(rootfs: string, argv: string[], extra: Partial<SpawnSpec> = {}): SpawnSpec {
  return {
    argv,
    namespaces: { pid: true, mount: true, uts: true, ipc: true, net: true },
    hostname: 'stratum-target',
    rootfs,
    mounts: DEFAULT_MOUNTS,
    stdio: 'ignore',
    ...extra,
  };
}

describe('enter', () => {
  it('runs a program in a running container\'s namespaces, root and cgroup (docker exec)', async (ctx) => {
    guard(ctx, 'root', 'native', 'cgroup-v1');
    using t = tempDir('enter');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    writeFileSync(join(rootfs, 'etc', 'marker'), 'container-root\n');
    const cg = `/sys/fs/cgroup/pids/stratum-ns-enter-${process.pid}`;
    mkdirSync(cg);
    try {
      await using c = await spawn(container(rootfs, ['/bin/sleep', '30'], { cgroup: cg }));
      expect(cgroupDirs(c.pid)).toContain(cg);
      await using e = await enter(c, {
        argv: ['/bin/sh', '-c', 'hostname; cat /etc/marker; tr "\\0" " " < /proc/1/cmdline; echo; echo pid=$$; grep pids /proc/self/cgroup; cat /proc/self/net/dev | tail -n +3 | cut -d: -f1'],
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const [o, err, st] = await Promise.all([text(e.stdout), text(e.stderr), e.wait()]);
      expect(err).toBe('');
      expect(st).toEqual({ code: 0, signal: null });
      const lines = o.split('\n');
      expect(lines[0]).toBe('stratum-target');
      expect(lines[1]).toBe('container-root');
      expect(lines[2]).toBe('/bin/sleep 30 ');
      // A member of the container's pid namespace, but not its init.
      expect(Number(lines[3]!.slice(4))).toBeGreaterThan(1);
      expect(lines[4]).toMatch(new RegExp(`:pids:/stratum-ns-enter-${process.pid}$`));
      expect(lines[5]!.trim()).toBe('lo');
      // The host pid of the entered program is in the container's pid namespace.
      expect(readlinkSync(`/proc/${c.pid}/ns/pid`)).toBeTruthy();
    } finally {
      rmdirSync(cg);
    }
  });

  it('joins only the namespaces asked for', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('enter-some');
    const rootfs = busyboxRootfs(join(t.dir, 'rootfs'));
    await using c = await spawn(container(rootfs, ['/bin/sleep', '30']));
    await using e = await enter(c.pid, { argv: ['/bin/sh', '-c', 'hostname; test -d /work && echo host-root'], namespaces: ['uts'], stdio: ['ignore', 'pipe', 'pipe'] });
    expect(await text(e.stdout)).toBe('stratum-target\nhost-root\n');
    expect(hostname()).not.toBe('stratum-target');
  });

  it('fails with SpawnError when a namespace cannot be joined, and TypeError for a bad target', async (ctx) => {
    guard(ctx, 'root', 'native');
    await expect(enter(0, { argv: ['true'] })).rejects.toThrow(TypeError);
    const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    await expect(enter(max + 1, { argv: ['true'] })).rejects.toMatchObject({ code: 'ENOENT' });
    const e = await spawn({ argv: ['true'], namespaces: { net: '/proc/self/ns/stratum-none' }, stdio: 'ignore' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SpawnError);
    expect(e).toMatchObject({ step: 'namespace-open', code: 'ENOENT', path: '/proc/self/ns/stratum-none' });
    const wrongKind = await spawn({ argv: ['true'], namespaces: { net: '/proc/self/ns/uts' }, stdio: 'ignore' }).catch((x: unknown) => x);
    expect(wrongKind).toMatchObject({ step: 'setns', code: 'EINVAL' });
  });
});

describe('namespace handles', () => {
  it('keep a namespace alive after its process exits, let another process join it, and bind-mount it', async (ctx) => {
    guard(ctx, 'root', 'native');
    const p = await spawn({ argv: ['sleep', '30'], namespaces: { net: true, uts: true }, hostname: 'stratum-held', stdio: 'ignore' });
    using net = p.namespace('net');
    using uts = p.namespace('uts');
    expect(net.inode).toBe(statSync(`/proc/${p.pid}/ns/net`).ino);
    expect(net.inode).not.toBe(statSync('/proc/self/ns/net').ino);
    await p[Symbol.asyncDispose]();
    expect(() => p.namespace('net')).toThrow(/exited/);

    // Joined through the handle after its process is gone.
    {
      await using q = await spawn({ argv: ['/bin/sh', '-c', 'hostname; readlink /proc/self/ns/net'], namespaces: { net, uts }, stdio: ['ignore', 'pipe', 'pipe'] });
      const [o, e] = await Promise.all([text(q.stdout), text(q.stderr)]);
      const st = await q.wait();
      expect({ o, e, st }).toEqual({ o: `stratum-held\nnet:[${net.inode}]\n`, e: '', st: { code: 0, signal: null } });
    }

    using t = tempDir('nsbind');
    const file = join(t.dir, 'net');
    const bound = net.bindMount(file);
    net.close();
    uts.close();
    try {
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(file);
      await using q = await spawn({ argv: ['readlink', '/proc/self/ns/net'], namespaces: { net: bound }, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(await text(q.stdout)).toBe(`net:[${statSync(file).ino}]\n`);
      // A handle opened on the bound file names the same namespace.
      using again = NamespaceHandle.open(file, 'net');
      expect(again.inode).toBe(statSync(file).ino);
    } finally {
      bound.unmount();
      bound.unmount();
    }
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(file);
    expect(existsSync(file)).toBe(false);
  });

  it('a mount namespace handle: join a container\'s mount namespace from another spawn', async (ctx) => {
    guard(ctx, 'root', 'native');
    using t = tempDir('mntns');
    const target = join(t.dir, 'm');
    mkdirSync(target);
    await using p = await spawn({
      argv: ['/bin/sh', '-c', `echo in-ns > ${target}/f && echo ready && exec sleep 30`],
      namespaces: { mount: true },
      mounts: [{ destination: target, type: 'tmpfs', options: ['size=1m'] }],
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitFor(p.stdout!, /ready/);
    using mnt = p.namespace('mount');
    await using q = await spawn({ argv: ['cat', join(target, 'f')], namespaces: { mount: mnt }, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(await text(q.stdout)).toBe('in-ns\n');
    expect(existsSync(join(target, 'f'))).toBe(false);
  });
});
