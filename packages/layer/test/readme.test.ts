/** The README's Usage snippet runs as written and prints what its comments say. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guard } from '@stratum/testing';

describe('README', () => {
  it('the Usage snippet runs and prints what its comments say', (ctx) => {
    guard(ctx, 'tool:zstd');
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const usage = readme.slice(readme.indexOf('## Usage'));
    const code = /```ts\n([\s\S]*?)```/.exec(usage)?.[1];
    expect(code).toBeTruthy();
    const expected = code!
      .split('\n')
      .filter((l) => l.includes('console.log(') && l.includes('// '))
      .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
    // Inside the package, so that '@stratum/layer' resolves as it does for a user of the workspace.
    const file = join(import.meta.dirname, `.readme-snippet-stratum-${process.pid}.mts`);
    writeFileSync(file, code!);
    try {
      const r = spawnSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(expected);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
