import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** ReadmeSnippetRun: what {@link runReadmeSnippet} ran and what came out. */
export interface ReadmeSnippetRun {
  /** The snippet's source. */
  code: string;
  /** What the snippet's `console.log(…); // TEXT` lines promise, in order (the text after `// `). */
  expected: string[];
  /** stdout as lines, trimmed at both ends. */
  lines: string[];
  stdout: string;
  stderr: string;
  status: number | null;
}

/**
 * runReadmeSnippet runs the first ```ts block after `section` (default `## Usage`) of a package's
 * README.md as a user's script: written into the package's test/ directory (so that
 * `@stratum/NAME` resolves as it does for a user of the workspace), run with node + tsx from the
 * repository root, then deleted. The caller asserts; `expected` collects the `// ` comments of the
 * snippet's `console.log` lines, the README convention for what a line prints. `testDir` (default
 * `test`) and `cwd` (default the repository root, two levels up) place it elsewhere.
 */
export function runReadmeSnippet(
  packageDir: string,
  opts: { section?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; testDir?: string; cwd?: string } = {},
): ReadmeSnippetRun {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const section = opts.section ?? '## Usage';
  const at = readme.indexOf(section);
  if (at < 0) throw new Error(`${packageDir}/README.md has no ${section} section`);
  const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (code === undefined) throw new Error(`${packageDir}/README.md has no ts block after ${section}`);
  const expected = code
    .split('\n')
    .filter((l) => l.includes('console.log(') && l.includes('// '))
    .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
  const file = join(packageDir, opts.testDir ?? 'test', `.readme-snippet-stratum-${process.pid}.mts`);
  writeFileSync(file, code);
  try {
    const r = spawnSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], {
      cwd: opts.cwd ?? join(packageDir, '..', '..'),
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 60_000,
      env: opts.env ?? process.env,
    });
    return { code, expected, lines: r.stdout.trim().split('\n'), stdout: r.stdout, stderr: r.stderr, status: r.status };
  } finally {
    rmSync(file, { force: true });
  }
}
