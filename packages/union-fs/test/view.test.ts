/**
 * UnionView without a mount: the same three-layer stack as overlay-form directories (applyLayer),
 * OCI-form directories (GNU tar), tar files (plain, gzip, zstd) and image Layer objects gives the
 * same view; whiteouts, opaque dirs, type changes, hard links and symlinks resolved inside it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryImage, memoryLayer, guard, useLeakCheck } from '@stratum/testing';
import { CorruptLayerError } from '@stratum/layer';
import { Store } from '@stratum/image';
import { UnionPathError, UnionView } from '../src/index.js';
import { drain, layerDir, rawTar, tempDir, viewSnapshot, type Member } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

const dir = (name: string, mode = 0o755): Member => ({ name, type: 'directory', mode });

// Bottom first here; views take them top first.
const bottom: Member[] = [
  dir('etc'),
  { name: 'etc/os-release', type: 'file', data: 'NAME=Bottom\n' },
  { name: 'etc/passwd', type: 'file', data: 'bottom passwd\n' },
  { name: 'etc/hosts', type: 'file', data: '127.0.0.1 localhost\n' },
  dir('usr'),
  dir('usr/bin'),
  { name: 'usr/bin/sh', type: 'file', data: '#!sh', mode: 0o755 },
  dir('usr/lib'),
  { name: 'usr/lib/libc.so', type: 'file', data: 'elf' },
  dir('var'),
  dir('var/cache'),
  { name: 'var/cache/a', type: 'file', data: 'a' },
  { name: 'var/cache/b', type: 'file', data: 'b' },
  dir('data'),
  { name: 'data/keep', type: 'file', data: 'keep' },
  { name: 'link-abs', type: 'symlink', linkname: '/etc/passwd' },
  { name: 'link-rel', type: 'symlink', linkname: 'etc/hosts' },
  { name: 'escape', type: 'symlink', linkname: '../../../../../etc/shadow' },
  { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
  { name: 'dev-null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
];
const middle: Member[] = [
  dir('etc', 0o750),
  { name: 'etc/.wh.hosts', type: 'file' },
  { name: 'etc/passwd', type: 'file', data: 'root:x:0:0\n', uid: 7, gid: 8 },
  dir('usr'),
  { name: 'usr/lib', type: 'file', data: 'now a file' },
  dir('var'),
  dir('var/cache', 0o700),
  { name: 'var/cache/.wh..wh..opq', type: 'file' },
  { name: 'var/cache/c', type: 'file', data: 'c' },
  { name: 'data2', type: 'file', data: 'linked', mode: 0o600 },
  { name: 'data2-link', type: 'link', linkname: 'data2' },
];
const top: Member[] = [
  dir('etc', 0o750),
  { name: 'etc/os-release', type: 'file', data: 'NAME=Top\nID=stratum\n' },
  { name: 'etc/shadow', type: 'file', data: 'secret inside the view', mode: 0o640 },
  { name: '.wh.data', type: 'file' },
  { name: 'loop1', type: 'symlink', linkname: 'loop2' },
  { name: 'loop2', type: 'symlink', linkname: '/loop1' },
  { name: 'dotdot', type: 'symlink', linkname: '../../..' },
];
const stack = [top, middle, bottom].map(rawTar);

function zstd(b: Buffer): Buffer {
  const r = spawnSync('zstd', ['-q', '-c'], { input: b });
  if (r.status !== 0) throw new Error(`zstd: ${r.stderr}`);
  return r.stdout;
}

type Kind = 'overlay-form dirs' | 'OCI-form dirs' | 'plain tars' | 'gzip tars' | 'zstd tars' | 'image layers';

async function sources(kind: Kind, base: string): Promise<Array<string | ReturnType<typeof memoryLayer>>> {
  const out: Array<string | ReturnType<typeof memoryLayer>> = [];
  for (const [i, tar] of stack.entries()) {
    const p = join(base, `l${i}`);
    switch (kind) {
      case 'overlay-form dirs':
        out.push(await layerDir(tar, p));
        break;
      case 'OCI-form dirs': {
        // GNU tar extracts .wh. names as plain files, as `docker export`-style tooling would see them.
        mkdirSync(p);
        writeFileSync(`${p}.tar`, tar);
        const r = spawnSync('tar', ['-xf', `${p}.tar`, '-C', p], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
        out.push(p);
        break;
      }
      case 'plain tars':
        writeFileSync(`${p}.tar`, tar);
        out.push(`${p}.tar`);
        break;
      case 'gzip tars':
        writeFileSync(`${p}.tar.gz`, gzipSync(tar));
        out.push(`${p}.tar.gz`);
        break;
      case 'zstd tars':
        writeFileSync(`${p}.tar.zst`, zstd(tar));
        out.push(`${p}.tar.zst`);
        break;
      case 'image layers':
        out.push(memoryLayer(tar, { compression: 'gzip' }));
        break;
    }
  }
  return out;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UnionPathError);
    return (e as UnionPathError).code;
  }
  return 'no error';
}

const kinds: Kind[] = ['overlay-form dirs', 'OCI-form dirs', 'plain tars', 'gzip tars', 'zstd tars', 'image layers'];

describe('UnionView over one stack in every form', () => {
  const snaps = new Map<Kind, unknown>();

  for (const kind of kinds) {
    it(`${kind}: whiteouts, opaque dirs, type changes, hard links, symlinks inside the view`, async (ctx) => {
      if (kind === 'overlay-form dirs') guard(ctx, 'root'); // device nodes and trusted.overlay.opaque
      if (kind === 'zstd tars') guard(ctx, 'tool:zstd');
      if (kind === 'OCI-form dirs') guard(ctx, 'tool:tar', 'root');
      using t = tempDir('view');
      await using v = await UnionView.open(await sources(kind, t.dir));
      expect(v.layers.map((l) => l.kind)).toEqual(kind.endsWith('dirs') ? ['directory', 'directory', 'directory'] : ['tar', 'tar', 'tar']);

      expect(await v.readFile('/etc/os-release', 'utf8')).toBe('NAME=Top\nID=stratum\n');
      expect(await v.readdir('/')).toEqual(['bin', 'data2', 'data2-link', 'dev-null', 'dotdot', 'escape', 'etc', 'link-abs', 'link-rel', 'loop1', 'loop2', 'usr', 'var']);
      expect(await v.readdir('/etc')).toEqual(['os-release', 'passwd', 'shadow']);
      const etc = await v.stat('/etc');
      expect([etc.isDirectory(), etc.mode & 0o7777, etc.layer]).toEqual([true, 0o750, 0]);
      const passwd = await v.stat('/etc/passwd');
      expect([passwd.layer, passwd.uid, passwd.gid, passwd.size]).toEqual([1, 7, 8, 11]);
      // Whiteouts: a file, a whole directory.
      expect(await code(v.stat('/etc/hosts'))).toBe('ENOENT');
      expect(await code(v.readdir('/data'))).toBe('ENOENT');
      expect(await v.exists('/data/keep')).toBe(false);
      // Opaque: only the middle layer's entries, with its mode.
      expect(await v.readdir('/var/cache')).toEqual(['c']);
      expect((await v.stat('/var/cache')).mode & 0o777).toBe(0o700);
      // A directory replaced by a file.
      expect((await v.lstat('/usr/lib')).type).toBe('file');
      expect(await v.readFile('/usr/lib', 'utf8')).toBe('now a file');
      expect(await code(v.stat('/usr/lib/libc.so'))).toBe('ENOTDIR');
      // Hard links: same bytes and metadata.
      expect(await v.readFile('/data2-link', 'utf8')).toBe('linked');
      expect((await v.stat('/data2-link')).mode & 0o777).toBe(0o600);
      // Symlinks: absolute and relative, through a directory link, climbing out (clamped at the root).
      expect(await v.readlink('/link-abs')).toBe('/etc/passwd');
      expect((await v.lstat('/link-abs')).isSymbolicLink()).toBe(true);
      expect(await v.readFile('/link-abs', 'utf8')).toBe('root:x:0:0\n');
      expect(await code(v.readFile('/link-rel'))).toBe('ENOENT'); // its target was whited out
      expect(await v.readFile('/bin/sh', 'utf8')).toBe('#!sh');
      expect(await v.realpath('/bin/sh')).toBe('/usr/bin/sh');
      expect(await v.readFile('/escape', 'utf8')).toBe('secret inside the view');
      expect(await v.realpath('/dotdot/etc/../../etc/shadow')).toBe('/etc/shadow');
      expect(await v.readdir('/dotdot')).toEqual(await v.readdir('/'));
      // Failures with Node's codes.
      expect(await code(v.stat('/loop1'))).toBe('ELOOP');
      expect((await v.lstat('/loop1')).isSymbolicLink()).toBe(true);
      expect(await code(v.readFile('/etc'))).toBe('EISDIR');
      expect(await code(v.readFile('/etc/os-release/x'))).toBe('ENOTDIR');
      expect(await code(v.readlink('/etc'))).toBe('EINVAL');
      expect(await code(v.readdir('/etc/passwd'))).toBe('ENOTDIR');
      expect(await code(v.readdir('/etc/passwd/'))).toBe('ENOTDIR');
      expect(await code(v.readFile('/dev-null'))).toBe('EINVAL');
      const dev = await v.lstat('/dev-null');
      expect([dev.type, dev.rdevMajor, dev.rdevMinor]).toEqual(['char', 1, 3]);
      // Streams.
      expect((await drain(v.createReadStream('/usr/bin/sh'))).toString()).toBe('#!sh');
      expect(() => v.createReadStream('/nope')).toThrow(UnionPathError);
      // Walk: every entry once, directories before their content.
      const snap = await viewSnapshot(v);
      expect(Object.keys(snap)).toEqual([
        '/bin', '/data2', '/data2-link', '/dev-null', '/dotdot', '/escape', '/etc', '/etc/os-release', '/etc/passwd', '/etc/shadow',
        '/link-abs', '/link-rel', '/loop1', '/loop2', '/usr', '/usr/bin', '/usr/bin/sh', '/usr/lib', '/var', '/var/cache', '/var/cache/c',
      ]);
      snaps.set(kind, snap);
      const walked: string[] = [];
      for await (const e of v.walk('/usr')) walked.push(e.path);
      expect(walked).toEqual(['/usr/bin', '/usr/bin/sh', '/usr/lib']);
    });
  }

  it('every form gives the same view, entry by entry', () => {
    const [first, ...rest] = [...snaps.values()];
    expect(snaps.size).toBeGreaterThan(1);
    for (const s of rest) expect(s).toEqual(first);
  });
});

describe('UnionView', () => {
  it('reads /etc/os-release of an image without unpacking it (fromImage)', async () => {
    const img = await memoryImage([bottom, middle, top].map((m) => memoryLayer(rawTar(m), { compression: 'gzip' })));
    await using v = await UnionView.fromImage(img);
    expect(await v.readFile('/etc/os-release', 'utf8')).toContain('ID=stratum');
  });

  it('reads /etc/os-release of an image in a content store: blobs read in place, nothing unpacked', async () => {
    using t = tempDir('view-store');
    const store = await Store.open(join(t.dir, 'store'));
    const img = await memoryImage([bottom, middle, top].map((m) => memoryLayer(rawTar(m), { compression: 'gzip' })));
    await store.write(img, 'stratum-test/os-release:1');
    const before = readdirSync(join(t.dir, 'store', 'blobs', 'sha256')).sort();
    await using v = await UnionView.fromImage(await store.image('stratum-test/os-release:1'));
    expect(await v.readFile('/etc/os-release', 'utf8')).toBe('NAME=Top\nID=stratum\n');
    expect(await v.readdir('/etc')).toEqual(['os-release', 'passwd', 'shadow']);
    expect(readdirSync(join(t.dir, 'store', 'blobs', 'sha256')).sort()).toEqual(before);
    expect(readdirSync(join(t.dir, 'store')).sort()).not.toContain('etc');
  });

  it('an empty stack, a layer missing, a broken tar, bad arguments', async () => {
    using t = tempDir('view-bad');
    await using empty = await UnionView.open([]);
    expect(await empty.readdir('/')).toEqual([]);
    expect(await code(empty.stat('/'))).toBe('ENOENT');
    expect(await code(UnionView.open([join(t.dir, 'missing')]))).toBe('ENOENT');
    writeFileSync(join(t.dir, 'broken.tar'), rawTar(top).subarray(0, 700));
    await expect(UnionView.open([join(t.dir, 'broken.tar')])).rejects.toBeInstanceOf(CorruptLayerError);
    await expect(UnionView.open('x' as unknown as string[])).rejects.toThrow(TypeError);
    await expect(UnionView.open([42 as unknown as string])).rejects.toThrow(TypeError);
    await using v = await UnionView.open([]);
    await expect(v.stat(5 as unknown as string)).rejects.toThrow(TypeError);
    await v.close();
    await expect(v.stat('/')).rejects.toThrow(/closed/);
  });

  it('large and sparse-free files stream from a plain tar without reading the rest', async () => {
    using t = tempDir('view-big');
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const tar = rawTar([dir('x'), { name: 'x/big', type: 'file', data: big }, { name: 'x/small', type: 'file', data: 'tail' }]);
    writeFileSync(join(t.dir, 'l.tar'), tar);
    writeFileSync(join(t.dir, 'l.tar.gz'), gzipSync(tar));
    for (const f of ['l.tar', 'l.tar.gz']) {
      await using v = await UnionView.open([join(t.dir, f)]);
      expect((await v.readFile('/x/big')).equals(big)).toBe(true);
      expect(await v.readFile('/x/small', 'utf8')).toBe('tail');
      expect((await v.stat('/x/big')).size).toBe(big.length);
    }
  });

  it('a hard link to a missing target is a typed error', async () => {
    using t = tempDir('view-link');
    writeFileSync(join(t.dir, 'l.tar'), rawTar([{ name: 'a', type: 'link', linkname: 'nowhere' }]));
    await expect(UnionView.open([join(t.dir, 'l.tar')])).rejects.toMatchObject({ code: 'INVALID_LAYER_ENTRY' });
  });

  it('abort while indexing rejects with the reason', async () => {
    using t = tempDir('view-abort');
    writeFileSync(join(t.dir, 'l.tar'), rawTar(bottom));
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(UnionView.open([join(t.dir, 'l.tar')], { signal: ac.signal })).rejects.toThrow('stop');
  });
});
