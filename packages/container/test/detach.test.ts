/**
 * detach: true — a detached monitor process starts the container, writes its log and records its
 * exit; other processes (and this one) see and manage it through the state dir.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { SpawnError } from '@stratum/namespace';
import { Container, type ContainerInspect, type ExitResult } from '../src/index.js';
import { collect, runScript, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach }, { graceMs: 5000 });


const t = useSuite('detach', 236, { beforeAll, afterAll });

describe('detached containers', () => {
  it('run -d: the monitor keeps logging; another process sees it running and stops it', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'nftables', 'tool:tsx');
    const c = await Container.run({ rootfs: t.rootfs, detach: true, init: true, cmd: ['sh', '-c', 'i=0; trap "echo bye; exit 5" TERM; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done'] }, { runtime: t.rt });
    expect(c.process).toBeUndefined(); // not monitored by this process
    await c.waitForLog('tick 3');
    const seen = await runScript<ContainerInspect>('runtime-op', { ...t.options, op: 'inspect', id: c.name });
    expect(seen.State).toMatchObject({ Status: 'running', Running: true, Pid: (await c.state()).Pid });
    expect(seen.NetworkSettings.IPAddress).toMatch(/^10\.236\./);
    const st = await c.state();
    expect(st.monitor?.pid).not.toBe(process.pid);
    const r = await runScript<ExitResult>('runtime-op', { ...t.options, op: 'stop', id: c.id });
    expect(r.exitCode).toBe(5);
    expect((await c.wait()).exitCode).toBe(5);
    const log = await collect(c.logs());
    expect(log).toMatch(/^tick 1\ntick 2\ntick 3\n(tick \d+\n)*bye\n$/);
    await c.remove();
  });

  it('a start failure in the monitor comes back as the same error', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'tool:tsx');
    const c = await Container.create({ rootfs: t.rootfs, detach: true, network: 'none', cmd: ['/bin/nope'] }, { runtime: t.rt });
    const err = await c.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpawnError);
    expect(err).toMatchObject({ step: 'exec', code: 'ENOENT' });
    const st = await c.state();
    expect(st).toMatchObject({ Status: 'created', ExitCode: 127, Running: false });
    await c.remove();
  });

  it('autoRemove: the monitor removes it after exit; wait() still reports the exit code', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'tool:tsx');
    const c = await Container.run({ rootfs: t.rootfs, detach: true, autoRemove: true, network: 'none', cmd: ['sh', '-c', 'sleep 0.2; exit 9'] }, { runtime: t.rt });
    expect((await c.wait()).exitCode).toBe(9);
    await expect(c.state()).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });
});
