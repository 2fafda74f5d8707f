/** Containers from images in the store: config applied, layers unpacked once into the shared cache, pull errors. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Container, ImageUnavailableError, Runtime } from '../src/index.js';
import { busyboxImage, collect, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });


let imageId: string;
const t = useSuite('img', 238, { beforeAll, afterAll }, {
  setup: async (s) => {
    imageId = await busyboxImage(s.rt, s.rootfs, 'stratum-test/busybox:1', {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo "$GREETING from $(pwd) as $(id -un)"'],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello'],
      WorkingDir: '/home/app',
      User: 'app',
      Labels: { 'org.example.image': 'yes' },
    });
  },
});

describe('containers from images', () => {
  it('applies the image config (Entrypoint, Cmd, Env, WorkingDir, User, Labels) and overrides', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const a = await Container.run({ image: 'stratum-test/busybox:1', network: 'none' }, { runtime: t.rt });
    expect((await a.wait()).exitCode).toBe(0);
    expect(await collect(a.logs())).toBe('hello from /home/app as app\n');
    const i = await a.inspect();
    expect(i.Image).toBe(imageId);
    expect(i.Config.Image).toBe('stratum-test/busybox:1');
    expect(i.Config.Labels).toEqual({ 'org.example.image': 'yes' });
    expect(i.GraphDriver.Data.LowerDir.split(':')).toHaveLength(2);

    const b = await Container.run({ image: 'stratum-test/busybox:1', network: 'none', cmd: ['echo $GREETING $X; id -u'], env: { X: 'y' }, user: 'root' }, { runtime: t.rt });
    await b.wait();
    expect(await collect(b.logs())).toBe('hello y\n0\n');
    // One unpacked layer, shared.
    const layers = join(t.options.root, 'layers', 'sha256');
    expect(readdirSync(layers).filter((n) => !n.startsWith('.'))).toHaveLength(1);
    expect(i.GraphDriver.Data.LowerDir.split(':')[1]).toBe((await b.inspect()).GraphDriver.Data.LowerDir.split(':')[1]);
    // Their init layer (mount points, /etc files to bind onto) is shared too: one per image.
    const init = i.GraphDriver.Data.LowerDir.split(':')[0]!;
    expect(init.startsWith(join(t.options.root, 'layers', 'init'))).toBe(true);
    expect((await b.inspect()).GraphDriver.Data.LowerDir.split(':')[0]).toBe(init);
    expect(readdirSync(join(init, 'etc')).sort()).toEqual(['hostname', 'hosts', 'resolv.conf']);
    await a.remove();
    await b.remove();
    // gc({ layers: true }) drops cached layers no container uses; the next container unpacks again.
    const [diffID] = (await (await (await t.rt.store()).image('stratum-test/busybox:1')).config()).rootfs.diff_ids;
    const report = await t.rt.gc({ layers: true });
    expect(report.layers.sort()).toEqual([init, join(layers, diffID!.slice('sha256:'.length))].sort());
    expect(readdirSync(layers).filter((n) => !n.startsWith('.'))).toHaveLength(0);
    expect(existsSync(init)).toBe(false);
    const c = await Container.run({ image: 'stratum-test/busybox:1', network: 'none' }, { runtime: t.rt });
    expect((await c.wait()).exitCode).toBe(0);
    expect(readdirSync(layers).filter((n) => !n.startsWith('.'))).toHaveLength(1);
    expect(existsSync(init)).toBe(true);
    expect((await t.rt.gc({ layers: true })).layers).toEqual([]);
    await c.remove();
  });

  it('the container layer holds only the container\'s changes; the shared layer stays untouched', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const c = await Container.run({ image: 'stratum-test/busybox:1', network: 'none', user: 'root', entrypoint: ['sh', '-c'], cmd: ['echo x > /tmp/new; rm /bin/vi'] }, { runtime: t.rt });
    expect((await c.wait()).exitCode).toBe(0);
    const upper = (await c.inspect()).GraphDriver.Data.UpperDir!;
    expect(existsSync(join(upper, 'tmp', 'new'))).toBe(true);
    expect(statSync(join(upper, 'bin', 'vi')).isCharacterDevice()).toBe(true); // an overlay whiteout
    expect(existsSync(join(upper, 'proc'))).toBe(false); // mount points live in the init layer
    const lower = (await c.inspect()).GraphDriver.Data.LowerDir.split(':')[1]!;
    expect(existsSync(join(lower, 'bin', 'vi'))).toBe(true);
    await c.remove();
  });

  it('a shared init layer gone before the start (a gc racing a create) is made again', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    const c = await Container.create({ image: 'stratum-test/busybox:1', network: 'none', cmd: ['ls /proc /etc/hostname'] }, { runtime: t.rt });
    const init = (await c.inspect()).GraphDriver.Data.LowerDir.split(':')[0]!;
    rmSync(init, { recursive: true });
    await c.start();
    expect((await c.wait()).exitCode).toBe(0);
    expect(readdirSync(join(init, 'etc')).sort()).toEqual(['hostname', 'hosts', 'resolv.conf']);
    await c.remove();
  });

  it('a missing image that cannot be pulled is ImageUnavailableError, leaving nothing', async (ctx) => {
    guard(ctx, 'root');
    await using rt = await Runtime.open({ root: t.options.root, defaultNetwork: t.options.network, registry: { insecure: ['127.0.0.1:9'] } });
    const err = await Container.create({ image: '127.0.0.1:9/stratum/none:1', cmd: ['true'] }, { runtime: rt }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageUnavailableError);
    expect(err).toMatchObject({ code: 'IMAGE_UNAVAILABLE', ref: '127.0.0.1:9/stratum/none:1' });
    await using off = await Runtime.open({ root: t.options.root, defaultNetwork: t.options.network, pull: false });
    await expect(Container.create({ image: 'stratum-test/nope:1', cmd: ['true'] }, { runtime: off })).rejects.toThrow(/pulling is off/);
    expect(await Container.list({ runtime: t.rt, all: true })).toEqual([]);
  });

  it('gc waits for an unpack another process holds, and never cuts it short', async (ctx) => {
    guard(ctx, 'root', 'tool:flock');
    const layers = join(t.options.root, 'layers', 'sha256');
    mkdirSync(layers, { recursive: true });
    const hex = 'ab'.repeat(32);
    const tmp = join(layers, `.tmp-${hex}-0000cafe`);
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'file'), 'unpacked');
    // "Another process": holds the unpack's lock, then renames its temp dir into place.
    const holder = spawn('flock', [join(t.options.root, 'layers', `.lock-sha256-${hex}`), 'sh', '-c', `echo locked; sleep 0.5; mv '${tmp}' '${join(layers, hex)}'`]);
    const exited = new Promise((r) => holder.once('exit', r));
    await new Promise<void>((r) => holder.stdout.once('data', () => r()));
    await t.rt.gc();
    await exited;
    expect(readFileSync(join(layers, hex, 'file'), 'utf8')).toBe('unpacked');
    rmSync(join(layers, hex), { recursive: true, force: true });
    // A leftover nobody holds goes.
    mkdirSync(tmp);
    await t.rt.gc();
    expect(existsSync(tmp)).toBe(false);
  });
});

