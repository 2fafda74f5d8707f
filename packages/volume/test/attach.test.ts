import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import {
  BindSourceNotFoundError,
  DuplicateMountPointError,
  InvalidContainerIdError,
  VolumeInUseError,
  VolumeStore,
  imageVolumes,
  parseMount,
  parseTmpfs,
  parseVolume,
  volumesFrom,
} from '../src/index.js';
import { busyboxRootfs, sh, tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

let tmp: ReturnType<typeof tempDir>;
let rootfs: string;
let store: VolumeStore;
beforeEach(async () => {
  tmp = tempDir('attach');
  rootfs = busyboxRootfs(join(tmp.dir, 'rootfs'));
  store = await VolumeStore.open(join(tmp.dir, 'volumes'));
});
afterEach(() => tmp[Symbol.dispose]());

describe('volumes-from (docker run --volumes-from)', () => {
  it('a second container gets the same volumes and binds; :ro makes them read-only; its own -v wins', async (ctx) => {
    guard(ctx, 'root', 'native');
    const conf = join(tmp.dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'app.conf'), 'port=80\n');
    const a = await store.attach('ctr-a', [parseVolume('shared:/data'), parseVolume('/cache'), parseVolume(`${conf}:/etc/app:ro`), parseTmpfs('/run')]);
    const anon = a.created.find((n) => n !== 'shared')!;
    expect(a.points.map((p) => [p.Type, p.Destination, p.RW, p.Mode])).toEqual([
      ['volume', '/data', true, ''],
      ['volume', '/cache', true, ''],
      ['tmpfs', '/run', true, ''],
      ['bind', '/etc/app', false, 'ro'],
    ]);
    const wa = await sh(rootfs, 'echo from-a > /data/x; echo cached > /cache/c; echo tmp > /run/t', a.mounts);
    expect(wa.stderr).toBe('');

    const own = join(tmp.dir, 'own-cache');
    const b = await store.attach('ctr-b', [...volumesFrom({ mounts: a.points }), parseVolume(`${own}:/cache`)]);
    const rb = await sh(rootfs, 'cat /data/x /etc/app/app.conf; ls -A /cache | wc -l; ls /run 2>&1 | wc -l; echo b > /data/b; echo nope > /etc/app/x', b.mounts);
    expect(rb.stdout).toBe('from-a\nport=80\n0\n0\n');
    expect(rb.stderr).toMatch(/can't create \/etc\/app\/x: Read-only file system/);
    expect(readFileSync(join(store.mountpoint('shared'), 'b'), 'utf8')).toBe('b\n');

    const c = await store.attach('ctr-c', volumesFrom({ mounts: a.points }, { readonly: true }));
    const rc = await sh(rootfs, 'cat /data/x /cache/c; echo no > /data/no', c.mounts);
    expect(rc.stdout).toBe('from-a\ncached\n');
    expect(rc.stderr).toMatch(/can't create \/data\/no: Read-only file system/);
    expect(existsSync(join(store.mountpoint('shared'), 'no'))).toBe(false);

    const d = await store.attach('ctr-d', volumesFrom({ mounts: a.points }, { readonly: false }));
    const rd = await sh(rootfs, 'echo yes > /etc/app/written', d.mounts);
    expect(rd.stderr).toBe('');
    expect(readFileSync(join(conf, 'written'), 'utf8')).toBe('yes\n');

    expect(await store.users('shared')).toEqual(['ctr-a', 'ctr-b', 'ctr-c', 'ctr-d']);
    expect(await store.users(anon)).toEqual(['ctr-a', 'ctr-c', 'ctr-d']);
    await expect(store.remove('shared')).rejects.toBeInstanceOf(VolumeInUseError);

    // docker rm -v: anonymous volumes go with the last container using them; named ones stay.
    expect(await store.detach('ctr-a', { removeAnonymous: true })).toEqual({ released: [anon, 'shared'].sort(), removed: [] });
    for (const id of ['ctr-b', 'ctr-c']) await store.detach(id, { removeAnonymous: true });
    expect(await store.detach('ctr-d', { removeAnonymous: true })).toEqual({ released: [anon, 'shared'].sort(), removed: [anon] });
    expect(await store.detach('ctr-d', { removeAnonymous: true })).toEqual({ released: [], removed: [] });
    expect((await store.list()).map((v) => v.Name)).toEqual(['shared']);
    expect(await store.remove('shared')).toBe(true);
  });

  it('image VOLUMEs become anonymous volumes where nothing else is mounted', async (ctx) => {
    guard(ctx, 'root', 'native');
    mkdirSync(join(rootfs, 'var', 'lib', 'db'), { recursive: true });
    writeFileSync(join(rootfs, 'var', 'lib', 'db', 'seed'), 'seed\n');
    const host = join(tmp.dir, 'logs');
    const att = await store.attach('ctr-img', [...imageVolumes({ '/var/lib/db': {}, '/var/log': {} }), parseVolume(`${host}:/var/log`)], { rootfs });
    expect(att.points.map((p) => [p.Type, p.Destination])).toEqual([
      ['bind', '/var/log'],
      ['volume', '/var/lib/db'],
    ]);
    expect(readFileSync(join(att.points[1]!.Source, 'seed'), 'utf8')).toBe('seed\n');
    expect(existsSync(host)).toBe(true); // -v creates a missing host directory
  });
});

describe('await using (docker run --rm)', () => {
  it('disposing the attachment releases its volumes and removes the anonymous ones it made', async () => {
    await store.create('kept');
    {
      await using att = await store.attach('ctr-rm', [parseVolume('kept:/a'), parseVolume('/b'), parseVolume('named-new:/c')]);
      expect(att.created).toHaveLength(2);
      expect(await store.users('kept')).toEqual(['ctr-rm']);
    }
    expect((await store.list()).map((v) => [v.Name, v.Name === 'kept' || v.Name === 'named-new'])).toEqual([
      ['kept', true],
      ['named-new', true],
    ]);
    expect((await store.list({ filters: { dangling: false } })).length).toBe(0);
  });
});

describe('attach is all or nothing', () => {
  it('refuses bad input before writing anything', async () => {
    await expect(store.attach('c1', [parseVolume('v1:/a'), parseMount(`type=bind,src=${join(tmp.dir, 'missing')},dst=/b`)])).rejects.toBeInstanceOf(BindSourceNotFoundError);
    await expect(store.attach('c1', [parseVolume('v1:/a'), parseVolume('v2:/a/')])).rejects.toBeInstanceOf(DuplicateMountPointError);
    await expect(store.attach('c1', [parseVolume('v1:/a'), parseMount('src=v2,dst=/b,volume-opt=color=red')])).rejects.toMatchObject({ code: 'INVALID_VOLUME_OPTION' });
    await expect(store.attach('bad id', [parseVolume('v1:/a')])).rejects.toBeInstanceOf(InvalidContainerIdError);
    expect(readdirSync(store.root)).toEqual([]);
  });

  it('a failure after some volumes were made undoes them (created removed, existing released)', async (ctx) => {
    guard(ctx, 'root', 'native');
    await store.create('existing');
    const err = await store
      .attach('c1', [parseVolume('existing:/a'), parseVolume('/b'), parseVolume('fresh:/c'), parseMount('src=broken,dst=/d,volume-opt=type=ext4,volume-opt=device=/nonexistent-stratum')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'mount' });
    expect((await store.list()).map((v) => v.Name)).toEqual(['existing']);
    expect(await store.users('existing')).toEqual([]);
  });
});
