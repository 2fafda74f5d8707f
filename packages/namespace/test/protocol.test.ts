import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLONE, MS, initHelperPath } from '@stratum/native';
import { guard } from '@stratum/testing';
import {
  DEFAULT_MOUNTS,
  DOCKER_DEFAULT_CAPABILITIES,
  MessageReader,
  SpawnError,
  capabilityMasks,
  capabilityNumber,
  encodeSpec,
  prepareSpec,
  wireMount,
} from '../src/index.js';
import { FLAG, MAGIC, MOUNT_FLAG, MSG, STAGES, TAG, VERSION } from '../src/protocol.js';

function helper(args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(initHelperPath(), args, { input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('wire protocol', () => {
  it('has the same numbers as the helper', (ctx) => {
    guard(ctx, 'native');
    const r = helper(['--protocol']);
    expect(r.status).toBe(0);
    const p = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(p.magic).toBe(MAGIC);
    expect(p.version).toBe(VERSION);
    expect(p.tags).toEqual(TAG);
    expect(p.flags).toEqual(FLAG);
    expect(p.mountFlags).toEqual(MOUNT_FLAG);
    expect(p.messages).toEqual(MSG);
    expect(p.stages).toEqual(Object.fromEntries(Object.entries(STAGES).map(([n, s]) => [s, Number(n)])));
  });

  it('encodes a full spec that the helper decodes to the same values', (ctx) => {
    guard(ctx, 'native');
    const prepared = prepareSpec({
      argv: ['/bin/sh', '-c', 'echo "ü\\n"'],
      env: { A: '1', B: 'two words', C: undefined },
      cwd: '/work',
      namespaces: { pid: true, mount: true, uts: true, ipc: true, net: '/run/netns/x', user: { uidMap: [{ containerID: 0, hostID: 100000, size: 65536 }] }, cgroup: { pid: 42 } },
      hostname: 'box',
      domainname: 'example',
      rootfs: '/tmp/rootfs',
      rootfsPropagation: 'private',
      mounts: [...DEFAULT_MOUNTS, { destination: '/data', source: '/srv/data', options: ['rbind', 'ro', 'rslave', 'rro'] }],
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      user: { uid: 1000, gid: 1001, additionalGids: [5, 6] },
      capabilities: { bounding: ['CAP_KILL', 'NET_ADMIN'], permitted: ['CAP_KILL'], effective: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] },
      noNewPrivileges: true,
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 'unlimited' }],
      umask: 0o027,
      oomScoreAdj: -17,
      cgroup: ['/sys/fs/cgroup/pids/a/', '/sys/fs/cgroup/memory/a'],
      init: true,
      parentDeathSignal: 'SIGTERM',
      stdio: { tty: true, rows: 40, cols: 100 },
    });
    const r = helper(['--dump-spec'], encodeSpec(prepared.wire));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(d.argv).toEqual(['/bin/sh', '-c', 'echo "ü\\n"']);
    expect(d.env).toEqual(['A=1', 'B=two words']);
    expect(d.cwd).toBe('/work');
    expect(d.flags).toBe(FLAG.INIT | FLAG.NO_NEW_PRIVS | FLAG.TTY);
    expect(d.nsNew).toBe(CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWUSER);
    expect(d.joins).toEqual([
      { type: CLONE.NEWNET, path: '/run/netns/x' },
      { type: CLONE.NEWCGROUP, path: '/proc/42/ns/cgroup' },
    ]);
    expect(d.hostname).toBe('box');
    expect(d.domainname).toBe('example');
    expect(d.rootfs).toBe('/tmp/rootfs');
    expect(d.rootPropagation).toBe(MS.PRIVATE | MS.REC);
    const mounts = d.mounts as Array<Record<string, unknown>>;
    expect(mounts).toHaveLength(DEFAULT_MOUNTS.length + 1);
    expect(mounts[0]).toEqual({ flags: MS.NOSUID | MS.NOEXEC | MS.NODEV, propagation: 0, mflags: 0, source: 'proc', target: '/proc', fstype: 'proc', data: '' });
    // devpts' gid=5 is dropped: the new user namespace does not map gid 5 (runc spec --rootless).
    expect(mounts[2]!.data).toBe('newinstance,ptmxmode=0666,mode=0620');
    expect(prepareSpec({ argv: ['x'], namespaces: { mount: true }, mounts: DEFAULT_MOUNTS }).wire.mounts[2]!.data).toBe('newinstance,ptmxmode=0666,mode=0620,gid=5');
    expect(mounts.at(-1)).toEqual({
      flags: MS.BIND | MS.REC | MS.RDONLY,
      propagation: MS.SLAVE | MS.REC,
      mflags: MOUNT_FLAG.RECURSIVE_RO,
      source: '/srv/data',
      target: '/data',
      fstype: '',
      data: '',
    });
    // A tmpfs on /dev brings the standard nodes and symlinks.
    expect((d.devices as Array<{ path: string }>).map((x) => x.path)).toEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
    expect((d.devices as Array<Record<string, number>>)[0]).toMatchObject({ mode: 0o020666, major: 1, minor: 3 });
    expect(d.symlinks).toContainEqual({ target: '/proc/self/fd', link: '/dev/fd' });
    expect(d.maskedPaths).toEqual(['/proc/kcore']);
    expect(d.readonlyPaths).toEqual(['/proc/sys']);
    expect(d.cgroups).toEqual(['/sys/fs/cgroup/pids/a/cgroup.procs', '/sys/fs/cgroup/memory/a/cgroup.procs']);
    expect(d.user).toEqual({ uid: 1000, gid: 1001 });
    expect(d.groups).toEqual([5, 6]);
    const kill = 1n << 5n;
    expect(d.caps).toEqual([String(kill | (1n << 12n)), String(kill), String(kill), String(kill), String(kill)]);
    expect(d.rlimits).toEqual([{ resource: 7, soft: '1024', hard: '18446744073709551615' }]);
    expect(d.umask).toBe(0o027);
    expect(d.oomScoreAdj).toBe(-17);
    expect(d.pdeathsig).toBe(15);
    expect(d.tty).toEqual({ rows: 40, cols: 100 });
    expect(prepared.forks).toBe(true);
    expect(prepared.userMaps?.uidMap).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
  });

  it('the helper refuses a corrupt spec with a SPEC error record', (ctx) => {
    guard(ctx, 'native');
    const good = encodeSpec(prepareSpec({ argv: ['true'] }).wire);
    const bad = Buffer.from(good);
    bad.writeUInt32LE(0xdeadbeef, 4); // magic
    expect(helper(['--dump-spec'], bad).stderr).toMatch(/bad magic/);
    const short = Buffer.from(good);
    short.writeUInt32LE(0x7fffffff, 16); // the first field's length overruns the spec
    expect(helper(['--dump-spec'], short).stderr).toMatch(/overruns/);
  });

  it('the helper started by hand says what it is for', (ctx) => {
    guard(ctx, 'native');
    const r = spawnSync(initHelperPath(), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/started by @stratum\/namespace/);
  });

  it('reads messages split and joined across chunks', () => {
    const rec = (type: number, body: Buffer): Buffer => {
      const h = Buffer.alloc(8);
      h.writeUInt32LE(type, 0);
      h.writeUInt32LE(body.length, 4);
      return Buffer.concat([h, body]);
    };
    const err = Buffer.concat([Buffer.from([14, 0, 0, 0, 2, 0, 0, 0]), Buffer.from('mount\0/x y\0')]);
    const pid = Buffer.alloc(4);
    pid.writeUInt32LE(4242);
    const all = Buffer.concat([rec(MSG.MAP_REQUEST, pid), rec(MSG.ERROR, err), rec(MSG.EXEC_OK, Buffer.alloc(0))]);
    const r = new MessageReader();
    const out = [];
    for (let i = 0; i < all.length; i += 3) out.push(...r.push(all.subarray(i, i + 3)));
    expect(out).toEqual([
      { type: 'map-request', pid: 4242 },
      { type: 'error', stage: 'mount', errno: 2, syscall: 'mount', path: '/x y' },
      { type: 'exec-ok' },
    ]);
    expect(r.pending).toBe(0);
  });
});

