/** The README's Usage snippet runs as written (as root): the seeds' commit walk-through end to end. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck } from '@stratum/testing';

useLeakCheck({ beforeEach, afterEach });

describe('README', () => {
  it('the usage example runs: run, logs, commit with a new CMD, export of the stopped container, the image serves its page through a published port', (ctx) => {
    guard(ctx, 'root', 'overlay', 'netns', 'nftables', 'tool:tsx');
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const snippet = /## Usage[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(snippet).toContain("b1.commit({ ref: 'httpd:1.1'");
    // Inside the package so that '@stratum/container' resolves as it does for a user of the workspace.
    const file = join(import.meta.dirname, `.readme-snippet-stratum-${process.pid}.ts`);
    writeFileSync(file, snippet);
    try {
      const r = spawnSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', file], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', timeout: 120_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = r.stdout.split('\n');
      expect(out[0]).toBe('exit: 0');
      expect(out[1]).toBe('log: box');
      expect(out[2]).toMatch(/^image: sha256:[0-9a-f]{12}$/);
      expect(out[3]).toBe('export: overlay true');
      expect(out[4]).toMatch(/^cmd: \[ '\/bin\/httpd', '-f', '-h', '\/www' \] ip: 10\.88\.\d+\.\d+$/);
      expect(out[5]).toBe('page: Welcome To My Httpd');
    } finally {
      rmSync(file, { force: true });
    }
  });
});
