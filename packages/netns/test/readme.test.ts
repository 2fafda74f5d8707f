/** The README's snippets run as written (root), and leave nothing behind. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard } from '@stratum/testing';
import { Netns, nftTableName } from '../src/index.js';
import { uid, useNetLeakCheck } from './helpers.js';

useNetLeakCheck({ beforeEach, afterEach });

const pkg = join(import.meta.dirname, '..');

beforeAll(async () => {
  if (process.getuid?.() === 0) await (await Netns.create(`stratum-warm-${uid()}`)).delete();
});

function snippets(): string[] {
  const md = readFileSync(join(pkg, 'README.md'), 'utf8');
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function runSnippet(code: string): { status: number | null; stdout: string; stderr: string } {
  // Inside the package, so that `@stratum/netns` resolves to these sources.
  const dir = mkdtempSync(join(pkg, '.readme-'));
  try {
    const file = join(dir, 'snippet.ts');
    writeFileSync(file, code);
    const tsx = join(pkg, '..', '..', 'node_modules', '.bin', 'tsx');
    const r = spawnSync(tsx, ['--conditions=stratum-source', file], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('README', () => {
  it("the seeds' by-hand example runs and pings", (ctx) => {
    guard(ctx, 'root', 'netns', 'native', 'tool:busybox', 'tool:nsenter');
    const [byHand] = snippets();
    const r = runSnippet(byHand!);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.stdout).toContain("[ '10.1.0.2/24' ]");
    expect(r.stdout).toContain('ping ok');
    expect(r.status).toBe(0);
  });

  it('the bridge network example runs and cleans up after itself', (ctx) => {
    guard(ctx, 'root', 'netns', 'native', 'nftables');
    const [, bridge] = snippets();
    const state = mkdtempSync('/tmp/stratum-readme-state-');
    const id = uid(2);
    const forward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    try {
      // Same code, with a private state dir, unique names and an unused subnet and ports.
      const code = bridge!
        .replace("'/var/lib/stratum/networks'", JSON.stringify(state))
        .replace("name: 'stratum-demo'", `name: 'stratum-demo${id}'`)
        .replace("bridge: 'stratum0'", `bridge: 'stbrdemo${id}'`)
        .replace("'10.88.0.0/16'", "'10.217.0.0/16'")
        .replace("'8080:80', '5353:53/udp'", `'${20000 + parseInt(id, 16) % 20000}:80', '${40001 + parseInt(id, 16) % 20000}:53/udp'`);
      const r = runSnippet(code);
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.stdout).toContain(`Backend: 'nftables'`);
      expect(r.status).toBe(0);
      expect(spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout).not.toContain(nftTableName(`stratum-demo${id}`));
    } finally {
      writeFileSync('/proc/sys/net/ipv4/ip_forward', forward); // the network turned it on, as Docker does
      rmSync(state, { recursive: true, force: true });
    }
  });
});
