/**
 * Bad and hostile archives: every one gives its typed error, both when loaded into a store and
 * when read in place, and the store gets no ref. Run in a child under bwrap (read-only /, only
 * the test's directory writable) with a canary outside the archive that must stay untouched.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, sandboxArgs, useLeakCheck } from '@stratum/testing';
import { cases } from './fixtures/hostile-cases.js';

useLeakCheck({ beforeEach, afterEach });

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'stratum-archive-hostile-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const runner = fileURLToPath(new URL('./fixtures/hostile-run.ts', import.meta.url));

describe('bad and hostile archives', () => {
  it('give typed errors, tag nothing, and touch nothing outside the store', (ctx) => {
    guard(ctx, 'tool:bwrap', 'mount-ns');
    mkdirSync(join(base, 'outside'));
    writeFileSync(join(base, 'outside', 'canary'), 'canary\n');
    const r = spawnSync(
      'bwrap',
      [...sandboxArgs([base]),
        process.execPath, '--conditions=stratum-source', '--import', tsx, runner, base],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const results = JSON.parse(r.stdout) as Array<{ name: string; load: unknown; read: unknown; refs: number }>;
    const expected = cases.map((c) => {
      if (c.expect.code === 'ok') return { name: c.name, load: 'ok', read: 'ok', refs: 1 };
      const want = (got: unknown): unknown => {
        const g = got as { code?: string; detail?: string };
        const detailOk = c.expect.detail === undefined || (Array.isArray(c.expect.detail) ? c.expect.detail.includes(g?.detail ?? '') : g?.detail === c.expect.detail);
        return g?.code === c.expect.code && detailOk ? got : { code: c.expect.code, detail: c.expect.detail };
      };
      const got = results.find((x) => x.name === c.name);
      return { name: c.name, load: want(got?.load), read: want(got?.read), refs: 0 };
    });
    expect(results).toEqual(expected);
    expect(readFileSync(join(base, 'outside', 'canary'), 'utf8')).toBe('canary\n');
    expect(readdirSync(join(base, 'outside'))).toEqual(['canary']);
    expect(readdirSync(base).sort()).toEqual(['outside', 'work']);
  });
});
