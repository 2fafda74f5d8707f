/** docker run of an image that is not in the store pulls it from the registry (Debian's docker-registry on loopback). */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { RegistryClient } from '@stratum/registry-client';
import { Container, Runtime } from '../src/index.js';
import { busyboxImage, collect, tempDir, useSuite } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const t = useSuite('pull', 244, { beforeAll, afterAll }, { network: false });

async function untilListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (r.ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('docker-registry did not start');
}

describe('pull on create', () => {
  it('an image missing from the store is pulled, then runs', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'tool:docker-registry');
    const dir = tempDir('registry');
    const port = 15000 + (process.pid % 1000);
    writeFileSync(join(dir, 'config.yml'), `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\nlog:\n  level: error\n`);
    const registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
    try {
      await untilListening(port);
      // Push a busybox image from the suite's store.
      await busyboxImage(t.rt, t.rootfs, 'stratum-test/busybox:pull', { Cmd: ['sh', '-c', 'echo pulled and running'] });
      const client = new RegistryClient({ insecure: [`127.0.0.1:${port}`] });
      await client.push(await (await t.rt.store()).image('stratum-test/busybox:pull'), `127.0.0.1:${port}/stratum/busybox:1`);
      // A fresh state dir (an empty store) that may pull from it.
      await using rt = await Runtime.open({ root: join(dir, 'state'), registry: { insecure: [`127.0.0.1:${port}`] } });
      const c = await Container.run({ image: `127.0.0.1:${port}/stratum/busybox:1`, network: 'none' }, { runtime: rt });
      expect((await c.wait()).exitCode).toBe(0);
      expect(await collect(c.logs())).toBe('pulled and running\n');
      expect((await (await rt.store()).list()).map((e) => e.ref)).toContain(`127.0.0.1:${port}/stratum/busybox:1`);
      await c.remove();
    } finally {
      registry.kill('SIGKILL');
      await new Promise((r) => registry.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
