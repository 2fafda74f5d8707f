/** The README's Usage snippet runs as written and prints what its comments say. */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const pkg = join(import.meta.dirname, '..');

describe('README', () => {
  it('the Usage snippet runs and prints what its comments say', () => {
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Usage')))?.[1];
    expect(code).toBeTruthy();
    const expected = code!
      .split('\n')
      .filter((l) => l.includes('console.log(') && l.includes('// '))
      .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
    // Inside the package, so that '@stratum/testing' resolves as it does for a workspace user.
    const file = join(pkg, 'test', `.readme-snippet-stratum-${process.pid}.mts`);
    writeFileSync(file, code!);
    try {
      const out = execFileSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], { cwd: join(pkg, '../..'), encoding: 'utf8' });
      expect(out.trim().split('\n')).toEqual(expected);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
