/** The README's Usage snippet runs as written (as root) and prints what its comments say. */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';

useLeakCheck({ beforeEach, afterEach });

const pkg = join(import.meta.dirname, '..');

describe('README', () => {
  it('the Usage snippet runs and prints what its comments say', (ctx) => {
    guard(ctx, 'root', 'overlay', 'tool:tsx');
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
    const usage = readme.slice(readme.indexOf('## Usage'));
    const code = /```ts\n([\s\S]*?)```/.exec(usage)?.[1];
    expect(code).toMatch(/mountOverlay\(/);
    const expected = code!
      .split('\n')
      .filter((l) => l.includes('console.log(') && l.includes('// '))
      .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
    // Inside the package so that '@stratum/union-fs' resolves as it does for a user of the workspace.
    const file = join(import.meta.dirname, `.readme-snippet-stratum-${process.pid}.mts`);
    writeFileSync(file, code!);
    try {
      const out = execFileSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], { cwd: pkg, encoding: 'utf8', timeout: 60_000 });
      expect(out.trim().split('\n')).toEqual(expected);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
