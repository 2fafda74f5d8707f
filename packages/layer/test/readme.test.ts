/** The README's Usage snippet runs as a user's script would and prints what its comments say. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guard, runReadmeSnippet } from '@stratum/testing';

describe('README', () => {
  it('the Usage snippet runs and prints what its comments say', (ctx) => {
    guard(ctx, 'tool:zstd');
    const r = runReadmeSnippet(join(import.meta.dirname, '..'));
    expect(r.stderr).toBe('');
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines).toEqual(r.expected);
  });
});
