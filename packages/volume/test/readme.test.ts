/** The README's Usage snippet runs as written (as root) and prints what the README says. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';

useLeakCheck({ beforeEach, afterEach });

describe('README', () => {
  it('the Usage snippet runs and prints the documented output', (ctx) => {
    guard(ctx, 'root', 'native', 'tool:tsx');
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const snippet = /## Usage[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    const printed = /\nprints\n\n```\n([\s\S]*?)```/.exec(readme)![1]!;
    // Inside the package so that '@stratum/volume' resolves as it does for a user of the workspace.
    const file = join(import.meta.dirname, `.readme-snippet-stratum-${process.pid}.ts`);
    writeFileSync(file, snippet);
    try {
      const r = spawnSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], {
        cwd: join(import.meta.dirname, '../../..'),
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(printed);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
