import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, sandboxArgs, useLeakCheck } from '@stratum/testing';

// Property tests of resolveInRoot's userspace fallback against openat2, on random hostile
// trees. They run in a child under bwrap (read-only /, only the test's dir writable), so that
// neither a resolver bug nor the tree builder can touch the host.

useLeakCheck({ beforeEach, afterEach });

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'stratum-native-resolveprop-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const runs = Number(process.env.STRATUM_PROP_RUNS ?? 300);

function inBwrap(script: string): unknown {
  const r = spawnSync(
    'bwrap',
    [...sandboxArgs([base]),
      process.execPath, '--import', tsx, fixture(script), base, String(runs)],
    { encoding: 'utf8', timeout: 300_000 },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

describe('resolveInRoot fallback agrees with openat2', () => {
  it('opening (O_PATH, O_RDONLY, O_DIRECTORY, O_NOFOLLOW) on random trees and paths', (ctx) => {
    guard(ctx, 'tool:bwrap', 'mount-ns');
    const out = inBwrap('resolve-agree.ts') as { runs: number; failure: string | null; extra: string[] };
    expect(out.failure).toBeNull();
    expect(out.runs).toBeGreaterThanOrEqual(runs);
    expect(out.extra).toEqual([]);
  });

  it('creating (O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW): same places, same trees, nothing outside', (ctx) => {
    guard(ctx, 'tool:bwrap', 'mount-ns');
    const out = inBwrap('resolve-create-fuzz.ts') as { runs: number; failure: string | null; outside: string[]; extra: string[] };
    expect(out.failure).toBeNull();
    expect(out.runs).toBeGreaterThanOrEqual(runs);
    expect(out.outside).toEqual(['keep']);
    expect(out.extra).toEqual([]);
    expect(readdirSync(base).sort()).toEqual(['outside']);
  });
});
