/** The README's Usage snippet runs as written (as root) and shows the OOM kill. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';

useLeakCheck({ beforeEach, afterEach });

describe('README', () => {
  it('the memory-limit example runs and the process is OOM-killed', (ctx) => {
    guard(ctx, 'root', 'tool:tsx');
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(snippet).toMatch(/Cgroup\.create\('stratum-demo'/);
    // Inside the package so that '@stratum/cgroup' resolves as it does for a user of the workspace.
    const file = join(import.meta.dirname, `.readme-snippet-stratum-${process.pid}.ts`);
    writeFileSync(file, snippet);
    try {
      const r = spawnSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], {
        cwd: join(import.meta.dirname, '../../..'),
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, `snippet failed: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/cgroups on this host: (v1|v2|hybrid)\n/);
      expect(r.stdout).toMatch(/dd ended with SIGKILL\n/);
      expect(r.stdout).toMatch(/oom kills: [1-9]\d*, peak \d+ bytes, limit 67108864, pids limit 32\n/);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
