/** stdio of a started container: -i (stdin fed), -t (a terminal), copies of the output to the caller; waitFor* timeouts. */
import { PassThrough, Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { Container, ContainerStateError, WaitTimeoutError } from '../src/index.js';
import { collect, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });


const t = useSuite('stdio', 243, { beforeAll, afterAll });

describe('stdio', () => {
  it('-i: stdin is fed; stdout and stderr are copied to the caller and logged apart', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns');
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (d: Buffer) => (o += d.toString()));
    err.on('data', (d: Buffer) => (e += d.toString()));
    const c = await Container.run({ rootfs: t.rootfs, network: 'none', interactive: true, cmd: ['sh', '-c', 'while read l; do echo "got $l"; echo "e $l" >&2; done'] }, { runtime: t.rt, stdin: Readable.from(['one\n', 'two\n']), stdout: out, stderr: err });
    expect((await c.wait()).exitCode).toBe(0);
    expect(o).toBe('got one\ngot two\n');
    expect(e).toBe('e one\ne two\n');
    expect(await collect(c.logs({ stderr: false }))).toBe('got one\ngot two\n');
    expect(await collect(c.logs({ stdout: false }))).toBe('e one\ne two\n');
    expect((await c.inspect()).Config.OpenStdin).toBe(true);
    await c.remove();
  });

  it('-t: a terminal; TERM=xterm; the output (both streams) is logged as stdout', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns');
    const c = await Container.run({ rootfs: t.rootfs, network: 'none', tty: true, cmd: ['sh', '-c', '[ -t 1 ] && echo terminal $TERM; echo to-stderr >&2'] }, { runtime: t.rt, rows: 30, cols: 100 });
    expect((await c.wait()).exitCode).toBe(0);
    expect((await collect(c.logs({ stderr: false }))).replace(/\r/g, '')).toBe('terminal xterm\nto-stderr\n');
    expect(await collect(c.logs({ stdout: false }))).toBe('');
    await c.remove();
  });

  it('waitForLog and waitForPort time out with WaitTimeoutError, and fail with ContainerStateError when it exits first', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns');
    await using c = await Container.run({ rootfs: t.rootfs, network: 'host', init: true, cmd: ['sh', '-c', 'echo hello; exec sleep 60'] }, { runtime: t.rt });
    await expect(c.waitForLog(/never/, { timeout: 300 })).rejects.toBeInstanceOf(WaitTimeoutError);
    expect((await c.waitForLog('hello')).text).toBe('hello\n');
    await expect(c.waitForPort(1, { timeout: 300 })).rejects.toBeInstanceOf(WaitTimeoutError);
    const d = await Container.run({ rootfs: t.rootfs, network: 'none', cmd: ['sh', '-c', 'echo bye'] }, { runtime: t.rt });
    await expect(d.waitForLog(/never/)).rejects.toBeInstanceOf(ContainerStateError);
    await d.remove();
  });
});
