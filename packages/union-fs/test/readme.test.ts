/** The README's Usage snippet runs as a user's script would and prints what its comments say. */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, useLeakCheck, runReadmeSnippet } from '@stratum/testing';

useLeakCheck({ beforeEach, afterEach });

describe('README', () => {
  it('the Usage snippet runs and prints what its comments say', (ctx) => {
    guard(ctx, 'root', 'overlay', 'tool:tsx');
    const r = runReadmeSnippet(join(import.meta.dirname, '..'));
    expect(r.code).toMatch(/mountOverlay\(/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines).toEqual(r.expected);
  });
});
