/**
 * The lifecycle — run to exit, names, stop through the init, export of a stopped container —
 * once per storage driver (overlay, fuse-overlayfs, vfs), as union-fs runs one suite over every
 * driver.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Container, ContainerStateError, NameConflictError } from '../src/index.js';
import { DRIVERS, collect, tarListing, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

for (const { name: driver, needs } of DRIVERS) {
  const t = useSuite('life', 231, { beforeAll, afterAll }, { driver });

  describe(`lifecycle (${driver})`, () => {
    it('runs a command to exit, logs it, records the exit code', async (ctx) => {
      guard(ctx, ...needs, 'netns', 'nftables');
      const c = await Container.run({ rootfs: t.rootfs, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] }, { runtime: t.rt });
      const r = await c.wait();
      expect(r.exitCode).toBe(3);
      const st = await c.state();
      expect(st.Status).toBe('exited');
      expect(st.held).toBeUndefined();
      expect(await collect(c.logs({ stdout: true, stderr: false }))).toBe('out\n');
      expect(await collect(c.logs({ stdout: false }))).toBe('err\n');
      const i = await c.inspect();
      expect(i.State.ExitCode).toBe(3);
      expect(i.Path).toBe('sh');
      expect(i.Name).toBe(`/${c.name}`);
      expect(i.Config.Hostname).toBe(c.id.slice(0, 12)); // as Docker: the short id without -h
      expect(i.Driver).toBe(driver);
      expect(await t.rt.storageDriver()).toMatchObject({ name: driver });
      expect(i.GraphDriver.Name).toBe(driver);
      expect(i.GraphDriver.Data.LowerDir.split(':')).toEqual([join(t.options.root, 'containers', c.id, 'init'), t.rootfs]);
      await c.remove();
      await expect(Container.get(c.id, { runtime: t.rt })).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    });

    it('names are unique; get by name, id and prefix; list like ps -a', async (ctx) => {
      guard(ctx, ...needs);
      const a = await Container.create({ rootfs: t.rootfs, name: 'stratum-web', cmd: ['true'], network: 'none' }, { runtime: t.rt });
      await expect(Container.create({ rootfs: t.rootfs, name: 'stratum-web', cmd: ['true'] }, { runtime: t.rt })).rejects.toBeInstanceOf(NameConflictError);
      expect((await Container.get('stratum-web', { runtime: t.rt })).id).toBe(a.id);
      expect((await Container.get(a.shortId, { runtime: t.rt })).id).toBe(a.id);
      expect(a.id).toMatch(/^[0-9a-f]{64}$/);
      expect(await Container.list({ runtime: t.rt })).toEqual([]);
      const all = await Container.list({ runtime: t.rt, all: true });
      expect(all.map((s) => s.Names[0])).toEqual(['/stratum-web']);
      expect(all[0]!.Status).toBe('Created');
      await a.remove();
    });

    it('stop sends SIGTERM through the init, then the container is gone with await using', async (ctx) => {
      guard(ctx, ...needs, 'netns', 'nftables');
      let id: string;
      {
        await using c = await Container.run({ rootfs: t.rootfs, init: true, cmd: ['sh', '-c', 'trap "echo term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'] }, { runtime: t.rt });
        id = c.id;
        await c.waitForLog(/ready/);
        const i = await c.inspect();
        expect(i.State.Running).toBe(true);
        expect(i.NetworkSettings.IPAddress).toMatch(/^10\.231\./);
        expect((await Container.list({ runtime: t.rt })).map((s) => s.Id)).toEqual([c.id]);
        await expect(c.remove()).rejects.toBeInstanceOf(ContainerStateError);
        const r = await c.stop({ timeout: 5 });
        expect(r.exitCode).toBe(7);
        expect(await collect(c.logs())).toBe('ready\nterm\n');
      }
      await expect(Container.get(id, { runtime: t.rt })).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    });

    it('export: the filesystem of a stopped container (mounted for the export) and of a running one, as a tar', async (ctx) => {
      guard(ctx, ...needs, 'netns');
      const c = await Container.run({ rootfs: t.rootfs, network: 'none', cmd: ['sh', '-c', 'mkdir -p /srv/www && echo page > /srv/www/index.html && rm /bin/vi && rm -r /home/app'] }, { runtime: t.rt });
      expect((await c.wait()).exitCode).toBe(0);
      expect((await c.state()).held).toBeUndefined(); // stopped: nothing mounted
      const file = join(t.dir, `export-${driver}.tar`);
      const r = await c.export(file);
      const entries = await tarListing(file);
      expect(r.size).toBe(readFileSync(file).length);
      expect(entries.get('srv/www/index.html')).toMatchObject({ type: 'file', data: 'page\n' });
      expect(entries.get('bin/busybox')).toMatchObject({ type: 'file', mode: 0o755 });
      expect(entries.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
      expect(entries.has('bin/vi')).toBe(false);
      expect(entries.has('home/app')).toBe(false);
      expect([...entries.keys()].some((n) => n.includes('.wh.'))).toBe(false);
      // The init layer's mount points are there, empty, as in `docker export`.
      expect(entries.get('etc/hosts')).toMatchObject({ type: 'file', data: '' });
      expect(entries.get('proc')).toMatchObject({ type: 'directory' });
      expect((await c.state()).held).toBeUndefined(); // and unmounted again
      await c.remove();
      // A running container: its live root, into a stream.
      const d = await Container.run({ rootfs: t.rootfs, network: 'none', init: true, cmd: ['sh', '-c', 'echo live > /live; echo ready; exec sleep 60'] }, { runtime: t.rt });
      await d.waitForLog('ready');
      const out: Buffer[] = [];
      const sink = new PassThrough();
      sink.on('data', (b: Buffer) => out.push(b));
      await d.export(sink);
      expect((await tarListing(Buffer.concat(out))).get('live')).toMatchObject({ type: 'file', data: 'live\n' });
      await d.remove({ force: true });
    });
  });
}

const legacy = useSuite('life-legacy', 231, { beforeAll, afterAll }, { network: false });

describe('records from before the storage drivers', () => {
  it('a container recorded without a driver (overlay, upper dir diff/) is shown, committed and started as before', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const c = await Container.run({ rootfs: legacy.rootfs, network: 'none', cmd: ['sh', '-c', 'echo old > /root/old'] }, { runtime: legacy.rt });
    expect((await c.wait()).exitCode).toBe(0);
    // What such a record looked like: no `driver`, the overlay's upper dir in diff/.
    const dir = join(legacy.options.root, 'containers', c.id);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete config.driver;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    renameSync(join(dir, 'upper'), join(dir, 'diff'));
    const old = await Container.get(c.id, { runtime: legacy.rt });
    const i = await old.inspect();
    expect(i.GraphDriver).toMatchObject({ Name: 'overlay', Data: { UpperDir: join(dir, 'diff') } });
    const r = await old.commit({ ref: 'stratum-test/legacy:1', compression: 'none' });
    const store = await legacy.rt.store();
    expect((await tarListing(store.blobs.path(r.layer.digest))).get('root/old')).toMatchObject({ data: 'old\n' });
    // The first prepare moved diff/ to upper/; the container keeps its changes.
    expect((await old.inspect()).GraphDriver.Data.UpperDir).toBe(join(dir, 'upper'));
    await old.start();
    await old.wait();
    await old.remove();
  });
});
