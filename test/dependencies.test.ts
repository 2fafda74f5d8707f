/**
 * The dependency graph is a test (as go-containerregistry checks its own imports): every
 * package's declared @stratum dependencies and every import in its sources point DOWN the
 * package map of DESIGN.md; only packages that need syscalls import @stratum/native; the
 * registry client never does; @stratum/oci imports nothing of ours and does no I/O.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
// The order of DESIGN.md's package map: a package may depend only on packages listed before it
// (native and oci are both roots and may not depend on each other). One deliberate swap: layer
// sits below image, because the store's `unpack` applies layers (issue 3) while layer needs
// nothing of the store; the graph stays acyclic and one-way.
const order = ['native', 'oci', 'layer', 'image', 'union-fs', 'namespace', 'cgroup', 'netns', 'volume', 'registry-client', 'image-archive', 'container', 'cli', 'testing'];
const mayUseNative = new Set(['layer', 'union-fs', 'namespace', 'cgroup', 'netns', 'volume', 'container', 'cli', 'testing']);
const roots = new Set(['native', 'oci']);

function dirOf(name: string): string {
  return name === 'native' ? join(root, 'native') : join(root, 'packages', name);
}

function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mts|js|mjs)$/.test(e) && !e.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(join(dir, 'src'));
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const re = /(?:from\s+|import\s*\(\s*|import\s+)['"](@stratum\/[a-z-]+)['"]/g;
  return [...text.matchAll(re)].map((m) => m[1]!.slice('@stratum/'.length));
}

describe('dependency direction', () => {
  for (const name of order) {
    it(`@stratum/${name} depends only on packages below it in DESIGN.md`, () => {
      const pkg = JSON.parse(readFileSync(join(dirOf(name), 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      const declared = Object.keys(pkg.dependencies ?? {})
        .filter((d) => d.startsWith('@stratum/'))
        .map((d) => d.slice('@stratum/'.length));
      const imported = sources(dirOf(name)).flatMap(importsOf);
      const rank = order.indexOf(name);
      for (const dep of new Set([...declared, ...imported])) {
        expect(order, `unknown package @stratum/${dep}`).toContain(dep);
        if (roots.has(name)) expect(dep, `@stratum/${name} must not depend on @stratum/${dep}`).toBe('__none__');
        expect(order.indexOf(dep), `@stratum/${name} → @stratum/${dep} points up the package map`).toBeLessThan(rank);
        if (dep === 'native') expect(mayUseNative.has(name), `@stratum/${name} must not import @stratum/native`).toBe(true);
      }
      for (const dep of new Set(imported)) expect(declared, `@stratum/${name} imports @stratum/${dep} without declaring it`).toContain(dep);
    });
  }

  it('@stratum/oci does no I/O (no fs, net, child_process imports)', () => {
    for (const f of sources(dirOf('oci'))) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/from ['"]node:(fs|fs\/promises|net|http|https|child_process|dgram|tls)['"]/);
    }
  });
});
