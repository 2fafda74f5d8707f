/** The root README's container snippet runs as written (as root) and prints what its comments say. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, runReadmeSnippet, useLeakCheck } from '@stratum/testing';

useLeakCheck({ beforeEach, afterEach });

describe('README', () => {
  it('a container from Node, thrown away with await using', (ctx) => {
    guard(ctx, 'root', 'overlay', 'tool:busybox');
    const tmp = mkdtempSync(join(tmpdir(), 'stratum-root-readme-'));
    try {
      const root = join(import.meta.dirname, '..');
      const r = runReadmeSnippet(root, { section: '## A container from Node', testDir: 'test', cwd: root, env: { ...process.env, TMPDIR: tmp } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.lines).toEqual(r.expected);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
