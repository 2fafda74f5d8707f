import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MNT, MS, mount, umount2 } from '@stratum/native';
import { spawn } from '@stratum/namespace';
import { guard, useLeakCheck } from '@stratum/testing';
import { bindMount, parseMount, parseTmpfs, parseVolume, tmpfsMount, VolumeStore, type BindSpec } from '../src/index.js';
import { busyboxRootfs, sh, tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

let tmp: ReturnType<typeof tempDir>;
let rootfs: string;
beforeEach(() => {
  tmp = tempDir('mounts');
  rootfs = busyboxRootfs(join(tmp.dir, 'rootfs'));
});
afterEach(() => tmp[Symbol.dispose]());

describe('bind mounts in a spawned container', () => {
  it('a read-only bind really is read-only: a write fails with EROFS, the host file is untouched', async (ctx) => {
    guard(ctx, 'root', 'native');
    const host = join(tmp.dir, 'host');
    mkdirSync(host);
    writeFileSync(join(host, 'f'), 'original\n');
    const spec = parseVolume(`${host}:/mnt/data:ro`) as BindSpec;
    const r = await sh(rootfs, 'cat /mnt/data/f; echo changed > /mnt/data/f; echo new > /mnt/data/g; grep " /mnt/data " /proc/self/mounts', [bindMount(spec)]);
    expect(r.stdout).toMatch(/^original\n/);
    expect(r.stderr).toMatch(/can't create \/mnt\/data\/f: Read-only file system/);
    expect(r.stderr).toMatch(/can't create \/mnt\/data\/g: Read-only file system/);
    expect(r.stdout).toMatch(/ \/mnt\/data \S+ ro[,\s]/);
    expect(readFileSync(join(host, 'f'), 'utf8')).toBe('original\n');
    expect(existsSync(join(host, 'g'))).toBe(false);
  });

  it('a read-write bind writes through to the host', async (ctx) => {
    guard(ctx, 'root', 'native');
    const host = join(tmp.dir, 'rw');
    mkdirSync(host);
    const r = await sh(rootfs, 'echo from-container > /srv/out', [bindMount({ source: host, target: '/srv' })]);
    expect(r.stderr).toBe('');
    expect(readFileSync(join(host, 'out'), 'utf8')).toBe('from-container\n');
  });

  it('read-only is recursive by default (submounts too); bind-recursive=writable keeps submounts writable', async (ctx) => {
    guard(ctx, 'root', 'native');
    const host = join(tmp.dir, 'rec');
    mkdirSync(join(host, 'sub'), { recursive: true });
    mount({ source: 'stratum-test-sub', target: join(host, 'sub'), fstype: 'tmpfs', data: 'size=1m' });
    try {
      const ro = await sh(rootfs, 'echo x > /m/sub/f', [bindMount(parseMount(`type=bind,src=${host},dst=/m,readonly`) as BindSpec)]);
      expect(ro.stderr).toMatch(/Read-only file system/);
      const w = await sh(rootfs, 'echo x > /m/sub/f && cat /m/sub/f; echo y > /m/top', [
        bindMount(parseMount(`type=bind,src=${host},dst=/m,readonly,bind-recursive=writable`) as BindSpec),
      ]);
      expect(w.stdout).toBe('x\n');
      expect(w.stderr).toMatch(/can't create \/m\/top: Read-only file system/);
      // bind-recursive=disabled: the submount does not come along, its mount point is the empty dir.
      const flat = await sh(rootfs, 'ls -A /m/sub | wc -l', [bindMount({ source: host, target: '/m', recursive: 'disabled' })]);
      expect(flat.stdout.trim()).toBe('0');
    } finally {
      umount2(join(host, 'sub'), MNT.DETACH);
    }
  });

  it('rshared propagation: a mount made on the host after start shows up inside; rprivate keeps it out', async (ctx) => {
    guard(ctx, 'root', 'native');
    const host = join(tmp.dir, 'prop');
    mkdirSync(join(host, 'late'), { recursive: true });
    // The source must itself be a shared mount for rshared to connect the two.
    mount({ source: host, target: host, flags: MS.BIND });
    mount({ target: host, flags: MS.SHARED });
    try {
      await using p = await spawn({
        argv: ['/bin/sh', '-c', 'echo ready; read go; grep -c " /p/late " /proc/self/mounts; grep -c " /q/late " /proc/self/mounts'],
        namespaces: { mount: true, pid: true },
        rootfs,
        mounts: [
          { destination: '/proc', type: 'proc', source: 'proc' },
          bindMount({ source: host, target: '/p', propagation: 'rshared' }),
          bindMount({ source: host, target: '/q' }),
        ],
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: string[] = [];
      const ready = new Promise<void>((res) => p.stdout!.on('data', (d: Buffer) => (out.push(String(d)), out.join('').includes('ready\n') && res())));
      await ready;
      // The container is running with its mounts in place: now mount on the host.
      mount({ source: 'stratum-test-late', target: join(host, 'late'), fstype: 'tmpfs', data: 'size=1m' });
      try {
        p.stdin!.end('go\n');
        await p.wait();
        expect(out.join('')).toBe('ready\n1\n0\n');
      } finally {
        umount2(join(host, 'late'), MNT.DETACH);
      }
    } finally {
      umount2(host, MNT.DETACH);
    }
  });
});

describe('tmpfs mounts', () => {
  it('the size limit is enforced by the kernel (ENOSPC) and the mode applies', async (ctx) => {
    guard(ctx, 'root', 'native');
    const m = tmpfsMount(parseTmpfs('/scratch:size=1m,mode=1770'));
    const r = await sh(rootfs, 'stat -c %a /scratch; dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>&1; echo rc=$?; du -k /scratch/big', [m]);
    const [mode] = r.stdout.split('\n');
    expect(mode).toBe('1770');
    expect(r.stdout).toMatch(/No space left on device/);
    expect(r.stdout).toMatch(/rc=1/);
    const kb = Number(/^(\d+)\s+\/scratch\/big$/m.exec(r.stdout)?.[1]);
    expect(kb).toBeGreaterThan(0);
    expect(kb).toBeLessThanOrEqual(1024);
  });

  it('Docker defaults noexec,nosuid,nodev; exec overrides noexec', async (ctx) => {
    guard(ctx, 'root', 'native');
    const script = 'cp /bin/busybox /t/true && /t/true && echo ran; grep " /t " /proc/self/mounts';
    const def = await sh(rootfs, script, [tmpfsMount({ target: '/t' })]);
    expect(def.stdout).not.toMatch(/^ran$/m);
    expect(def.stderr).toMatch(/Permission denied/);
    expect(def.stdout).toMatch(/nosuid,nodev,noexec/);
    const exec = await sh(rootfs, script, [tmpfsMount({ target: '/t', options: ['exec'] })]);
    expect(exec.stdout).toMatch(/^ran$/m);
  });
});

describe('volumes with driver options (docker volume create -o type=tmpfs)', () => {
  it('the filesystem is mounted on first use, shared by users, unmounted after the last', async (ctx) => {
    guard(ctx, 'root', 'native');
    const store = await VolumeStore.open(join(tmp.dir, 'volumes'));
    const v = await store.create('stratum-tmpfs', { options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=0750' } });
    const isMounted = (): boolean => readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${v.Mountpoint} `);
    expect(isMounted()).toBe(false);
    const a = await store.attach('c-a', [parseVolume('stratum-tmpfs:/v')]);
    expect(isMounted()).toBe(true);
    const r = await sh(rootfs, 'stat -c %a /v; echo hi > /v/f; dd if=/dev/zero of=/v/big bs=1024 count=2048 2>&1 | grep -c "No space"', a.mounts);
    expect(r.stdout).toBe('750\n1\n');
    await store.attach('c-b', [parseVolume('stratum-tmpfs:/v')]);
    await store.detach('c-a');
    expect(isMounted()).toBe(true);
    expect(readFileSync(join(v.Mountpoint, 'f'), 'utf8')).toBe('hi\n');
    await store.detach('c-b');
    expect(isMounted()).toBe(false);
    await store.remove('stratum-tmpfs');
  });
});
