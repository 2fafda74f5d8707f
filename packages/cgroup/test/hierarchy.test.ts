/** detectHierarchy on fixture hosts (v1, v2, hybrid) and on this host; cgroupOf; placement. */
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CgroupError,
  CgroupUnsupportedError,
  cgroupOf,
  detectHierarchy,
  normalizeCgroupPath,
  parseMountInfo,
  parseProcCgroups,
  placeCgroup,
  type Hierarchy,
} from '@stratum/cgroup';
import { HYBRID_MOUNTINFO, v1Host, v2Host, type FixtureHost } from './fixtures.js';

let fixtures: FixtureHost[] = [];
afterEach(() => {
  for (const f of fixtures) f.cleanup();
  fixtures = [];
});
const keep = <T extends FixtureHost>(f: T): T => (fixtures.push(f), f);

describe('parsing', () => {
  it('parses mountinfo with optional fields and octal escapes', () => {
    const m = parseMountInfo(HYBRID_MOUNTINFO);
    expect(m).toHaveLength(7);
    expect(m[1]).toEqual({ root: '/', mountpoint: '/sys/fs/cgroup/unified', fstype: 'cgroup2', superOptions: ['rw', 'nsdelegate'] });
    expect(m[6]).toMatchObject({ root: '/docker/abc', mountpoint: '/mnt/mem copy', fstype: 'cgroup' });
  });

  it('parses /proc/cgroups', () => {
    expect(parseProcCgroups('#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t3\t1\nhugetlb\t0\t1\t0\n')).toEqual([
      { name: 'cpu', hierarchy: 1, enabled: true },
      { name: 'hugetlb', hierarchy: 0, enabled: false },
    ]);
  });
});

