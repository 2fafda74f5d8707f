/**
 * A vitest test that uses a throwaway container — what testcontainers does, with no daemon and
 * no reaper: `await using` stops and removes the container when the test's block ends, whatever
 * happened in it; `waitForLog` and `waitForPort` wait for the service to be ready.
 *
 *   CI=true npx vitest run examples/throwaway-container.test.ts      (as root)
 *
 * The image (busybox-static FROM scratch) and the state dir are made once for the file; the
 * state dir's default bridge network is created up front, so that each test's leak check sees
 * only what that test made (container, cgroup, veth, mount, processes) — and that it is gone.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Container } from '@stratum/container';
import { guard, missing, useLeakCheck, type Capability } from '@stratum/testing';
import { busyboxTree, imageFromTree } from './lib/busybox.js';
import { freePort, httpGet } from './lib/net.js';
import { exampleRuntime, type ExampleRuntime } from './lib/runtime.js';

const needs: Capability[] = ['root', 'overlay', 'netns', 'nftables'];

describe('a web server in a throwaway container', () => {
  let ex: ExampleRuntime | undefined;

  beforeAll(async () => {
    if (missing(...needs).length > 0) return; // each test's guard says why (and fails under CI=true)
    ex = await exampleRuntime('vitest', '10.178.10.0/24');
    await imageFromTree(ex.store, busyboxTree(join(ex.dir, 'rootfs')), 'web:test', {
      Cmd: ['sh', '-c', 'echo "hello from $(hostname)" > /var/www/index.html; echo "web server ready"; exec httpd -f -v -p 80 -h /var/www'],
    });
    await ex.rt.networks.get(); // the default bridge network, made once for the file
  });
  afterAll(async () => {
    await ex?.[Symbol.asyncDispose]();
  });
  useLeakCheck({ beforeEach, afterEach });

  it('waits for its log line and its port, then answers over the bridge', async (ctx) => {
    guard(ctx, ...needs);
    await using web = await Container.run({ image: 'web:test', hostname: 'web1', init: true }, { runtime: ex!.rt });
    const ready = await web.waitForLog(/ready/);
    expect(ready.text.trim()).toBe('web server ready');
    await web.waitForPort(80);
    const ip = (await web.inspect()).NetworkSettings.IPAddress;
    expect(ip).toMatch(/^10\.178\.10\.\d+$/);
    const res = await httpGet(`http://${ip}/`);
    expect(res).toEqual({ status: 200, body: 'hello from web1\n' });
  });

  it('publishes a port on the host and runs commands inside (exec)', async (ctx) => {
    guard(ctx, ...needs);
    const port = await freePort();
    await using web = await Container.run({ image: 'web:test', hostname: 'web2', init: true, ports: [`127.0.0.1:${port}:80`] }, { runtime: ex!.rt });
    await web.waitForPort(80);
    expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe('hello from web2\n');

    // docker exec web wget -qO- http://127.0.0.1/ — from inside the container's own namespaces.
    const p = await web.exec(['wget', '-qO-', 'http://127.0.0.1/']);
    let out = '';
    for await (const chunk of p.stdout!) out += String(chunk);
    expect(await p.wait()).toEqual({ code: 0, signal: null });
    expect(out).toBe('hello from web2\n');
    // httpd -v logs each request with the client's address: the one from inside came from 127.0.0.1.
    await web.waitForLog(/127\.0\.0\.1/);
  });
});