describe('spec validation', () => {
  it('rejects malformed specs with TypeErrors naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ argv: [] }, /argv/],
      [{ argv: ['a\0b'] }, /argv\[0\]/],
      [{ argv: ['x'], hostname: 'h' }, /namespaces\.uts/],
      [{ argv: ['x'], rootfs: '/r' }, /new mount namespace/],
      [{ argv: ['x'], namespaces: { mount: true }, mounts: [{ destination: 'rel', type: 'tmpfs' }] }, /mounts\[0\]\.destination/],
      [{ argv: ['x'], namespaces: { mount: true }, mounts: [{ destination: '/x', options: ['bind'] }] }, /bind mount's host path/],
      [{ argv: ['x'], namespaces: { mount: true }, mounts: [{ destination: '/x' }] }, /needs a type/],
      [{ argv: ['x'], namespaces: { bogus: true } }, /unknown namespace/],
      [{ argv: ['x'], namespaces: { net: 'relative/path' } }, /absolute/],
      [{ argv: ['x'], namespaces: { net: { pid: -1 } } }, /pid/],
      [{ argv: ['x'], capabilities: ['CAP_NOPE'] }, /unknown capability/],
      [{ argv: ['x'], capabilities: { permitted: [], effective: ['CAP_KILL'] } }, /subset of permitted/],
      [{ argv: ['x'], rlimits: [{ type: 'RLIMIT_WAT', soft: 1, hard: 1 }] }, /RLIMIT/],
      [{ argv: ['x'], rlimits: [{ type: 'nofile', soft: 10, hard: 1 }] }, /soft is above hard/],
      [{ argv: ['x'], oomScoreAdj: 5000 }, /oomScoreAdj/],
      [{ argv: ['x'], stdio: ['pipe', 'pipe'] }, /three entries/],
      [{ argv: ['x'], stdio: ['pipe', 'pipe', 'loud'] }, /stdio\[2\]/],
      [{ argv: ['x'], parentDeathSignal: 'SIGNOPE' }, /parentDeathSignal/],
      [{ argv: ['x'], timeOffsets: { monotonic: 1 } }, /time namespace/],
      [{ argv: ['x'], env: ['NOEQUALS'] }, /KEY=VALUE/],
      [{ argv: ['x'], namespaces: { user: { uidMap: [{ containerID: 0, hostID: 1, size: 0 }] } } }, /size/],
      [{ argv: ['x'], namespaces: { net: { path: '/proc/self/fd/3', kind: 'uts' } } }, /uts namespace handle/],
    ];
    for (const [spec, msg] of bad) {
      expect(() => prepareSpec(spec as never), JSON.stringify(spec)).toThrow(TypeError);
      expect(() => prepareSpec(spec as never)).toThrow(msg);
    }
  });

  it('defaults: pipes, the caller\'s env without a rootfs, PATH only with one, root in a new user namespace', () => {
    const a = prepareSpec({ argv: ['x'] });
    expect(a.stdio).toEqual(['pipe', 'pipe', 'pipe']);
    expect(a.forks).toBe(false);
    expect(a.wire.env).toContain(`PATH=${process.env.PATH}`);
    const b = prepareSpec({ argv: ['x'], namespaces: { mount: true }, rootfs: '/r' });
    expect(b.wire.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    expect(b.wire.rootPropagation).toBe(MS.SLAVE | MS.REC);
    const c = prepareSpec({ argv: ['x'], namespaces: { user: {}, pid: true } });
    expect(c.userMaps).toEqual({ uidMap: [{ containerID: 0, hostID: process.geteuid!(), size: 1 }], gidMap: [{ containerID: 0, hostID: process.getegid!(), size: 1 }] });
    expect(c.wire.user).toEqual({ uid: 0, gid: 0 });
    expect(c.forks).toBe(true);
    // Joining a pid namespace also needs the fork; joining a time namespace does not.
    expect(prepareSpec({ argv: ['x'], namespaces: { pid: { pid: 1 } } }).forks).toBe(true);
    expect(prepareSpec({ argv: ['x'], namespaces: { time: { pid: 1 } } }).forks).toBe(false);
    // devices: [] turns the /dev population off.
    expect(prepareSpec({ argv: ['x'], namespaces: { mount: true }, mounts: DEFAULT_MOUNTS, devices: [] }).wire.symlinks).toEqual([]);
  });

  it('parses OCI mount options like runc', () => {
    expect(wireMount({ destination: '/m', type: 'tmpfs', options: ['ro', 'rw', 'noexec', 'exec', 'nodev', 'size=1m', 'mode=700'] }, 0)).toMatchObject({
      flags: MS.NODEV,
      data: 'size=1m,mode=700',
      fstype: 'tmpfs',
      source: 'tmpfs',
    });
    expect(wireMount({ destination: '/m', type: 'bind', source: '/s', options: ['rprivate'] }, 0)).toMatchObject({ flags: MS.BIND, propagation: MS.PRIVATE | MS.REC });
    expect(wireMount({ destination: '/m', source: '/s', options: ['bind', 'shared', 'nosuid'] }, 0)).toMatchObject({ flags: MS.BIND | MS.NOSUID, propagation: MS.SHARED });
  });

  it('maps capabilities by name and keeps Docker\'s default set', () => {
    expect(capabilityNumber('CAP_SYS_ADMIN')).toBe(21);
    expect(capabilityNumber('net_raw')).toBe(13);
    expect(capabilityNumber(40)).toBe(40);
    expect(DOCKER_DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(DOCKER_DEFAULT_CAPABILITIES).not.toContain('CAP_SYS_ADMIN');
    const [b, e, p, i, a] = capabilityMasks(DOCKER_DEFAULT_CAPABILITIES);
    expect(b).toBe(e);
    expect(p).toBe(b);
    expect(i).toBe(0n);
    expect(a).toBe(0n);
    expect(b & (1n << 21n)).toBe(0n);
    expect(b & (1n << 0n)).toBe(1n);
  });

  it('SpawnError carries the step, errno name and path, and a hint', () => {
    const e = new SpawnError({ step: 'pivot-root', errno: 22, syscall: 'pivot_root', path: '/r' });
    expect(e.code).toBe('EINVAL');
    expect(e.step).toBe('pivot-root');
    expect(e.path).toBe('/r');
    expect(e.message).toMatch(/pivot-root: pivot_root '\/r': EINVAL .*noPivotRoot/);
    expect(e.name).toBe('SpawnError');
  });
});
