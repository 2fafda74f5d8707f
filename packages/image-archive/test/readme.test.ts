/** The README's Usage snippet runs (as a user's script would) and prints what its comments say. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pkg = join(import.meta.dirname, '..');

describe('README', () => {
  it('the Usage snippet runs and prints what its comments say', () => {
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
    const usage = readme.slice(readme.indexOf('## Usage'));
    const code = /```ts\n([\s\S]*?)```/.exec(usage)?.[1];
    expect(code).toBeTruthy();
    const expected = code!
      .split('\n')
      .filter((l) => l.includes('console.log(') && l.includes('// '))
      .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
    const dir = mkdtempSync(join(tmpdir(), 'stratum-archive-readme-'));
    try {
      symlinkSync(join(pkg, '..', '..', 'node_modules'), join(dir, 'node_modules'));
      writeFileSync(join(dir, 'snippet.mts'), code!);
      const out = execFileSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', 'snippet.mts'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(out.trim().split('\n')).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
