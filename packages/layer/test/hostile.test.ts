/**
 * Hostile layers (path traversal, symlink and hard link escapes, whiteouts and opaque markers
 * through symlinks, entries replacing symlinked parents, loops) applied in a child process under
 * bwrap (read-only /, only the test's directory writable), with canary files outside the roots
 * that must stay untouched — through openat2 and through the userspace fallback, which must agree.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, sandboxArgs, useLeakCheck } from '@stratum/testing';

useLeakCheck({ beforeEach, afterEach });

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'stratum-layer-hostile-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/hostile.ts', import.meta.url));
const runs = Number(process.env.STRATUM_PROP_RUNS ?? 150);

interface Report {
  failures: string[];
  errors: string[];
  outcomes: Array<{ scenario: string; mode: string; result: string; tree: string[] }>;
  propRuns: number;
  property: string | null;
}

describe('hostile layers cannot touch anything outside the root', () => {
  it('named attacks and random hostile layers, openat2 and fallback, in bwrap with canaries', (ctx) => {
    guard(ctx, 'tool:bwrap', 'mount-ns', 'root');
    const r = spawnSync(
      'bwrap',
      [...sandboxArgs([base]),
        process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, base, String(runs)],
      { encoding: 'utf8', timeout: 600_000, cwd: join(import.meta.dirname, '..') },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.failures).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(report.property).toBeNull();
    expect(report.propRuns).toBeGreaterThanOrEqual(runs);
    expect(readdirSync(base)).toEqual(['outside']);

    const by = (scenario: string, mode = 'openat2') => report.outcomes.find((o) => o.scenario === scenario && o.mode === mode)!;
    // The fallback resolver gives the same result and tree as openat2 in every scenario.
    for (const o of report.outcomes.filter((x) => x.mode === 'fallback')) {
      expect({ scenario: o.scenario, result: o.result, tree: o.tree }).toEqual({ scenario: o.scenario, result: by(o.scenario).result, tree: by(o.scenario).tree });
    }
    for (const o of report.outcomes.filter((x) => x.mode === 'overlay-fallback')) {
      expect(o.result).toBe(by(o.scenario, 'overlay').result);
      expect(o.tree).toEqual(by(o.scenario, 'overlay').tree);
    }
    // Clamped: the name lands inside the root.
    expect(by('dotdot file').result).toBe('ok');
    expect(by('dotdot file').tree.some((l) => l.startsWith('outside/canary ') && l.endsWith(Buffer.from('pwned').toString('hex')))).toBe(true);
    expect(by('dotdot file', 'strict').result).toBe('UNSAFE_LAYER_ENTRY');
    expect(by('absolute symlink parent').result).toBe('ok');
    expect(by('whiteout of dot-dot').result).toBe('UNSAFE_LAYER_ENTRY');
    expect(by('symlink loop').result).toBe('INVALID_LAYER_ENTRY');
    expect(by('hard link out').result).toBe('INVALID_LAYER_ENTRY');
    // A dangling symlink parent: its target is created inside the root (containerd's behaviour).
    expect(by('hard link to a symlink out, then written').result).toBe('ok');
    expect(by('hard link to a symlink out, then written').tree.some((l) => l.startsWith(`${base.slice(1)}/outside/canary/x `))).toBe(true);
    expect(by('absolute symlink parent').tree.some((l) => l.startsWith(`${base.slice(1)}/outside/dir/keep `))).toBe(true);
    // The symlink is replaced by a real directory holding the file.
    expect(by('entry replacing a symlinked parent').tree.filter((l) => l.startsWith('evil'))).toEqual([
      expect.stringMatching(/^evil\/ 40700$/),
      expect.stringMatching(new RegExp(`^evil/canary 100644 ${Buffer.from('inside now').toString('hex')}$`)),
    ]);
  });
});
