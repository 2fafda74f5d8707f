/**
 * createLayer: whole trees, two-tree diffs (added, modified, metadata-only, deleted, type
 * changes, hard link groups), an overlay upper dir made by the real kernel, determinism and
 * reproducible mtimes, compression, one-pass digests, and create→apply round-trip properties.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, lutimesSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync, linkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MNT, lgetxattr, mountFs, umount2 } from '@stratum/native';
import { guard, useLeakCheck } from '@stratum/testing';
import { applyLayer, createLayer, readTar, type CreatedLayer, type LayerChange } from '../src/index.js';
import { buildTree, drain, snapshot, tempDir, type TreeSpec } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Reads a created layer to its end; checks that the promises agree with the bytes. */
async function consume(c: CreatedLayer): Promise<{ blob: Buffer; tar: Buffer }> {
  const blob = await drain(c.stream);
  const tar = c.compression === 'gzip' ? gunzipSync(blob) : c.compression === 'zstd' ? execFileSync('zstd', ['-d', '-c', '-q'], { input: blob, maxBuffer: 1 << 28 }) : blob;
  expect(await c.digest).toBe(sha(blob));
  expect(await c.size).toBe(blob.length);
  expect(await c.diffID).toBe(sha(tar));
  return { blob, tar };
}

async function names(tar: Buffer): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readTar(Readable.from([tar]))) out.push(e.type === 'link' ? `${e.name} => ${e.linkname}` : e.name);
  return out;
}

/** cp does not copy the times of directories and symlinks: give both trees the same ones. */
function sameTimes(a: string, b: string): void {
  for (const d of ['', 'etc', 'usr', 'usr/bin', 'usr/lib', 'var', 'var/cache', 'var/cache/apt', 'olddir']) {
    utimesSync(join(a, d), 1_000_000_000, 1_000_000_000);
    utimesSync(join(b, d), 1_000_000_000, 1_000_000_000);
  }
  lutimesSync(join(a, 'lib'), 1_000_000_000, 1_000_000_000);
  lutimesSync(join(b, 'lib'), 1_000_000_000, 1_000_000_000);
}

const base: TreeSpec[] = [
  { path: 'etc', type: 'dir', mode: 0o755 },
  { path: 'etc/hostname', type: 'file', content: 'box\n', mtime: 1_000_000_000 },
  { path: 'etc/passwd', type: 'file', content: 'root:x:0:0\n', mode: 0o644, mtime: 1_000_000_000 },
  { path: 'etc/motd', type: 'file', content: 'hi\n', mtime: 1_000_000_000 },
  { path: 'usr/bin', type: 'dir' },
  { path: 'usr/bin/tool', type: 'file', content: 'v1', mode: 0o755, mtime: 1_000_000_000 },
  { path: 'usr/bin/alias', type: 'hardlink', target: 'usr/bin/tool' },
  { path: 'usr/lib', type: 'dir' },
  { path: 'usr/lib/a.so', type: 'file', content: 'a', mtime: 1_000_000_000 },
  { path: 'usr/lib/b.so', type: 'file', content: 'b', mtime: 1_000_000_000 },
  { path: 'lib', type: 'symlink', target: 'usr/lib' },
  { path: 'var/cache/apt', type: 'dir' },
  { path: 'var/cache/apt/pkg', type: 'file', content: 'p'.repeat(5000), mtime: 1_000_000_000 },
  { path: 'data', type: 'file', content: 'turns into a dir', mtime: 1_000_000_000 },
  { path: 'olddir/x', type: 'file', content: 'x', mtime: 1_000_000_000 },
  { path: 'same-second', type: 'file', content: 'AAAA', mtime: 1_000_000_000 },
];

