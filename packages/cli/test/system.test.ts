/** `stratum system prune`, `gc`, `info`, `version` against a real runtime in a temp root. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Store } from '@stratum/image';
import { guard, memoryImage, memoryLayer, randomTree, tarOf, useLeakCheck } from '@stratum/testing';
import { busyboxRootfs, stratum, tempRoot } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

describe('stratum system', () => {
  let t: ReturnType<typeof tempRoot>;
  beforeEach(() => {
    t = tempRoot('system');
  });
  afterEach(() => t.cleanup());
  const root = (): string => join(t.root, 'state');

  it('prune asks first (no answer = no), then removes stopped containers, unused networks, volumes and images with -a', async (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns', 'nftables');
    const rootfs = busyboxRootfs(join(t.root, 'rootfs'));
    {
      await using store = await Store.open(root());
      await store.write(await memoryImage([memoryLayer(await tarOf(randomTree({ seed: 5, files: 3 })))]), 'unused:1');
    }
    expect((await stratum(['run', '--name', 'done', '--rootfs', '--network', 'none', rootfs, 'true'], { root: root() })).code).toBe(0);
    expect((await stratum(['run', '-d', '--name', 'alive', '--rootfs', '--network', 'none', rootfs, 'sleep', '100'], { root: root() })).code).toBe(0);
    expect((await stratum(['network', 'create', '--subnet', '10.231.9.0/24', '-o', 'com.docker.network.bridge.name=stratum-clip0', 'stratum-cli-prune'], { root: root() })).code).toBe(0);
    expect((await stratum(['volume', 'create'], { root: root() })).code).toBe(0);
    try {
      const no = await stratum(['system', 'prune'], { root: root() });
      expect(no.stdout).toMatch(/^WARNING! This will remove:\n  - all stopped containers\n/);
      expect((await stratum(['ps', '-aq'], { root: root() })).stdout.trim().split('\n')).toHaveLength(2);
      const yes = await stratum(['system', 'prune', '-a', '--volumes'], { root: root(), stdin: 'y\n' });
      expect(yes.code).toBe(0);
      expect(yes.stdout).toMatch(/Deleted Containers:\n[0-9a-f]{64}\n/);
      expect(yes.stdout).toMatch(/Deleted Networks:\nstratum-cli-prune\n/);
      expect(yes.stdout).toMatch(/Deleted Volumes:\n[0-9a-f]{64}\n/);
      expect(yes.stdout).toMatch(/Deleted Images:\nuntagged: docker.io\/library\/unused:1\n(deleted: sha256:[0-9a-f]{64}\n)+/);
      expect(yes.stdout).toMatch(/Total reclaimed space: \d+(\.\d+)?[kMG]?B\n$/);
      expect((await stratum(['ps', '-a', '--format', '{{.Names}}'], { root: root() })).stdout).toBe('alive\n');
      expect((await stratum(['images', '-q'], { root: root() })).stdout).toBe('');
    } finally {
      await stratum(['rm', '-f', 'alive'], { root: root() });
      await stratum(['network', 'rm', '-f', 'stratum-cli-prune'], { root: root() });
    }
  });

  it('gc reports nothing to do on a clean root; info and version print and take templates', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    expect(await stratum(['gc'], { root: root() })).toEqual({ code: 0, stdout: 'nothing to clean up\n', stderr: '' });
    const info = await stratum(['info'], { root: root() });
    expect(info.stdout).toMatch(/^Containers: 0\n Running: 0\n/);
    expect(info.stdout).toContain(`Stratum Root Dir: ${root()}\n`);
    // The storage driver new containers get here (as root: kernel overlay).
    expect(info.stdout).toContain('Storage Driver: overlay\n');
    expect((await stratum(['info', '-f', '{{.Images}} {{json .Networks}}'], { root: root() })).stdout).toBe('0 ["bridge"]\n');
    expect((await stratum(['version', '--format', '{{.Client.Version}}'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
