import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrnoError, O, fdPath, resolveInRoot } from '../src/index.js';

// The userspace fallback must agree with the kernel's openat2(RESOLVE_IN_ROOT) on where a path
// lands (or which errno it fails with), over random trees of dirs, files and symlinks that
// climb, jump to absolute paths, loop and dangle. Opens are O_PATH (read-only), so this is safe
// to run in-process.

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'stratum-native-resolveprop-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const names = ['a', 'b', 'c'];
const segment = fc.constantFrom(...names, '..', '.', '');
const relPath = fc.array(segment, { minLength: 0, maxLength: 5 }).map((s) => s.join('/'));
const anyPath = fc.tuple(fc.boolean(), relPath, fc.boolean()).map(([abs, p, slash]) => `${abs ? '/' : ''}${p}${slash ? '/' : ''}`);
const node = fc.oneof(
  fc.constant({ kind: 'dir' as const }),
  fc.constant({ kind: 'file' as const }),
  anyPath.filter((t) => t !== '').map((target) => ({ kind: 'link' as const, target })),
);
// A tree: for each of a few parent dirs, which of a/b/c exist and as what.
const tree = fc.array(fc.tuple(fc.constantFrom('', 'a', 'b', 'a/b', 'b/c'), fc.constantFrom(...names), node), { maxLength: 10 });

function outcome(root: string, p: string, fallback: boolean, flags: number): string {
  try {
    const fd = resolveInRoot(root, p, { fallback, flags });
    const where = fdPath(fd);
    fd.close();
    return where.startsWith(root) ? `ok ${where.slice(root.length) || '/'}` : `ESCAPED ${where}`;
  } catch (e) {
    if (e instanceof ErrnoError) return e.code;
    throw e;
  }
}

describe('resolveInRoot fallback agrees with openat2', () => {
  it('on random trees and paths', () => {
    let n = 0;
    fc.assert(
      fc.property(tree, fc.array(anyPath, { minLength: 1, maxLength: 8 }), fc.constantFrom(O.PATH, O.PATH | O.NOFOLLOW, O.RDONLY, O.RDONLY | O.DIRECTORY, O.PATH | O.DIRECTORY | O.NOFOLLOW), (entries, paths, flags) => {
        const root = join(base, String(n++));
        mkdirSync(root);
        for (const [parent, name, nd] of entries) {
          const p = join(root, parent, name);
          try {
            if (nd.kind === 'dir') mkdirSync(p);
            else if (nd.kind === 'file') writeFileSync(p, '');
            else symlinkSync(nd.target, p);
          } catch {
            // parent missing or not a dir, or name taken: keep the tree as it is
          }
        }
        for (const p of paths) {
          const kernel = outcome(root, p, false, flags);
          const ours = outcome(root, p, true, flags);
          expect(kernel).not.toMatch(/^ESCAPED/);
          expect(ours, `path ${JSON.stringify(p)} flags ${flags}`).toBe(kernel);
        }
        rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: Number(process.env.STRATUM_PROP_RUNS ?? 300) },
    );
  });
});