describe('createLayer of a whole tree', () => {
  it('sorted entries, metadata, hard links as links; applies back to the same tree', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('whole');
    const src = join(t.dir, 'src');
    buildTree(src, base);
    chownSync(join(src, 'etc/motd'), 12, 34);
    const c = createLayer({ from: undefined, to: src }, { compression: 'gzip' });
    expect(c.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const { blob, tar } = await consume(c);
    expect(await names(tar)).toEqual([
      'data',
      'etc/',
      'etc/hostname',
      'etc/motd',
      'etc/passwd',
      'lib',
      'olddir/',
      'olddir/x',
      'same-second',
      'usr/',
      'usr/bin/',
      'usr/bin/alias',
      'usr/bin/tool => usr/bin/alias',
      'usr/lib/',
      'usr/lib/a.so',
      'usr/lib/b.so',
      'var/',
      'var/cache/',
      'var/cache/apt/',
      'var/cache/apt/pkg',
    ]);
    const out = join(t.dir, 'out');
    const r = await applyLayer(Readable.from([blob]), out);
    expect(r.diffID).toBe(await c.diffID);
    expect(snapshot(out, { mtime: true, dirMtime: true })).toEqual(snapshot(src, { mtime: true, dirMtime: true }));
  });

  it('deterministic; reproducible mtime clamps; gzip levels, zstd and none; size and digests match the bytes', async (ctx) => {
    guard(ctx, 'tool:zstd');
    using t = tempDir('determ');
    const src = join(t.dir, 'src');
    buildTree(src, base);
    const a = await consume(createLayer({ from: undefined, to: src }));
    const b = await consume(createLayer({ from: undefined, to: src }));
    expect(a.blob.equals(b.blob)).toBe(true);
    const clamped = await consume(createLayer({ from: undefined, to: src }, { reproducible: { mtime: new Date(500_000_000_000) } }));
    for await (const e of readTar(Readable.from([clamped.tar]))) expect(e.mtime.sec).toBeLessThanOrEqual(500_000_000);
    const again = await consume(createLayer({ from: undefined, to: src }, { reproducible: { mtime: 500_000_000 } }));
    expect(again.blob.equals(clamped.blob)).toBe(true);
    const fast = await consume(createLayer({ from: undefined, to: src }, { level: 1 }));
    const none = createLayer({ from: undefined, to: src }, { compression: 'none' });
    const plain = await consume(none);
    expect(await none.digest).toBe(await none.diffID);
    expect(plain.tar.equals(a.tar) && fast.tar.equals(a.tar)).toBe(true);
    const z = createLayer({ from: undefined, to: src }, { compression: 'zstd', level: 19 });
    expect(z.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect((await consume(z)).tar.equals(a.tar)).toBe(true);
  });
});

describe('createLayer of the difference between two trees', () => {
  it('added, modified, metadata-only, deleted, type-changed; hard link groups stay whole; parents included', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('diff');
    const from = join(t.dir, 'from');
    const to = join(t.dir, 'to');
    buildTree(from, base);
    cpSync(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    // cp does not keep hard links: make usr/bin/alias one again.
    unlinkSync(join(to, 'usr/bin/alias'));
    linkSync(join(to, 'usr/bin/tool'), join(to, 'usr/bin/alias'));
    sameTimes(from, to);
    writeFileSync(join(to, 'etc/hostname'), 'other\n'); // modified content (new mtime)
    chmodSync(join(to, 'etc/passwd'), 0o600); // metadata only
    chownSync(join(to, 'usr/lib/a.so'), 7, 7); // owner only
    utimesSync(join(to, 'usr/lib/b.so'), 1_000_000_001, 1_000_000_001); // mtime only
    rmSync(join(to, 'etc/motd')); // deleted file
    rmSync(join(to, 'var/cache'), { recursive: true }); // deleted directory
    rmSync(join(to, 'data'));
    mkdirSync(join(to, 'data')); // file → directory
    writeFileSync(join(to, 'data/inside'), 'i');
    rmSync(join(to, 'olddir'), { recursive: true });
    symlinkSync('etc', join(to, 'olddir')); // directory → symlink
    writeFileSync(join(to, 'same-second'), 'BBBB'); // same size, same second: found by content
    utimesSync(join(to, 'same-second'), 1_000_000_000, 1_000_000_000);
    writeFileSync(join(to, 'usr/bin/alias'), 'v2'); // both names of the inode change
    linkSync(join(to, 'usr/lib/a.so'), join(to, 'usr/lib/c.so')); // a new name for an unchanged... (owner changed) inode
    const c = createLayer({ from, to });
    const { blob, tar } = await consume(c);
    expect(await names(tar)).toEqual([
      'data/',
      'data/inside',
      'etc/',
      'etc/.wh.motd',
      'etc/hostname',
      'etc/passwd',
      'olddir',
      'same-second',
      'usr/',
      'usr/bin/',
      'usr/bin/alias',
      'usr/bin/tool => usr/bin/alias',
      'usr/lib/',
      'usr/lib/a.so',
      'usr/lib/b.so',
      'usr/lib/c.so => usr/lib/a.so',
      'var/',
      'var/.wh.cache',
    ]);
    // Applying the diff on top of `from` gives `to`.
    const out = join(t.dir, 'out');
    cpSync(from, out, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    await applyLayer(Readable.from([blob]), out);
    expect(snapshot(out, { mtime: true })).toEqual(snapshot(to, { mtime: true }));
  });

  it('an unchanged tree gives an empty layer (just the end-of-archive blocks)', async () => {
    using t = tempDir('nochange');
    buildTree(join(t.dir, 'a'), base);
    cpSync(join(t.dir, 'a'), join(t.dir, 'b'), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    sameTimes(join(t.dir, 'a'), join(t.dir, 'b'));
    // cp made usr/bin/alias a separate file with the same metadata: not a change.
    const { tar } = await consume(createLayer({ from: join(t.dir, 'a'), to: join(t.dir, 'b') }, { compression: 'none' }));
    expect(tar.length).toBe(1024);
  });
});

describe('createLayer of an overlay upper directory (real overlayfs)', () => {
  it('whiteouts and opaque directories become OCI whiteouts; base + layer = the merged view', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    using t = tempDir('upper');
    const lower = join(t.dir, 'lower');
    const upper = join(t.dir, 'upper');
    const work = join(t.dir, 'work');
    const merged = join(t.dir, 'stratum-merged');
    buildTree(lower, base);
    for (const d of [upper, work, merged]) mkdirSync(d);
    mountFs({ fstype: 'overlay', source: 'stratum-layer-test', options: [['lowerdir', lower], ['upperdir', upper], ['workdir', work], ['redirect_dir', 'off'], ['metacopy', 'off'], ['index', 'off']], target: merged });
    let view: ReturnType<typeof snapshot>;
    try {
      rmSync(join(merged, 'etc/motd'));
      writeFileSync(join(merged, 'etc/hostname'), 'changed\n');
      chmodSync(join(merged, 'etc/passwd'), 0o600);
      rmSync(join(merged, 'var/cache'), { recursive: true });
      mkdirSync(join(merged, 'var/cache')); // removed and made again: overlayfs marks it opaque
      writeFileSync(join(merged, 'var/cache/fresh'), 'f');
      mkdirSync(join(merged, 'new/dir'), { recursive: true });
      writeFileSync(join(merged, 'new/dir/file'), 'n');
      linkSync(join(merged, 'new/dir/file'), join(merged, 'new/link'));
      renameSync(join(merged, 'usr/lib/a.so'), join(merged, 'usr/lib/z.so'));
      view = snapshot(merged, { mtime: true });
    } finally {
      umount2(merged, MNT.DETACH);
    }
    const c = createLayer({ upper }, { compression: 'gzip' });
    const { blob, tar } = await consume(c);
    const listed = await names(tar);
    expect(listed).toEqual(expect.arrayContaining(['etc/.wh.motd', 'usr/lib/.wh.a.so', 'usr/lib/z.so', 'var/cache/', 'var/cache/.wh..wh..opq', 'var/cache/fresh', 'new/link => new/dir/file']));
    expect(listed.indexOf('var/cache/.wh..wh..opq')).toBe(listed.indexOf('var/cache/') + 1);
    const out = join(t.dir, 'out');
    await applyLayer(Readable.from([await consume(createLayer({ from: undefined, to: lower })).then((x) => x.blob)]), out);
    await applyLayer(Readable.from([blob]), out);
    expect(snapshot(out, { mtime: true })).toEqual(view!);
    // The same layer applied in overlay form to a fresh upper dir recreates the kernel's markers.
    const upper2 = join(t.dir, 'upper2');
    await applyLayer(Readable.from([blob]), upper2, { whiteouts: 'overlay' });
    expect(snapshot(upper2)['etc/motd']).toMatchObject({ type: 'char', what: '0:0' });
    expect(lgetxattr(join(upper2, 'var/cache'), 'trusted.overlay.opaque').toString()).toBe('y');
  });

  it('a renamed directory (redirect_dir) cannot be expressed: UnsupportedLayerError', async (ctx) => {
    guard(ctx, 'root', 'overlay');
    using t = tempDir('redirect');
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'stratum-merged'].map((d) => join(t.dir, d)) as [string, string, string, string];
    buildTree(lower, base);
    for (const d of [upper, work, merged]) mkdirSync(d);
    mountFs({ fstype: 'overlay', source: 'stratum-layer-test', options: [['lowerdir', lower], ['upperdir', upper], ['workdir', work], ['redirect_dir', 'on']], target: merged });
    try {
      renameSync(join(merged, 'usr/lib'), join(merged, 'usr/lib64'));
    } finally {
      umount2(merged, MNT.DETACH);
    }
    const c = createLayer({ upper });
    await expect(drain(c.stream)).rejects.toMatchObject({ code: 'UNSUPPORTED_LAYER', feature: 'redirect_dir' });
    await expect(c.digest).rejects.toMatchObject({ code: 'UNSUPPORTED_LAYER' });
  });
});

describe('createLayer: errors and lifecycle', () => {
  it('bad arguments are TypeErrors; a missing tree errors the stream and rejects the promises', async () => {
    expect(() => createLayer({} as LayerChange)).toThrow(TypeError);
    expect(() => createLayer({ from: undefined, to: '/x' }, { compression: 'xz' as never })).toThrow(TypeError);
    expect(() => createLayer({ from: undefined, to: '/x' }, { level: 12 })).toThrow(TypeError);
    expect(() => createLayer({ from: undefined, to: '/x' }, { reproducible: { mtime: new Date(NaN) } })).toThrow(TypeError);
    const c = createLayer({ from: undefined, to: '/nonexistent-stratum-dir' });
    await expect(drain(c.stream)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(c.diffID).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('destroying the stream early or aborting rejects the promises and closes every descriptor', async () => {
    using t = tempDir('destroy');
    const src = join(t.dir, 'src');
    buildTree(src, [{ path: 'big', type: 'file', content: Buffer.alloc(8 << 20, 1) }, ...base]);
    const fds = readdirSync('/proc/self/fd').length;
    const c = createLayer({ from: undefined, to: src }, { compression: 'none' });
    for await (const _ of c.stream) break;
    await expect(c.digest).rejects.toThrow();
    const ac = new AbortController();
    const d = createLayer({ from: undefined, to: src }, { signal: ac.signal });
    d.stream.once('data', () => ac.abort(new Error('enough')));
    await expect(drain(d.stream)).rejects.toThrow('enough');
    await expect(d.size).rejects.toThrow('enough');
    await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });
});

// ------------------------------------------------------------------ properties

const segment = fc.constantFrom('a', 'b', 'c', 'dd', 'e.txt', '.hidden', 'wh', ' sp');
const pathArb = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
const entryArb: fc.Arbitrary<TreeSpec> = fc.oneof(
  fc.record({ path: pathArb, type: fc.constant('file' as const), content: fc.uint8Array({ maxLength: 300 }), mode: fc.constantFrom(0o644, 0o600, 0o755, 0o4755, 0o1644), mtime: fc.integer({ min: 0, max: 2_000_000_000 }) }),
  fc.record({ path: pathArb, type: fc.constant('dir' as const), mode: fc.constantFrom(0o755, 0o700, 0o2775), mtime: fc.integer({ min: 0, max: 2_000_000_000 }) }),
  fc.record({ path: pathArb, type: fc.constant('symlink' as const), target: fc.constantFrom('a', '../b', '/c/dd', 'nowhere') }),
  fc.record({ path: pathArb, type: fc.constant('hardlink' as const), target: pathArb }),
);

/** Builds a random tree, skipping entries that conflict with earlier ones (as a real tree would refuse them). */
function randomTree(root: string, entries: TreeSpec[]): void {
  mkdirSync(root, { recursive: true });
  const kinds = new Map<string, string>();
  const ok: TreeSpec[] = [];
  for (const e of entries) {
    const parts = e.path.split('/');
    let conflict = kinds.has(e.path);
    for (let i = 1; i < parts.length && !conflict; i++) {
      const k = kinds.get(parts.slice(0, i).join('/'));
      if (k !== undefined && k !== 'dir') conflict = true;
    }
    if (e.type === 'hardlink' && kinds.get(e.target) !== 'file') conflict = true;
    if (conflict) continue;
    for (let i = 1; i < parts.length; i++) if (!kinds.has(parts.slice(0, i).join('/'))) kinds.set(parts.slice(0, i).join('/'), 'dir');
    kinds.set(e.path, e.type === 'hardlink' ? 'file' : e.type);
    ok.push(e);
  }
  buildTree(root, ok);
}

describe('properties: create → apply round trips', () => {
  it('a whole random tree applies back to an identical tree', async () => {
    using t = tempDir('prop-whole');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { maxLength: 25 }), async (entries) => {
        const src = join(t.dir, `src${n}`);
        const out = join(t.dir, `out${n++}`);
        randomTree(src, entries);
        const { blob } = await consume(createLayer({ from: undefined, to: src }));
        await applyLayer(Readable.from([blob]), out, { keepSetuid: true });
        expect(snapshot(out, { mtime: true, dirMtime: true })).toEqual(snapshot(src, { mtime: true, dirMtime: true }));
        rmSync(src, { recursive: true });
        rmSync(out, { recursive: true });
      }),
      { numRuns: 60 },
    );
  });

  it('from + diff(from, to) applies to to, for random from and to', async () => {
    using t = tempDir('prop-diff');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { maxLength: 20 }), fc.array(entryArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 20 }), async (a, extra, keep) => {
        const from = join(t.dir, `from${n}`);
        const to = join(t.dir, `to${n}`);
        const out = join(t.dir, `out${n++}`);
        // `to` shares part of `from` (the entries picked by `keep`), so that diffs have unchanged parts.
        const shared = a.filter((_, i) => keep.includes(i));
        randomTree(from, a);
        randomTree(to, [...shared, ...extra]);
        const fromLayer = await consume(createLayer({ from: undefined, to: from }));
        const diff = await consume(createLayer({ from, to }));
        await applyLayer(Readable.from([fromLayer.blob]), out, { keepSetuid: true });
        await applyLayer(Readable.from([diff.blob]), out, { keepSetuid: true });
        expect(snapshot(out, { mtime: true })).toEqual(snapshot(to, { mtime: true }));
        for (const d of [from, to, out]) rmSync(d, { recursive: true });
      }),
      { numRuns: 60 },
    );
  });
});

