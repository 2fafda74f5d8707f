/** Volumes through @stratum/volume: -v bind and named (copy-up), anonymous, --tmpfs, --volumes-from, rm -v. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { VolumeStore } from '@stratum/volume';
import { Container } from '../src/index.js';
import { collect, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });


const t = useSuite('vol', 237, { beforeAll, afterAll }, {
  setup: async (s) => {
    mkdirSync(join(s.rootfs, 'data'));
    writeFileSync(join(s.rootfs, 'data', 'from-image.txt'), 'image content\n');
  },
});

async function run(spec: Parameters<typeof Container.run>[0]): Promise<{ c: Container; out: string; code: number }> {
  const c = await Container.run({ rootfs: t.rootfs, network: 'none', ...spec }, { runtime: t.rt });
  const code = (await c.wait()).exitCode;
  return { c, out: await collect(c.logs()), code };
}

describe('volumes', () => {
  it('-v host:/ctr:ro, named volume with copy-up, anonymous volume, --tmpfs; Mounts in inspect', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const host = join(t.dir, 'host');
    mkdirSync(host);
    writeFileSync(join(host, 'h.txt'), 'from host\n');
    const a = await run({
      name: 'stratum-vol-a',
      volumes: [`${host}:/host:ro`, 'appdata:/data', '/scratch'],
      tmpfs: ['/run:size=1m'],
      cmd: ['sh', '-c', 'exec 2>&1; cat /host/h.txt; touch /host/x; cat /data/from-image.txt; echo new > /data/new.txt; echo s > /scratch/s; grep -c " /run tmpfs" /proc/mounts'],
    });
    expect(a.code).toBe(0);
    expect(a.out).toBe('from host\ntouch: /host/x: Read-only file system\nimage content\n1\n');
    const i = await a.c.inspect();
    const byDest = Object.fromEntries(i.Mounts.map((m) => [m.Destination, m]));
    expect(byDest['/host']).toMatchObject({ Type: 'bind', Source: host, RW: false });
    expect(byDest['/data']).toMatchObject({ Type: 'volume', Name: 'appdata', Driver: 'local', RW: true });
    expect(byDest['/scratch']).toMatchObject({ Type: 'volume', RW: true });
    expect(byDest['/scratch']!.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(byDest['/run']).toMatchObject({ Type: 'tmpfs' });
    expect(readFileSync(join(byDest['/data']!.Source, 'new.txt'), 'utf8')).toBe('new\n');

    // --volumes-from a:ro shares its volumes and binds (not the tmpfs).
    const b = await run({ volumesFrom: ['stratum-vol-a:ro'], cmd: ['sh', '-c', 'exec 2>&1; cat /data/new.txt /scratch/s; echo y > /data/y; test -e /run/x || echo no-tmpfs-inherited'] });
    expect(b.out).toBe('new\ns\nsh: can\'t create /data/y: Read-only file system\nno-tmpfs-inherited\n');
    await b.c.remove();

    const store = await VolumeStore.open(join(t.options.root, 'volumes'));
    const anon = byDest['/scratch']!.Name!;
    expect(await store.users('appdata')).toEqual([a.c.id]);
    await a.c.remove({ volumes: true });
    // rm -v: the anonymous volume goes, the named one stays (unused).
    expect(await store.has(anon)).toBe(false);
    expect(await store.has('appdata')).toBe(true);
    expect(await store.users('appdata')).toEqual([]);
    await store.remove('appdata');
  });

  it('duplicate mount points and missing bind sources fail at create, leaving nothing', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    await expect(Container.create({ rootfs: t.rootfs, volumes: ['/a:/x', '/b:/x'], cmd: ['true'] }, { runtime: t.rt })).rejects.toMatchObject({ code: 'DUPLICATE_MOUNT_POINT' });
    await expect(Container.create({ rootfs: t.rootfs, mounts: [`type=bind,source=${join(t.dir, 'missing')},target=/m`], cmd: ['true'] }, { runtime: t.rt })).rejects.toMatchObject({
      code: 'BIND_SOURCE_NOT_FOUND',
    });
    expect(await Container.list({ runtime: t.rt, all: true })).toEqual([]);
  });
});
