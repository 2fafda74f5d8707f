/**
 * The README's Usage runs as written: the shell session line by line through the `stratum`
 * executable (its output compared with what the README shows, `…` matching what varies), and the
 * TypeScript snippet with its `// expected` comments.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { guard, useLeakCheck } from '@stratum/testing';
import { tempRoot } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const pkg = join(import.meta.dirname, '..');
const repo = join(pkg, '..', '..');
const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
const usage = readme.slice(readme.indexOf('## Usage'), readme.indexOf('## Structure'));

/** Steps of the session: `$ command` lines and the output lines after each. */
function session(): Array<{ command: string; expected: string[] }> {
  const block = /```sh\n([\s\S]*?)```/.exec(usage)![1]!;
  const steps: Array<{ command: string; expected: string[] }> = [];
  for (const line of block.trimEnd().split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
    else steps[steps.length - 1]!.expected.push(line);
  }
  return steps;
}

/** matches: each expected line is literal except `…` (anything on the line); a line that is only `…` stands for any number of lines. */
function matcher(expected: string[]): RegExp {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const body = expected.map((l) => (l === '…' ? '(?:[^\\n]*\\n)*?' : `${l.split('…').map(esc).join('[^\\n]*')}\\n`)).join('');
  return new RegExp(`^${body}$`);
}

describe('README', () => {
  let t: ReturnType<typeof tempRoot>;
  beforeEach(() => {
    t = tempRoot('readme');
  });
  afterEach(() => t.cleanup());

  it('the shell session runs and prints what the README shows', (ctx) => {
    guard(ctx, 'root', 'overlay', 'mount-ns', 'netns', 'nftables', 'tool:tsx');
    const bin = join(t.root, 'bin');
    mkdirSync(bin);
    // `stratum` as the README's reader has it after npm ci, here straight from the sources.
    const tsx = pathToFileURL(join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    writeFileSync(join(bin, 'stratum'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --conditions=stratum-source --import ${tsx} ${JSON.stringify(join(pkg, 'src', 'bin.ts'))} "$@"\n`);
    chmodSync(join(bin, 'stratum'), 0o755);
    const work = join(t.root, 'work');
    mkdirSync(work);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, STRATUM_ROOT: join(t.root, 'state'), DOCKER_CONFIG: join(t.root, 'docker') };
    const sh = (command: string): ReturnType<typeof spawnSync> => spawnSync('bash', ['-c', command], { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
    try {
      for (const step of session()) {
        const r = sh(step.command);
        expect({ command: step.command, status: r.status, stderr: r.stderr }).toEqual({ command: step.command, status: 0, stderr: '' });
        expect(String(r.stdout), step.command).toMatch(matcher(step.expected));
      }
    } finally {
      sh('stratum rm -f web1 b1; stratum network rm -f web');
    }
  });

  it('the TypeScript snippet prints what its comments say', (ctx) => {
    guard(ctx, 'tool:tsx');
    const code = /```ts\n([\s\S]*?)```/.exec(usage)![1]!;
    const expected = code
      .split('\n')
      .filter((l) => l.includes('console.log(') && l.includes('// '))
      .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
    // Inside the package so that '@stratum/cli' resolves as it does for a user of the workspace.
    const file = join(pkg, `.readme-snippet-stratum-${process.pid}.mts`);
    writeFileSync(file, code);
    try {
      const r = spawnSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], { cwd: repo, encoding: 'utf8', timeout: 60_000, env: { ...process.env, STRATUM_ROOT: join(t.root, 'state') } });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n')).toEqual(expected);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