describe('parallel gzip (pigz-style, one member)', () => {
  it('any gzip reader reads it; block boundaries and input chunking do not change the bytes', async (ctx) => {
    guard(ctx, 'tool:gzip');
    const { ParallelGzip } = await import('../src/pgzip.js');
    const gz = async (chunks: Buffer[], level?: number): Promise<Buffer> => drain(Readable.from(chunks).pipe(new ParallelGzip(level)));
    const text = Buffer.from('stratum layers compress well, mostly. '.repeat(80_000));
    const random = createHash('sha512').update('seed').digest();
    const noise = Buffer.concat(Array.from({ length: 40_000 }, (_, i) => createHash('sha512').update(random).update(String(i)).digest()));
    for (const size of [0, 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 777]) {
      const data = Buffer.concat([text, noise]).subarray(0, size);
      const one = await gz([data]);
      const pieces: Buffer[] = [];
      for (let i = 0; i < data.length; i += 99_991) pieces.push(data.subarray(i, i + 99_991));
      expect((await gz(pieces)).equals(one)).toBe(true);
      expect(gunzipSync(one).equals(data)).toBe(true);
      expect(execFileSync('gzip', ['-dc'], { input: one, maxBuffer: 1 << 26 }).equals(data)).toBe(true);
    }
    // Random data is stored, not searched for matches: about the input's size.
    const stored = await gz([noise]);
    expect(stored.length).toBeLessThan(noise.length * 1.01);
    expect((await gz([text], 9)).length).toBeLessThan(text.length / 50);
  });
});
