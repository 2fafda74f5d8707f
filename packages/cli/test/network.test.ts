/** `stratum network …` over the container runtime's bridge networks (real bridges, nft rules). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';
import { stratum, tempRoot } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

describe('stratum network', () => {
  let t: ReturnType<typeof tempRoot>;
  beforeEach(() => {
    t = tempRoot('network');
  });
  afterEach(() => t.cleanup());

  it('ls shows the predefined networks without making any; create, inspect -f, ls, rm', async (ctx) => {
    guard(ctx, 'root', 'netns', 'nftables');
    const root = t.root;
    const ls = await stratum(['network', 'ls'], { root });
    expect(ls.code).toBe(0);
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1))).toEqual([
      ['bridge', 'bridge', 'local'],
      ['host', 'host', 'local'],
      ['none', 'null', 'local'],
    ]);
    const created = await stratum(['network', 'create', '--subnet', '10.231.7.0/24', '-o', 'com.docker.network.bridge.name=stratum-clit0', 'stratum-cli-net'], { root });
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    try {
      const id = created.stdout.trim();
      const insp = await stratum(['network', 'inspect', '-f', '{{.Name}} {{.Driver}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{index .Options "com.docker.network.bridge.name"}}', id.slice(0, 10)], { root });
      expect(insp).toEqual({ code: 0, stdout: 'stratum-cli-net bridge 10.231.7.0/24 10.231.7.1 stratum-clit0\n', stderr: '' });
      expect((await stratum(['network', 'ls', '-q', '--no-trunc', '--filter', 'name=cli-net'], { root })).stdout).toBe(`${id}\n`);
      expect((await stratum(['network', 'ls', '--format', '{{.Name}}', '--filter', 'type=custom'], { root })).stdout).toBe('stratum-cli-net\n');
      const dup = await stratum(['network', 'create', 'stratum-cli-net'], { root });
      expect(dup.code).toBe(125);
      expect(dup.stderr).toMatch(/^stratum network create: network with name stratum-cli-net already exists/);
    } finally {
      expect(await stratum(['network', 'rm', 'stratum-cli-net'], { root })).toEqual({ code: 0, stdout: 'stratum-cli-net\n', stderr: '' });
    }
    expect((await stratum(['network', 'ls', '-q'], { root })).stdout.trim().split('\n')).toHaveLength(3);
  });

  it('errors: pre-defined networks, unknown names, unsupported drivers', async (ctx) => {
    guard(ctx, 'root');
    const root = t.root;
    const rm = await stratum(['network', 'rm', 'host', 'nosuch'], { root });
    expect(rm.code).toBe(1);
    expect(rm.stderr).toBe('stratum network rm: host is a pre-defined network and cannot be removed\nstratum network rm: no such network: nosuch\n');
    expect((await stratum(['network', 'rm', '-f', 'nosuch'], { root })).code).toBe(0);
    const drv = await stratum(['network', 'create', '-d', 'overlay', 'x'], { root });
    expect(drv).toMatchObject({ code: 125, stderr: 'stratum network create: network driver "overlay" is not supported (only bridge)\n' });
    const none = await stratum(['network', 'inspect', '-f', '{{.Driver}}', 'none'], { root });
    expect(none.stdout).toBe('null\n');
  });
});
