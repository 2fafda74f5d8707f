import { spawn as spawnChild } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '@stratum/oci';
import {
  ANONYMOUS_LABEL,
  InvalidContainerIdError,
  InvalidVolumeNameError,
  InvalidVolumeOptionError,
  VolumeConflictError,
  VolumeInUseError,
  VolumeNotFoundError,
  VolumeStore,
  defaultVolumeRoot,
} from '../src/index.js';
import { tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let store: VolumeStore;
beforeEach(async () => {
  tmp = tempDir('store');
  store = await VolumeStore.open(join(tmp.dir, 'volumes'));
});
afterEach(() => tmp[Symbol.dispose]());

const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function node(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawnChild(process.execPath, ['--conditions=stratum-source', '--import', tsx, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d) => (stderr += String(d)));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('VolumeStore: named volumes (docker volume create/ls/inspect/rm)', () => {
  it('create → inspect shows Docker\'s fields; the mountpoint is a directory', async () => {
    const v = await store.create('data1', { labels: { team: 'db' } });
    expect(v).toEqual({
      Name: 'data1',
      Driver: 'local',
      Mountpoint: join(store.root, 'data1', '_data'),
      Labels: { team: 'db' },
      Scope: 'local',
      CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      Options: {},
    });
    expect(statSync(v.Mountpoint).isDirectory()).toBe(true);
    expect(statSync(v.Mountpoint).mode & 0o777).toBe(0o755);
    expect(await store.inspect('data1')).toEqual(v);
    expect(statSync(store.root).mode & 0o777).toBe(0o701);
  });

  it('creating an existing name returns it unchanged (Docker); another driver conflicts', async () => {
    const a = await store.create('same', { labels: { a: '1' } });
    writeFileSync(join(a.Mountpoint, 'f'), 'keep');
    const b = await store.create('same', { labels: { b: '2' } });
    expect(b).toEqual(a);
    expect(readFileSync(join(a.Mountpoint, 'f'), 'utf8')).toBe('keep');
    await expect(store.create('same', { driver: 'nfs' })).rejects.toBeInstanceOf(InvalidVolumeOptionError);
  });

  it('concurrent creates of one name make one volume', async () => {
    const all = await Promise.all(Array.from({ length: 8 }, () => store.create('race')));
    expect(new Set(all.map((v) => v.CreatedAt)).size).toBe(1);
    expect(readdirSync(store.root)).toEqual(['race']);
  });

  it('anonymous volumes get a 64-hex name and the anonymous label', async () => {
    const v = await store.create();
    expect(v.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(v.Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
    expect((await store.create()).Name).not.toBe(v.Name);
  });

  it('bad names, options and drivers are typed errors and write nothing', async () => {
    for (const bad of ['a', '-x', '.hidden', 'a/b', '../up', 'a b', 'x'.repeat(256)]) {
      await expect(store.create(bad)).rejects.toBeInstanceOf(InvalidVolumeNameError);
      await expect(store.inspect(bad)).rejects.toBeInstanceOf(InvalidVolumeNameError);
    }
    await expect(store.create('v1', { options: { color: 'blue' } })).rejects.toMatchObject({ code: 'INVALID_VOLUME_OPTION', option: 'color' });
    await expect(store.create('v1', { options: { type: 'tmpfs' } })).rejects.toMatchObject({ option: 'device' });
    await expect(store.create('v1', { options: { o: 'size=1m' } })).rejects.toMatchObject({ option: 'o' });
    await expect(store.create('v1', { options: { type: 'none', device: 'relative', o: 'bind' } })).rejects.toBeInstanceOf(InvalidVolumeOptionError);
    await expect(store.create('v1', { driver: 'nfs' })).rejects.toMatchObject({ option: 'driver' });
    expect(readdirSync(store.root)).toEqual([]);
  });

  it('list with filters: name (substring), label key and key=value (all must match), driver, dangling', async () => {
    await store.create('web-data', { labels: { app: 'web', tier: 'front' } });
    await store.create('web-logs', { labels: { app: 'web' } });
    await store.create('db-data', { labels: { app: 'db' } });
    await store.acquire('db-data', 'c1');
    const names = async (filters: object): Promise<string[]> => (await store.list({ filters })).map((v) => v.Name);
    expect(await names({})).toEqual(['db-data', 'web-data', 'web-logs']);
    expect(await names({ name: 'web' })).toEqual(['web-data', 'web-logs']);
    expect(await names({ name: ['logs', 'db'] })).toEqual(['db-data', 'web-logs']);
    expect(await names({ label: 'tier' })).toEqual(['web-data']);
    expect(await names({ label: ['app=web', 'tier=front'] })).toEqual(['web-data']);
    expect(await names({ label: 'app=db' })).toEqual(['db-data']);
    expect(await names({ driver: 'local' })).toHaveLength(3);
    expect(await names({ dangling: true })).toEqual(['web-data', 'web-logs']);
    expect(await names({ dangling: false })).toEqual(['db-data']);
  });

  it('remove deletes; a missing volume is NOT_FOUND unless force', async () => {
    const v = await store.create('gone');
    writeFileSync(join(v.Mountpoint, 'f'), 'x');
    expect(await store.remove('gone')).toBe(true);
    expect(existsSync(join(store.root, 'gone'))).toBe(false);
    const e = await store.remove('gone').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VolumeNotFoundError);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as VolumeNotFoundError).code).toBe('NOT_FOUND');
    expect(await store.remove('gone', { force: true })).toBe(false);
    await expect(store.inspect('gone')).rejects.toBeInstanceOf(VolumeNotFoundError);
    expect(readdirSync(store.root)).toEqual([]);
  });

  it('a volume in use is refused by remove (force too) and prune; release frees it', async () => {
    await store.create('busy');
    await store.acquire('busy', 'ctr-1');
    await store.acquire('busy', 'ctr-2');
    await store.acquire('busy', 'ctr-1'); // idempotent
    expect(await store.users('busy')).toEqual(['ctr-1', 'ctr-2']);
    const e = (await store.remove('busy', { force: true }).catch((x: unknown) => x)) as VolumeInUseError;
    expect(e).toBeInstanceOf(VolumeInUseError);
    expect(e.code).toBe('VOLUME_IN_USE');
    expect(e.users).toEqual(['ctr-1', 'ctr-2']);
    expect((await store.prune({ all: true })).VolumesDeleted).toEqual([]);
    expect(await store.release('busy', 'ctr-1')).toBe(true);
    expect(await store.release('busy', 'ctr-1')).toBe(false);
    await expect(store.remove('busy')).rejects.toBeInstanceOf(VolumeInUseError);
    await store.release('busy', 'ctr-2');
    expect(await store.remove('busy')).toBe(true);
    expect(await store.release('busy', 'ctr-2')).toBe(false);
    await expect(store.acquire('busy', 'ctr-3')).rejects.toBeInstanceOf(VolumeNotFoundError);
    await expect(store.acquire('x1', '../evil')).rejects.toBeInstanceOf(InvalidContainerIdError);
  });

  it('prune removes unused anonymous volumes (all: unused named too) and counts the bytes', async () => {
    const anon = await store.create();
    writeFileSync(join(anon.Mountpoint, 'a'), Buffer.alloc(1000));
    linkSync(join(anon.Mountpoint, 'a'), join(anon.Mountpoint, 'a-link'));
    mkdirSync(join(anon.Mountpoint, 'd'));
    writeFileSync(join(anon.Mountpoint, 'd', 'b'), Buffer.alloc(24));
    const used = await store.create();
    await store.acquire(used.Name, 'c1');
    await store.create('named', { labels: { keep: 'no' } });
    await store.create('other');
    const first = await store.prune();
    expect(first).toEqual({ VolumesDeleted: [anon.Name], SpaceReclaimed: 1024 });
    expect((await store.prune({ all: true, filters: { label: 'keep' } })).VolumesDeleted).toEqual(['named']);
    expect((await store.prune({ all: true })).VolumesDeleted).toEqual(['other']);
    expect((await store.list()).map((v) => v.Name)).toEqual([used.Name]);
  });

  it('users are recorded without lost updates when several processes acquire at once', async () => {
    await store.create('shared');
    const procs = Array.from({ length: 4 }, (_, p) => node([fixture('acquire.ts'), store.root, 'shared', ...Array.from({ length: 8 }, (_, i) => `c${p}-${i}`)]));
    for (const r of await Promise.all(procs)) expect(r.stderr).toBe('');
    const users = await store.users('shared');
    expect(users).toHaveLength(32);
    expect(new Set(users).size).toBe(32);
    const rel = await node([fixture('acquire.ts'), store.root, 'shared', ...users.filter((u) => u.startsWith('c1-')).map((u) => `-${u}`)]);
    expect(rel.stderr).toBe('');
    expect(await store.users('shared')).toHaveLength(24);
  });

  it('open removes what a crashed process left (temp and trash dirs of dead pids) and keeps live ones', async () => {
    const dead = 2 ** 22 + 12345; // above pid_max's default: no such process
    mkdirSync(join(store.root, `.tmp-${dead}-abcd`, '_data'), { recursive: true });
    mkdirSync(join(store.root, `.trash-${dead}-abcd`, '_data'), { recursive: true });
    mkdirSync(join(store.root, `.tmp-1-abcd`));
    await store.create('kept');
    await VolumeStore.open(store.root);
    expect(readdirSync(store.root).sort()).toEqual(['.tmp-1-abcd', 'kept']);
    // a half-created directory never shows as a volume
    expect((await store.list()).map((v) => v.Name)).toEqual(['kept']);
  });

  it('defaultVolumeRoot: $STRATUM_ROOT/volumes, else the XDG data dir', () => {
    const saved = { STRATUM_ROOT: process.env['STRATUM_ROOT'], XDG_DATA_HOME: process.env['XDG_DATA_HOME'] };
    try {
      process.env['STRATUM_ROOT'] = '/srv/stratum';
      expect(defaultVolumeRoot()).toBe('/srv/stratum/volumes');
      delete process.env['STRATUM_ROOT'];
      process.env['XDG_DATA_HOME'] = '/xdg';
      expect(defaultVolumeRoot()).toBe('/xdg/stratum/volumes');
      delete process.env['XDG_DATA_HOME'];
      expect(defaultVolumeRoot()).toMatch(/\/\.local\/share\/stratum\/volumes$/);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });
});
