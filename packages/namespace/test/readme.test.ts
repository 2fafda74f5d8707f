/** The README's Usage snippets run as written (as root). */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';

useLeakCheck({ beforeEach, afterEach });

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

function runSnippet(code: string): { status: number | null; stdout: string; stderr: string } {
  // Inside the package so that '@stratum/namespace' resolves as it does for a user of the workspace.
  const file = join(import.meta.dirname, `.readme-snippet-stratum-${process.pid}.ts`);
  writeFileSync(file, code);
  try {
    return spawnSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], {
      cwd: join(import.meta.dirname, '../../..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
  } finally {
    rmSync(file, { force: true });
  }
}

describe('README', () => {
  it('has the two usage snippets', () => {
    expect(snippets).toHaveLength(2);
  });

  it('the unshare + hostname example runs', (ctx) => {
    guard(ctx, 'root', 'native', 'tool:tsx');
    const r = runSnippet(snippets[0]!);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('inside: container1, changed-inside\nexit: { code: 0, signal: null }\nhost still: true\n');
  });

  it('the container + enter example runs', (ctx) => {
    guard(ctx, 'root', 'native', 'tool:tsx', 'tool:busybox');
    try {
      const r = runSnippet(snippets[1]!);
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe('demo');
      expect(r.stdout).toMatch(/^\s*1 stratum-init$/m);
      expect(r.stdout).toMatch(/^\s*\d+ sh$/m);
      expect(r.stdout).toContain('{ code: 0, signal: null }');
    } finally {
      if (existsSync('/tmp/stratum-readme-rootfs')) rmSync('/tmp/stratum-readme-rootfs', { recursive: true, force: true });
    }
  });
});
