import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guard, sandboxArgs, useLeakCheck } from '@stratum/testing';

// Copy-up reads an untrusted image rootfs. The hostile cases run in a child under bwrap
// (read-only /, only the test's dir writable), with a canary directory outside the rootfs that
// must stay untouched and must never be copied from.

useLeakCheck({ beforeEach, afterEach });

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'stratum-volume-hostile-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('copy-up from a hostile rootfs', () => {
  it('symlinks at and below the volume path never reach outside the rootfs', (ctx) => {
    guard(ctx, 'root', 'tool:bwrap', 'mount-ns');
    const r = spawnSync(
      'bwrap',
      [...sandboxArgs([base]),
        process.execPath, '--conditions=stratum-source', '--import', tsx, fixture('hostile-copyup.ts'), base],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      volumes: Record<string, Record<string, string>>;
      direct: { copied: boolean; contents: Record<string, string> };
      before: Record<string, string>;
      after: Record<string, string>;
      top: string[];
    };
    const outside = join(base, 'outside');
    // Absolute, climbing and chained symlinks resolve inside the rootfs: the decoy, not the secret.
    expect(out.volumes['v-abs']).toEqual({ decoy: 'decoy\n' });
    expect(out.volumes['v-climb']).toEqual({ decoy: 'decoy\n' });
    expect(out.volumes['v-chain']).toEqual({ decoy: 'decoy\n' });
    // /proc/self/root inside the rootfs does not exist: nothing to copy.
    expect(out.volumes['v-magic']).toEqual({});
    // Below the volume path, symlinks are copied as links, never followed.
    expect(out.volumes['v-tree']).toEqual({ esc: `-> ${outside}/secret`, ok: 'ok\n', sub: 'dir', 'sub/root': '-> /', up: '-> ../../../../../..' });
    expect(out.direct).toEqual({ copied: true, contents: { decoy: 'decoy\n' } });
    expect(JSON.stringify(out.volumes)).not.toMatch(/SECRET/);
    // The canary is exactly as it was (content, modes, mtimes, inodes) and nothing was added beside it.
    expect(out.after).toEqual(out.before);
    expect(out.top).toEqual(['direct', 'outside', 'rootfs', 'store']);
  });
});