describe('detectHierarchy on fixture hosts', () => {
  it('sees a v2-only host and the controllers its root offers', () => {
    const f = keep(v2Host([]));
    const h = detectHierarchy({ root: f.root });
    expect(h.mode).toBe('v2');
    expect(h.v1).toEqual({});
    expect(h.v2).toEqual({ mountpoint: `${f.root}/sys/fs/cgroup`, controllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'] });
  });

  it('sees a v1 host with co-mounted controllers and the named systemd hierarchy', () => {
    const f = keep(v1Host([]));
    const h = detectHierarchy({ root: f.root });
    expect(h.mode).toBe('v1');
    expect(h.v2).toBeUndefined();
    expect(h.v1.cpu).toBe(`${f.root}/sys/fs/cgroup/cpu,cpuacct`);
    expect(h.v1.cpuacct).toBe(h.v1.cpu);
    expect(h.v1.net_prio).toBe(`${f.root}/sys/fs/cgroup/net_cls,net_prio`);
    expect(h.v1.perf_event).toBeUndefined(); // in /proc/cgroups, but mounted nowhere
    expect(h.named).toEqual({ systemd: `${f.root}/sys/fs/cgroup/systemd` });
  });

  it('sees a hybrid host, preferring the mount of a hierarchy root over a bind mount of a subtree', () => {
    const f = keep(v1Host([]));
    f.write('proc/self/mountinfo', HYBRID_MOUNTINFO);
    f.write('sys/fs/cgroup/unified/cgroup.controllers', 'hugetlb\n');
    const h = detectHierarchy({ root: f.root, fresh: true });
    expect(h.mode).toBe('hybrid');
    expect(h.v1.memory).toBe(`${f.root}/sys/fs/cgroup/memory`);
    expect(h.v1.blkio).toBeUndefined();
    expect(h.v2).toEqual({ mountpoint: `${f.root}/sys/fs/cgroup/unified`, controllers: ['hugetlb'] });
  });

  it('memoizes per root unless fresh', () => {
    const f = keep(v2Host([]));
    const a = detectHierarchy({ root: f.root });
    expect(detectHierarchy({ root: f.root })).toBe(a);
    expect(detectHierarchy({ root: f.root, fresh: true })).not.toBe(a);
  });

  it('throws CGROUP_NONE when nothing is mounted, TypeError for a relative root', () => {
    const f = keep(v2Host([]));
    f.write('proc/self/mountinfo', '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n');
    expect(() => detectHierarchy({ root: f.root, fresh: true })).toThrow(CgroupError);
    expect(() => detectHierarchy({ root: 'relative' })).toThrow(TypeError);
  });

  it('cgroupOf reads /proc/PID/cgroup relative to each mount', () => {
    const f = keep(v1Host([]));
    f.write('proc/self/mountinfo', HYBRID_MOUNTINFO);
    f.write('sys/fs/cgroup/unified/cgroup.controllers', 'hugetlb\n');
    f.write('proc/self/cgroup', '4:memory:/user.slice/x\n3:pids:/\n2:cpu,cpuacct:/a\n1:name=systemd:/user.slice\n0::/user.slice/x\n');
    expect(cgroupOf('self', { root: f.root, fresh: true })).toEqual({
      v1: { memory: 'user.slice/x', pids: '', cpu: 'a', cpuacct: 'a' },
      v2: 'user.slice/x',
    });
  });
});

describe('detectHierarchy on this host', () => {
  it('agrees with /proc/cgroups and the unified root', () => {
    const h = detectHierarchy({ fresh: true });
    for (const row of parseProcCgroups(readFileSync('/proc/cgroups', 'utf8'))) {
      if (row.hierarchy > 0 && row.enabled) expect(h.v1[row.name], row.name).toBeDefined();
    }
    if (h.v2) {
      expect(h.v2.controllers.sort()).toEqual(readFileSync(`${h.v2.mountpoint}/cgroup.controllers`, 'utf8').split(/\s+/).filter(Boolean).sort());
    }
    expect(h.mode).toBe(Object.keys(h.v1).length ? (h.v2 ? 'hybrid' : 'v1') : 'v2');
    if (existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') && existsSync('/sys/fs/cgroup/unified/cgroup.controllers')) expect(h.mode).toBe('hybrid');
    const mine = cgroupOf();
    if (h.v2) expect(typeof mine.v2).toBe('string');
  });
});

describe('placement', () => {
  const hybrid: Hierarchy = {
    mode: 'hybrid',
    v1: { memory: '/cg/memory', cpu: '/cg/cpu', cpuacct: '/cg/cpuacct', pids: '/cg/pids', freezer: '/cg/freezer', blkio: '/cg/blkio' },
    v2: { mountpoint: '/cg/unified', controllers: ['hugetlb'] },
    named: {},
    mountRoots: {},
    root: '/',
  };

  it('puts each controller on its hierarchy, adds cpuacct beside cpu, and the unified dir', () => {
    const dirs = placeCgroup(hybrid, 'a/b', ['memory', 'hugetlb'], { controllers: ['cpu'] });
    expect(dirs.map((d) => [d.version, d.path, d.controllers])).toEqual([
      ['v2', '/cg/unified/a/b', ['hugetlb']],
      ['v1', '/cg/cpu/a/b', ['cpu']],
      ['v1', '/cg/cpuacct/a/b', ['cpuacct']],
      ['v1', '/cg/memory/a/b', ['memory']],
    ]);
  });

  it('leaves the unified dir out with unified: false, and refuses a needed v2 controller then', () => {
    expect(placeCgroup(hybrid, 'x', ['pids'], { unified: false, controllers: ['blkio'] }).map((d) => d.path)).toEqual(['/cg/blkio/x', '/cg/pids/x']);
    expect(() => placeCgroup(hybrid, 'x', ['hugetlb'], { unified: false })).toThrow(TypeError);
  });

  it('names a controller the host lacks in CgroupUnsupportedError', () => {
    expect(() => placeCgroup(hybrid, 'x', ['cpuset'])).toThrow(CgroupUnsupportedError);
    try {
      placeCgroup({ ...hybrid, v2: { mountpoint: '/cg/unified', controllers: [] } }, 'x', [], { controllers: ['devices'] });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ controller: 'devices', hierarchy: 'none' });
    }
  });

  it('normalizes paths and rejects traversal', () => {
    expect(normalizeCgroupPath('/stratum/t1/')).toBe('stratum/t1');
    for (const bad of ['', '/', 'a/../b', '..', 'a//b', './a', 'a\nb']) expect(() => normalizeCgroupPath(bad), bad).toThrow(TypeError);
  });
});
