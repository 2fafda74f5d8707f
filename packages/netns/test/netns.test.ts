import { statSync } from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard } from '@stratum/testing';
import { Netlink, Netns, NetnsError } from '../src/index.js';
import { inNetns, sh, uid, useNetLeakCheck } from './helpers.js';

useNetLeakCheck({ beforeEach, afterEach });

beforeAll(async () => {
  if (process.getuid?.() === 0) await (await Netns.create(`stratum-warm-${uid()}`)).delete();
});

function selfNetInode(): number {
  return statSync('/proc/thread-self/ns/net').ino;
}

describe('Netns', () => {
  it('create(name) is `ip netns add`: listed by ip and by list(), only lo inside, delete removes it', async (ctx) => {
    guard(ctx, 'root', 'netns', 'native');
    const before = selfNetInode();
    const name = `stratum-ns-${uid()}`;
    const ns = await Netns.create(name);
    try {
      expect(ns.name).toBe(name);
      expect(ns.path).toBe(`/run/netns/${name}`);
      expect(await Netns.list()).toContain(name);
      expect(sh(['ip', 'netns', 'list'])).toContain(name);
      expect(ns.inode).toBe(statSync(ns.path).ino);
      expect(ns.inode).not.toBe(before);
      // Node's own thread never moved.
      expect(selfNetInode()).toBe(before);
      expect(sh(['ip', '-n', name, '-o', 'link', 'show']).trim().split('\n').map((l) => l.split(':')[1]!.trim())).toEqual(['lo']);
      // /run/netns is a shared mount, as iproute2 leaves it.
      const mi = sh(['findmnt', '-n', '-o', 'PROPAGATION', '/run/netns']).trim().split('\n');
      expect(mi.some((p) => p.includes('shared'))).toBe(true);
      await expect(Netns.create(name)).rejects.toMatchObject({ code: 'NETNS_EXISTS', netns: name });
    } finally {
      await ns.delete();
    }
    expect(ns.closed).toBe(true);
    expect(await Netns.list()).not.toContain(name);
    expect(sh(['ip', 'netns', 'list'])).not.toContain(name);
    await ns.delete(); // idempotent
  });

  it('open by name and by path: same namespace; missing and non-namespace files are typed errors', async (ctx) => {
    guard(ctx, 'root', 'netns', 'native');
    const name = `stratum-op-${uid()}`;
    sh(['ip', 'netns', 'add', name]);
    try {
      const a = await Netns.open(name);
      const b = await Netns.open(`/run/netns/${name}`);
      expect(a.inode).toBe(b.inode);
      expect(a.name).toBe(name);
      await a[Symbol.asyncDispose](); // opened, not created: only closed
      b.close();
      expect(await Netns.list()).toContain(name);
      await expect(Netns.open(`stratum-missing-${uid()}`)).rejects.toBeInstanceOf(NetnsError);
      await expect(Netns.open(`stratum-missing-${uid()}`)).rejects.toMatchObject({ code: 'NETNS_NOT_FOUND' });
      await expect(Netns.open('/etc/hostname')).rejects.toMatchObject({ code: 'NETNS_INVALID' });
      await expect(Netns.open('..')).rejects.toThrow(TypeError);
      await expect(Netns.create('a/b')).rejects.toThrow(TypeError);
      const host = await Netns.open('/proc/self/ns/net');
      expect(host.inode).toBe(selfNetInode());
      host.close();
    } finally {
      sh(['ip', 'netns', 'delete', name]);
    }
  });

  it('anonymous namespaces live by fd; their path works for nsenter; dispose frees them', async (ctx) => {
    guard(ctx, 'root', 'netns', 'native');
    let inode = 0;
    {
      await using ns = await Netns.create();
      expect(ns.name).toBeUndefined();
      expect(ns.path).toBe(`/proc/${process.pid}/fd/${ns.fd}`);
      inode = ns.inode;
      const r = inNetns(ns.path, ['readlink', '/proc/self/ns/net']);
      expect(r.stdout.trim()).toBe(`net:[${inode}]`);
      using nl = await Netlink.open({ netns: ns });
      expect((await nl.links.list()).map((l) => l.name)).toEqual(['lo']);
    }
    expect(await Netns.list()).toEqual(expect.not.arrayContaining([String(inode)]));
  });

  it('Netlink.open accepts a Netns, an fd, a name and a path, and acts only in that namespace', async (ctx) => {
    guard(ctx, 'root', 'netns', 'native');
    const name = `stratum-nl-${uid()}`;
    await using ns = await Netns.create(name);
    for (const ref of [ns, ns.fd, name, ns.path]) {
      using nl = await Netlink.open({ netns: ref });
      await nl.links.add({ kind: 'bridge', name: 'stbr0' });
      await nl.links.delete('stbr0');
    }
    using nl = await Netlink.open({ netns: ns });
    await nl.links.add({ kind: 'bridge', name: 'stratum-x0' });
    expect(sh(['ip', '-n', name, 'link', 'show', 'stratum-x0'])).toContain('stratum-x0');
    expect(sh(['ip', 'link', 'show', 'stratum-x0'], { allowFail: true })).toBe('');
    await expect(Netlink.open({ netns: `/run/netns/stratum-missing-${uid()}` })).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open' });
  });
});
