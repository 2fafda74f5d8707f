import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Container, ContainerStateError, NameConflictError } from '../src/index.js';
import { collect, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });


const t = useSuite('life', 231, { beforeAll, afterAll });

describe('lifecycle', () => {
  it('runs a command to exit, logs it, records the exit code', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'nftables');
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
    await c.remove();
    await expect(Container.get(c.id, { runtime: t.rt })).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });

  it('names are unique; get by name, id and prefix; list like ps -a', async (ctx) => {
    guard(ctx, 'root', 'overlay');
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
    guard(ctx, 'root', 'overlay', 'netns', 'nftables');
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
});
