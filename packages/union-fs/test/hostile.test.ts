/**
 * Hostile layers, in a child under bwrap (read-only /, only the test's dir writable) with canary
 * files outside the layers: vfs prepare never deletes or writes through a layer's symlink, and
 * UnionView never reads outside the view — whatever the names, links and whiteouts say.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, sandboxArgs, useLeakCheck } from '@stratum/testing';
import { tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/hostile.ts', import.meta.url));

describe('hostile layers', () => {
  it('symlink and whiteout escapes: canaries untouched, views stay inside', (ctx) => {
    guard(ctx, 'root', 'tool:bwrap', 'mount-ns');
    using t = tempDir('hostile');
    const r = spawnSync(
      'bwrap',
      [...sandboxArgs([t.dir]),
        process.execPath, '--conditions=stratum-source', '--import', tsx, fixture, t.dir],
      { encoding: 'utf8', timeout: 120_000, cwd: fileURLToPath(new URL('..', import.meta.url)) },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    // The upper layer's real directories replace the lower symlinks; whiteouts act inside.
    expect(out.vfsEtc).toBe(true);
    expect(out.vfsEtcList).toEqual(['new']);
    expect(out.vfsUp).toEqual(['canary']);
    expect(out.vfsFileLink).toBe(false);
    expect(out.viewDirs).toEqual({ '/etc/canary': 'ENOENT', '/up/canary': 'ENOENT', '/file-link': 'ENOENT', '/etc/../../outside/canary': 'ENOENT' });
    expect(out.viewTar).toEqual({
      '/outside/victim': 'clamped 1',
      '/abs': 'clamped 2',
      '/sym': 'ENOENT', // /outside/canary is not in the view
      '/abs-sym': 'ENOENT',
      '/hl': 'clamped 1', // the hard link names the clamped member
      '/dir/abs': 'clamped 2', // "/" is the view's root
      '/outside/x': 'clamped 3',
    });
    expect(out.viewTarRoot).toEqual(['abs', 'abs-sym', 'dir', 'hl', 'outside', 'sym']);
    expect(out.outside).toEqual({ canary: 'canary', victim: 'canary victim' });
  });
});
