/** exec, pause/unpause, top, stats, restart, resources (memory OOM, pids, cpus), kill. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Cgroup } from '@stratum/cgroup';
import { Container, ContainerStateError } from '../src/index.js';
import { collect, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });


const t = useSuite('mgmt', 234, { beforeAll, afterAll });

async function text(s: NodeJS.ReadableStream | null): Promise<string> {
  let o = '';
  if (s) for await (const c of s) o += String(c);
  return o;
}

const sleeper = ['sh', '-c', 'echo started; trap "exit 0" TERM; while :; do sleep 0.05; done'];

describe('managing a running container', () => {
  it('exec with env, user, workdir; exec as tty', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns');
    await using c = await Container.run({ rootfs: t.rootfs, network: 'none', init: true, env: { A: '1' }, cmd: sleeper }, { runtime: t.rt });
    await c.waitForLog('started');
    const e = await c.exec(['sh', '-c', 'echo "$A $B $HOSTNAME"; id -u; pwd; echo err >&2'], { env: { B: '2' }, user: 'app', workdir: '/tmp' });
    const [o, err] = await Promise.all([text(e.stdout), text(e.stderr)]);
    expect(o).toBe(`1 2 ${c.shortId}\n1000\n/tmp\n`);
    expect(err).toBe('err\n');
    expect((await e.wait()).code).toBe(0);
    // (The pty comes from the host's devpts, so `tty` cannot name it inside; see namespace's caveats.)
    const tty = await c.exec(['sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo terminal; echo $TERM'], { tty: true });
    expect((await text(tty.stdout)).replace(/\r/g, '')).toBe('terminal\nxterm\n');
    await tty.wait();
    await c.stop();
    await expect(c.exec(['true'])).rejects.toBeInstanceOf(ContainerStateError);
  });

  it('pause freezes, unpause thaws; top lists the processes; stats reads the cgroup', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'nftables');
    await using c = await Container.run({ rootfs: t.rootfs, init: true, cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done'] }, { runtime: t.rt });
    await c.pause();
    expect((await c.inspect()).State).toMatchObject({ Status: 'paused', Paused: true, Running: true });
    const frozen = await c.exec(['true']).catch((e: unknown) => e);
    expect(frozen).toBeInstanceOf(ContainerStateError);
    await c.unpause();
    expect((await c.inspect()).State.Status).toBe('running');
    const top = await c.top();
    expect(top.Titles).toEqual(['UID', 'PID', 'PPID', 'STIME', 'TIME', 'CMD']);
    expect(top.Processes.some((p) => p[5]!.startsWith('sh -c i=0'))).toBe(true);
    expect(top.Processes.some((p) => p[5] === 'stratum-init')).toBe(true);
    const s = await c.stats();
    expect(s.cgroup.pids?.current).toBeGreaterThanOrEqual(2);
    expect(s.cgroup.memory?.current).toBeGreaterThan(0);
    expect(Object.keys(s.networks)).toEqual(['eth0']);
  });

  it('restart of a stopped container keeps its filesystem; kill sends a signal', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns');
    const c = await Container.create({ rootfs: t.rootfs, network: 'none', cmd: ['sh', '-c', 'echo run >> /tmp/runs; cat /tmp/runs | wc -l; exec sleep 1000'] }, { runtime: t.rt });
    await c.start();
    await c.waitForLog(/^1\n/);
    await c.kill('SIGKILL');
    expect((await c.wait()).exitCode).toBe(137);
    await c.start();
    await c.waitForLog(/^2\n/);
    expect((await c.inspect()).State.Running).toBe(true);
    await c.remove({ force: true });
    await expect(c.state()).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });

  it('memory limit: an allocation over it is OOM-killed and State.OOMKilled says so; pids and cpu limits reach the cgroup', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'cgroup-v1');
    const c = await Container.run(
      { rootfs: t.rootfs, network: 'none', resources: { memory: '32m', pidsLimit: 50, cpus: 0.5, cpuShares: 512, cpusetCpus: '0' }, cmd: ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.02; done; tail /dev/zero'] },
      { runtime: t.rt },
    );
    // While it waits, the cgroup has the limits.
    const st = await c.state();
    expect(st.Running).toBe(true);
    const cg = await Cgroup.open(st.held!.cgroup!);
    expect(readFileSync(join(cg.dir('memory')!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(32 * 1024 * 1024));
    expect(readFileSync(join(cg.dir('pids')!, 'pids.max'), 'utf8').trim()).toBe('50');
    expect(readFileSync(join(cg.dir('cpu')!, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
    expect(readFileSync(join(cg.dir('cpu')!, 'cpu.shares'), 'utf8').trim()).toBe('512');
    expect(readFileSync(join(cg.dir('cpuset')!, 'cpuset.cpus'), 'utf8').trim()).toBe('0');
    await (await c.exec(['touch', '/tmp/go'])).wait();
    const r = await c.wait();
    expect(r.exitCode).toBe(137);
    expect(r.oomKilled).toBe(true);
    const i = await c.inspect();
    expect(i.State.OOMKilled).toBe(true);
    expect(i.HostConfig).toMatchObject({ Memory: 32 * 1024 * 1024, PidsLimit: 50, NanoCpus: 5e8, CpuShares: 512, CpusetCpus: '0' });
    await c.remove();
  });

  it('pids limit stops a fork bomb from growing', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns');
    const c = await Container.run({ rootfs: t.rootfs, network: 'none', resources: { pidsLimit: 8 }, cmd: ['sh', '-c', 'for i in $(seq 20); do sleep 5 & done; echo never'] }, { runtime: t.rt });
    const r = await c.wait();
    expect(r.exitCode).not.toBe(0);
    const log = await collect(c.logs());
    expect(log).toMatch(/can't fork|Resource temporarily unavailable/);
    expect(log).not.toContain('never');
    await c.remove();
  });
});
