/**
 * applyLayer on in-memory tars (our writer, GNU tar, tar-stream): every entry type and its
 * metadata, replacements, hard links, whiteouts in both forms, setuid/devices policy,
 * compression, corrupt inputs, abort, progress; readTar and decompressLayer.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lgetxattr, lsetxattr } from '@stratum/native';
import { guard } from '@stratum/testing';
import {
  CorruptLayerError,
  InvalidLayerEntryError,
  UnsafeLayerEntryError,
  UnsupportedLayerError,
  applyLayer,
  cleanName,
  decompressLayer,
  readTar,
  zstdSupport,
} from '../src/index.js';
import { drain, rawTar, snapshot, tempDir, type RawEntry } from './helpers.js';

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const apply = (entries: RawEntry[], root: string, opts: Parameters<typeof applyLayer>[2] = {}) => applyLayer(Readable.from([rawTar(entries)]), root, opts);

describe('entry types and metadata', () => {
  it('files, directories, symlinks, hard links, fifos with mode, owner and mtime', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('types');
    const tar = rawTar([
      { name: 'etc/', type: 'directory', mode: 0o751, uid: 10, gid: 20, mtime: 1_100_000_000 },
      { name: 'etc/passwd', type: 'file', data: 'root:x:0:0\n', mode: 0o640, uid: 0, gid: 42, mtime: 1_200_000_000 },
      { name: 'etc/link', type: 'symlink', linkname: 'passwd', uid: 3, gid: 4, mtime: 1_300_000_000 },
      { name: 'etc/hard', type: 'link', linkname: 'etc/passwd' },
      { name: 'etc/pipe', type: 'fifo', mode: 0o620, uid: 5, gid: 6 },
      { name: 'tmp', type: 'directory', mode: 0o1777 },
      { name: 'empty', type: 'file', data: '' },
    ]);
    const r = await applyLayer(Readable.from([tar]), t.dir);
    expect(r).toMatchObject({ diffID: sha(tar), size: tar.length, compression: 'none', entries: 7, warnings: [] });
    const s = snapshot(t.dir, { mtime: true, dirMtime: true });
    expect(s['etc']).toMatchObject({ type: 'dir', mode: 0o751, uid: 10, gid: 20, mtime: 1_100_000_000 });
    expect(s['etc/passwd']).toMatchObject({ type: 'file', mode: 0o640, uid: 0, gid: 42, mtime: 1_200_000_000 });
    expect(readFileSync(join(t.dir, 'etc/passwd'), 'utf8')).toBe('root:x:0:0\n');
    expect(s['etc/link']).toMatchObject({ type: 'symlink', what: 'passwd', uid: 3, gid: 4 });
    expect(lstatSync(join(t.dir, 'etc/link')).mtimeMs).toBe(1_300_000_000_000);
    expect(s['etc/hard']!.link).toBe('etc/hard' > 'etc/passwd' ? 'etc/passwd' : undefined);
    expect(statSync(join(t.dir, 'etc/hard')).ino).toBe(statSync(join(t.dir, 'etc/passwd')).ino);
    expect(s['etc/pipe']).toMatchObject({ type: 'fifo', mode: 0o620, uid: 5, gid: 6 });
    expect(s['tmp']).toMatchObject({ mode: 0o1777 });
    expect(s['empty']).toMatchObject({ type: 'file' });
  });

  it('nanosecond mtimes from PAX headers; directory mtimes survive the files written into them', async (ctx) => {
    guard(ctx, 'tool:tar');
    using t = tempDir('mtime');
    const src = join(t.dir, 'src');
    mkdirSync(join(src, 'd', 'e'), { recursive: true });
    writeFileSync(join(src, 'd', 'e', 'f'), 'x');
    execFileSync('touch', ['-h', '-d', '2001-02-03 04:05:06.123456789', join(src, 'd', 'e', 'f'), join(src, 'd', 'e'), join(src, 'd')]);
    const tar = execFileSync('tar', ['--format=posix', '-cf', '-', 'd'], { cwd: src });
    await applyLayer(Readable.from([tar]), join(t.dir, 'out'));
    for (const p of ['d', 'd/e', 'd/e/f']) {
      expect(statSync(join(t.dir, 'out', p), { bigint: true }).mtimeNs).toBe(statSync(join(src, p), { bigint: true }).mtimeNs);
    }
  });

  it('long names and link targets (GNU and PAX), sparse files keep their holes', async (ctx) => {
    guard(ctx, 'tool:tar', 'tool:truncate');
    using t = tempDir('long');
    const src = join(t.dir, 'src');
    const deep = `${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(120)}`;
    mkdirSync(join(src, deep), { recursive: true });
    writeFileSync(join(src, deep, 'file'), 'deep');
    symlinkSync(`${deep}/file`, join(src, 'shortcut'));
    execFileSync('truncate', ['-s', '64M', join(src, 'sparse')]);
    execFileSync('sh', ['-c', `printf middle | dd of=${join(src, 'sparse')} bs=1 seek=33554432 conv=notrunc status=none`]);
    for (const format of ['gnu', 'posix']) {
      const tar = execFileSync('tar', [`--format=${format}`, '-S', '-cf', '-', '.'], { cwd: src, maxBuffer: 1 << 26 });
      expect(tar.length).toBeLessThan(1 << 20);
      const out = join(t.dir, format);
      await applyLayer(Readable.from([tar]), out);
      expect(readFileSync(join(out, deep, 'file'), 'utf8')).toBe('deep');
      expect(readlinkSync(join(out, 'shortcut'))).toBe(`${deep}/file`);
      const st = statSync(join(out, 'sparse'));
      expect(st.size).toBe(64 << 20);
      expect(st.blocks * 512).toBeLessThan(1 << 20);
      expect(readFileSync(join(out, 'sparse')).subarray(33554432, 33554438).toString()).toBe('middle');
    }
  });

  it('xattrs, security.capability only with keepSetuid, overlay xattrs never', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('xattr');
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service+ep (v2)
    const entries: RawEntry[] = [
      { name: 'd', type: 'directory', xattrs: [['user.dir', Buffer.from('1')], ['trusted.overlay.opaque', Buffer.from('y')]] },
      { name: 'd/ping', type: 'file', data: 'elf', mode: 0o755, xattrs: [['security.capability', cap], ['user.bin', Buffer.from([0, 1, 2])], ['trusted.overlay.redirect', Buffer.from('/etc')]] },
    ];
    const plain = await apply(entries, join(t.dir, 'plain'));
    expect(plain.warnings.map((w) => [w.code, w.entry])).toEqual([['CAPABILITY_DROPPED', 'd/ping']]);
    const a = snapshot(join(t.dir, 'plain'), { xattrs: true });
    expect(a['d']!.xattrs).toEqual({ 'user.dir': '31' });
    expect(a['d/ping']!.xattrs).toEqual({ 'user.bin': '000102' });
    await apply(entries, join(t.dir, 'kept'), { keepSetuid: true });
    const b = snapshot(join(t.dir, 'kept'), { xattrs: true });
    expect(b['d/ping']!.xattrs).toEqual({ 'security.capability': cap.toString('hex'), 'user.bin': '000102' });
  });

  it('setuid/setgid of files stripped unless keepSetuid; setgid of directories kept', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('suid');
    const entries: RawEntry[] = [
      { name: 'bin', type: 'directory', mode: 0o2775 },
      { name: 'bin/su', type: 'file', data: 'x', mode: 0o4755 },
      { name: 'bin/wall', type: 'file', data: 'x', mode: 0o2755, gid: 5 },
    ];
    await apply(entries, join(t.dir, 'a'));
    const a = snapshot(join(t.dir, 'a'));
    expect([a['bin']!.mode, a['bin/su']!.mode, a['bin/wall']!.mode]).toEqual([0o2775, 0o755, 0o755]);
    await apply(entries, join(t.dir, 'b'), { keepSetuid: true });
    const b = snapshot(join(t.dir, 'b'));
    expect([b['bin/su']!.mode, b['bin/wall']!.mode, b['bin/wall']!.gid]).toEqual([0o4755, 0o2755, 5]);
  });

  it('devices only with keepDevices (else a DEVICE_SKIPPED warning); fifos always', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('dev');
    const entries: RawEntry[] = [
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop9', type: 'block', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
      { name: 'dev/fifo', type: 'fifo' },
    ];
    const r = await apply(entries, join(t.dir, 'a'));
    expect(r.warnings.map((w) => w.code)).toEqual(['DEVICE_SKIPPED', 'DEVICE_SKIPPED']);
    expect(Object.keys(snapshot(join(t.dir, 'a')))).toEqual(['dev', 'dev/fifo']);
    const r2 = await apply(entries, join(t.dir, 'b'), { keepDevices: true });
    expect(r2.warnings).toEqual([]);
    const b = snapshot(join(t.dir, 'b'));
    expect(b['dev/null']).toMatchObject({ type: 'char', what: '1:3', mode: 0o666 });
    expect(b['dev/loop9']).toMatchObject({ type: 'block', what: '7:9', mode: 0o660, gid: 6 });
  });

  it('owner and mode are right whatever the directory imposes (setgid group, default ACL, umask)', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('inherit');
    mkdirSync(join(t.dir, 'sgid'));
    chownSync(join(t.dir, 'sgid'), 0, 1234);
    chmodSync(join(t.dir, 'sgid'), 0o2775);
    mkdirSync(join(t.dir, 'acl'));
    // system.posix_acl_default "u::rw-,g::---,o::---" (version 2; tag, perm, id per entry).
    const acl = Buffer.alloc(4 + 3 * 8);
    acl.writeUInt32LE(2, 0);
    [[0x01, 6], [0x04, 0], [0x20, 0]].forEach(([tag, perm], i) => {
      acl.writeUInt16LE(tag!, 4 + i * 8);
      acl.writeUInt16LE(perm!, 6 + i * 8);
      acl.writeUInt32LE(0xffffffff, 8 + i * 8);
    });
    lsetxattr(join(t.dir, 'acl'), 'system.posix_acl_default', acl);
    await apply(
      [
        { name: 'sgid/f', type: 'file', data: 'x', mode: 0o644, uid: 0, gid: 0 },
        { name: 'acl/f', type: 'file', data: 'x', mode: 0o644 },
        { name: 'wide', type: 'file', data: 'x', mode: 0o666 },
      ],
      t.dir,
    );
    const s = snapshot(t.dir);
    expect(s['sgid/f']).toMatchObject({ gid: 0, mode: 0o644 });
    expect(s['acl/f']).toMatchObject({ mode: 0o644 });
    expect(s['wide']).toMatchObject({ mode: 0o666 });
  });

  it('the root entry (./) sets the root directory; a non-directory naming the root is skipped', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('rootent');
    const root = join(t.dir, 'r');
    const r = await apply([{ name: './', type: 'directory', mode: 0o700, uid: 9, mtime: 123 }, { name: '.', type: 'file', data: 'no' }, { name: 'x', type: 'file', data: 'y' }], root);
    expect(r.warnings.map((w) => w.code)).toEqual(['ROOT_ENTRY_SKIPPED']);
    const st = statSync(root);
    expect([st.mode & 0o7777, st.uid, st.mtimeMs]).toEqual([0o700, 9, 123_000]);
  });
});

describe('replacing what is there', () => {
  it('file ↔ directory ↔ symlink replacements; a directory entry over a directory merges', async () => {
    using t = tempDir('replace');
    await apply(
      [
        { name: 'a', type: 'file', data: 'file a' },
        { name: 'b/', type: 'directory' },
        { name: 'b/keep', type: 'file', data: 'k' },
        { name: 'c', type: 'directory' },
        { name: 'c/inner', type: 'file', data: 'i' },
        { name: 'd', type: 'symlink', linkname: 'c' },
      ],
      t.dir,
    );
    await apply(
      [
        { name: 'a/', type: 'directory' },
        { name: 'a/new', type: 'file', data: 'n' },
        { name: 'b/', type: 'directory', mode: 0o700 },
        { name: 'c', type: 'file', data: 'now a file' },
        { name: 'd/', type: 'directory' },
        { name: 'd/x', type: 'file', data: 'in d' },
      ],
      t.dir,
    );
    const s = snapshot(t.dir);
    expect(Object.keys(s)).toEqual(['a', 'a/new', 'b', 'b/keep', 'c', 'd', 'd/x']);
    expect(s['b']!.mode).toBe(0o700);
    expect(s['c']!.type).toBe('file');
    expect(s['d']!.type).toBe('dir');
  });

  it('rewriting a file does not change the other names of its inode', async () => {
    using t = tempDir('relink');
    writeFileSync(join(t.dir, 'one'), 'old');
    linkSync(join(t.dir, 'one'), join(t.dir, 'two'));
    await apply([{ name: 'one', type: 'file', data: 'new' }], t.dir);
    expect(readFileSync(join(t.dir, 'one'), 'utf8')).toBe('new');
    expect(readFileSync(join(t.dir, 'two'), 'utf8')).toBe('old');
  });

  it('a symlinked parent directory is followed inside the root (containerd), never outside', async () => {
    using t = tempDir('symparent');
    const root = join(t.dir, 'root');
    mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
    symlinkSync('usr/lib', join(root, 'lib'));
    symlinkSync('/usr/lib', join(root, 'abslib'));
    symlinkSync('../../../..', join(root, 'up'));
    await apply(
      [
        { name: 'lib/a.so', type: 'file', data: 'a' },
        { name: 'abslib/b.so', type: 'file', data: 'b' },
        { name: 'up/c', type: 'file', data: 'c' },
      ],
      root,
    );
    expect(readFileSync(join(root, 'usr/lib/a.so'), 'utf8')).toBe('a');
    expect(readFileSync(join(root, 'usr/lib/b.so'), 'utf8')).toBe('b');
    expect(readFileSync(join(root, 'c'), 'utf8')).toBe('c');
    expect(existsSync(join(t.dir, 'c'))).toBe(false);
  });
});

describe('hard links', () => {
  it('to an earlier entry, to a file already in the root, to itself; the same link twice', async () => {
    using t = tempDir('hard');
    writeFileSync(join(t.dir, 'existing'), 'e');
    await apply(
      [
        { name: 'f', type: 'file', data: 'f' },
        { name: 'l1', type: 'link', linkname: 'f' },
        { name: 'l2', type: 'link', linkname: './existing' },
        { name: 'l1', type: 'link', linkname: 'f' },
        { name: 'f', type: 'link', linkname: 'f' },
      ],
      t.dir,
    );
    expect(statSync(join(t.dir, 'l1')).ino).toBe(statSync(join(t.dir, 'f')).ino);
    expect(statSync(join(t.dir, 'l2')).ino).toBe(statSync(join(t.dir, 'existing')).ino);
  });

  it('to a missing file or to a directory: InvalidLayerEntryError naming the entry', async () => {
    using t = tempDir('hardbad');
    await expect(apply([{ name: 'l', type: 'link', linkname: 'nope' }], t.dir)).rejects.toMatchObject({ code: 'INVALID_LAYER_ENTRY', entry: 'l', offset: 0 });
    await expect(apply([{ name: 'dir', type: 'directory' }, { name: 'l', type: 'link', linkname: 'dir' }], t.dir)).rejects.toBeInstanceOf(InvalidLayerEntryError);
    await expect(apply([{ name: 'f', type: 'file', data: 'x' }, { name: 'f/sub', type: 'file', data: 'x' }], t.dir)).rejects.toMatchObject({ code: 'INVALID_LAYER_ENTRY', entry: 'f/sub', offset: 1024 });
  });
});

describe('whiteouts', () => {
  const lower: RawEntry[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/gone', type: 'file', data: 'g' },
    { name: 'etc/stays', type: 'file', data: 's' },
    { name: 'var/', type: 'directory' },
    { name: 'var/cache/', type: 'directory' },
    { name: 'var/cache/a', type: 'file', data: 'a' },
    { name: 'var/cache/sub/', type: 'directory' },
    { name: 'var/cache/sub/b', type: 'file', data: 'b' },
    { name: 'opt/', type: 'directory' },
    { name: 'opt/x/', type: 'directory' },
    { name: 'opt/x/y', type: 'file', data: 'y' },
  ];

  it('OCI form: .wh.NAME deletes (recursively); .wh..wh..opq empties the directory but keeps this layer’s entries, whatever their order', async () => {
    using t = tempDir('wh');
    await apply(lower, t.dir);
    const r = await apply(
      [
        { name: 'etc/.wh.gone', type: 'file', data: '' },
        { name: 'opt/.wh.x', type: 'file', data: '' },
        // this layer's own entries in var/cache, one before the marker, one below a pre-existing dir
        { name: 'var/cache/+early', type: 'file', data: 'e' },
        { name: 'var/cache/sub/new', type: 'file', data: 'n' },
        { name: 'var/cache/.wh..wh..opq', type: 'file', data: '' },
        { name: 'var/cache/z', type: 'file', data: 'z' },
        // a whiteout of an entry of this same layer does not delete it (OCI: whiteouts hide lower layers)
        { name: 'new', type: 'file', data: 'new' },
        { name: '.wh.new', type: 'file', data: '' },
        // nothing to delete, and the missing directory is not created
        { name: 'missing/.wh.thing', type: 'file', data: '' },
        { name: 'etc/.wh..wh.plnk', type: 'file', data: '' },
      ],
      t.dir,
    );
    expect(r.warnings.map((w) => w.code)).toEqual(['WHITEOUT_META_SKIPPED']);
    expect(Object.keys(snapshot(t.dir))).toEqual(['etc', 'etc/stays', 'new', 'opt', 'var', 'var/cache', 'var/cache/+early', 'var/cache/sub', 'var/cache/sub/new', 'var/cache/z']);
  });

  it('a whiteout of ".", ".." or "" is refused with UnsafeLayerEntryError', async () => {
    using t = tempDir('whbad');
    for (const name of ['a/.wh..', 'a/.wh...', '.wh.']) {
      await expect(apply([{ name: 'a/', type: 'directory' }, { name, type: 'file', data: '' }], t.dir)).rejects.toMatchObject({ code: 'UNSAFE_LAYER_ENTRY', reason: 'WHITEOUT_TARGET', entry: name });
    }
    expect(existsSync(join(t.dir, 'a'))).toBe(true);
  });

  it('overlay form (root): 0/0 character devices and trusted.overlay.opaque', async (ctx) => {
    guard(ctx, 'root');
    using t = tempDir('whov');
    mkdirSync(join(t.dir, 'etc'));
    writeFileSync(join(t.dir, 'etc', 'gone'), 'lower copy in the upper dir');
    await apply(
      [
        { name: 'etc/', type: 'directory' },
        { name: 'etc/.wh.gone', type: 'file', data: '' },
        { name: 'etc/.wh.absent', type: 'file', data: '' },
        { name: 'var/', type: 'directory' },
        { name: 'var/.wh..wh..opq', type: 'file', data: '' },
        { name: 'var/kept', type: 'file', data: 'k' },
      ],
      t.dir,
      { whiteouts: 'overlay' },
    );
    const s = snapshot(t.dir);
    expect(s['etc/gone']).toMatchObject({ type: 'char', what: '0:0' });
    expect(s['etc/absent']).toMatchObject({ type: 'char', what: '0:0' });
    expect(s['var/kept']!.type).toBe('file');
    expect(lgetxattr(join(t.dir, 'var'), 'trusted.overlay.opaque').toString()).toBe('y');
    await apply([{ name: 'u/', type: 'directory' }, { name: 'u/.wh..wh..opq', type: 'file', data: '' }], t.dir, { whiteouts: 'overlay', xattrPrefix: 'user' });
    expect(lgetxattr(join(t.dir, 'u'), 'user.overlay.opaque').toString()).toBe('y');
  });
});

describe('names', () => {
  it('"..", absolute names and "./" prefixes are clamped into the root; strict refuses escapes', async () => {
    using t = tempDir('names');
    const root = join(t.dir, 'root');
    await apply(
      [
        { name: '../../escape', type: 'file', data: '1' },
        { name: '/abs/file', type: 'file', data: '2' },
        { name: './dot/./x/../y', type: 'file', data: '3' },
        { name: 'rel', type: 'symlink', linkname: '../../../etc/passwd' },
      ],
      root,
    );
    expect(Object.keys(snapshot(root))).toEqual(['abs', 'abs/file', 'dot', 'dot/y', 'escape', 'rel']);
    expect(readFileSync(join(root, 'escape'), 'utf8')).toBe('1');
    for (const [entries, reason] of [
      [[{ name: '../x', type: 'file', data: '' }], 'PATH_ESCAPE'],
      [[{ name: 'a/b', type: 'symlink', linkname: '../../x' }], 'SYMLINK_ESCAPE'],
      [[{ name: 'h', type: 'link', linkname: '../etc/passwd' }], 'PATH_ESCAPE'],
    ] as const) {
      await expect(apply([...entries], join(t.dir, 'strict'), { strict: true })).rejects.toMatchObject({ code: 'UNSAFE_LAYER_ENTRY', reason });
    }
    // Absolute symlink targets are fine even in strict mode: they are read inside the container's root.
    await apply([{ name: 'abs', type: 'symlink', linkname: '/etc/passwd' }, { name: 'a/ok', type: 'symlink', linkname: '../b' }], join(t.dir, 'strict'), { strict: true });
  });

  it('cleanName: never ".", ".." or empty components; ".." clamps at the root (property, against a plain reference)', () => {
    const reference = (name: string) => {
      const out: string[] = [];
      let clamped = false;
      for (const c of name.split('/')) {
        if (c === '' || c === '.') continue;
        if (c === '..') {
          if (out.length === 0) clamped = true;
          else out.pop();
        } else out.push(c);
      }
      return { path: out.join('/'), clamped, absolute: name.startsWith('/') };
    };
    const name = fc.array(fc.constantFrom('a', 'b', '.', '..', '', '...', '.a', 'a.', '..b'), { maxLength: 7 }).map((c) => c.join('/'));
    fc.assert(fc.property(name, (n) => {
      expect(cleanName(n)).toEqual(reference(n));
    }), { numRuns: 5000 });
  });

  it('a NUL byte in a (PAX) name is refused', async () => {
    using t = tempDir('nul');
    await expect(apply([{ name: 'a\0b', type: 'file', data: '' }], t.dir)).rejects.toMatchObject({ code: 'UNSAFE_LAYER_ENTRY', reason: 'NUL_IN_NAME' });
  });

  it('an unknown entry type is an InvalidLayerEntryError', async () => {
    using t = tempDir('unknown');
    const tar = rawTar([{ name: 'x', type: 'file', data: '' }]);
    tar[156] = 0x51; // 'Q'
    fixChecksum(tar);
    await expect(applyLayer(Readable.from([tar]), t.dir)).rejects.toMatchObject({ code: 'INVALID_LAYER_ENTRY', entry: 'x' });
  });
});

describe('compression and sources', () => {
  const entries: RawEntry[] = [
    { name: 'd/', type: 'directory' },
    { name: 'd/f', type: 'file', data: 'x'.repeat(100_000) },
  ];
  const tar = rawTar(entries);

  it('gzip, zstd and plain tar from a path, a Readable or an async iterable; diffID of the tar', async (ctx) => {
    guard(ctx, 'tool:zstd');
    using t = tempDir('comp');
    expect(zstdSupport()).toBe(typeof (await import('node:zlib') as { createZstdDecompress?: unknown }).createZstdDecompress === 'function' ? 'zlib' : 'binary');
    writeFileSync(join(t.dir, 'l.tar'), tar);
    writeFileSync(join(t.dir, 'l.tar.gz'), gzipSync(tar));
    execFileSync('zstd', ['-q', '-o', join(t.dir, 'l.tar.zst'), join(t.dir, 'l.tar')]);
    const zst = readFileSync(join(t.dir, 'l.tar.zst'));
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < zst.length; i += 7) yield zst.subarray(i, i + 7);
    }
    const cases = [
      [join(t.dir, 'l.tar'), 'none'],
      [Readable.from([gzipSync(tar)]), 'gzip'],
      [chunks(), 'zstd'],
    ] as const;
    for (const [i, [source, compression]] of cases.entries()) {
      const r = await applyLayer(source, join(t.dir, `out${i}`));
      expect(r).toMatchObject({ compression, diffID: sha(tar), size: tar.length });
      expect(readFileSync(join(t.dir, `out${i}`, 'd/f'), 'utf8')).toBe('x'.repeat(100_000));
    }
  });

  it('a wrong expected diffID rejects with DigestMismatchError after the whole layer was read', async () => {
    using t = tempDir('diffid');
    await expect(applyLayer(Readable.from([tar]), t.dir, { diffID: sha(Buffer.from('other')) })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(applyLayer(Readable.from([tar]), t.dir, { diffID: sha(tar) })).resolves.toMatchObject({ diffID: sha(tar) });
  });

  it('truncated or corrupt gzip, truncated tar inside gzip, corrupt zstd: CorruptLayerError with offsets', async (ctx) => {
    guard(ctx, 'tool:zstd');
    using t = tempDir('corrupt');
    const gz = gzipSync(tar);
    const cut = gz.subarray(0, gz.length - 10);
    await expect(applyLayer(Readable.from([cut]), join(t.dir, 'a'))).rejects.toMatchObject({ code: 'CORRUPT_LAYER', format: 'gzip', offset: cut.length });
    const flipped = Buffer.from(gz);
    flipped[40] ^= 0xff;
    const e = await applyLayer(Readable.from([flipped]), join(t.dir, 'b')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CorruptLayerError);
    expect((e as CorruptLayerError).format).toBe('gzip');
    const shortTar = gzipSync(tar.subarray(0, 5000));
    await expect(applyLayer(Readable.from([shortTar]), join(t.dir, 'c'))).rejects.toMatchObject({ code: 'CORRUPT_LAYER', format: 'tar', offset: 5000 });
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const badZst = Buffer.from(zst);
    badZst.fill(0x55, 20, 40);
    await expect(applyLayer(Readable.from([badZst]), join(t.dir, 'd'))).rejects.toMatchObject({ code: 'CORRUPT_LAYER', format: 'zstd' });
    await expect(applyLayer(Readable.from([zst.subarray(0, zst.length - 5)]), join(t.dir, 'e'))).rejects.toMatchObject({ code: 'CORRUPT_LAYER', format: 'zstd' });
  });

  it('bzip2 and xz are UnsupportedLayerError; a missing file is ENOENT; bad arguments are TypeErrors', async () => {
    using t = tempDir('unsup');
    await expect(applyLayer(Readable.from([Buffer.from('BZh91AY&SY')]), t.dir)).rejects.toBeInstanceOf(UnsupportedLayerError);
    await expect(applyLayer(Readable.from([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0])]), t.dir)).rejects.toMatchObject({ code: 'UNSUPPORTED_LAYER', feature: 'xz' });
    await expect(applyLayer(join(t.dir, 'nope.tar'), t.dir)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(applyLayer(42 as never, t.dir)).rejects.toBeInstanceOf(TypeError);
    await expect(applyLayer(Readable.from([tar]), t.dir, { whiteouts: 'aufs' as never })).rejects.toBeInstanceOf(TypeError);
  });

  it('abort: rejects with the reason, even while the source stalls', async () => {
    using t = tempDir('abort');
    const ac = new AbortController();
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield tar.subarray(0, 1536);
      await new Promise(() => {});
    }
    const p = applyLayer(stalls(), t.dir, { signal: ac.signal, onProgress: (pr) => pr.tarBytes === 1536 && ac.abort(new Error('stop')) });
    await expect(p).rejects.toThrow('stop');
    await expect(applyLayer(Readable.from([tar]), t.dir, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('progress reports source and tar bytes and entries', async () => {
    using t = tempDir('progress');
    const seen: Array<{ sourceBytes: number; tarBytes: number; entries: number }> = [];
    const gz = gzipSync(tar);
    await applyLayer(Readable.from([gz]), t.dir, { onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toEqual({ sourceBytes: gz.length, tarBytes: tar.length, entries: 2 });
  });
});

describe('readTar and decompressLayer', () => {
  it('readTar yields entries with data streams; unread data is skipped', async () => {
    const gz = gzipSync(rawTar([
      { name: 'a', type: 'file', data: 'A'.repeat(70_000) },
      { name: 'b', type: 'symlink', linkname: 'a' },
      { name: 'c', type: 'file', data: 'C' },
    ]));
    const seen: string[] = [];
    for await (const e of readTar(Readable.from([gz]))) {
      if (e.name === 'a') continue; // not read: skipped
      seen.push(`${e.type}:${e.name}:${(await drain(e.data)).toString()}`);
    }
    expect(seen).toEqual(['symlink:b:', 'file:c:C']);
  });

  it('readTar stops with the signal’s reason, even while the source stalls', async () => {
    const tar = rawTar([{ name: 'a', type: 'file', data: 'x' }, { name: 'b', type: 'file', data: 'y' }]);
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield tar.subarray(0, 1024);
      await new Promise(() => {});
    }
    const ac = new AbortController();
    const names: string[] = [];
    await expect(
      (async () => {
        for await (const e of readTar(stalls(), { signal: ac.signal })) {
          names.push(e.name);
          setTimeout(() => ac.abort(new Error('enough')), 10);
        }
      })(),
    ).rejects.toThrow('enough');
    expect(names).toEqual(['a']);
  });

  it('an already-aborted signal opens nothing: no stray file stream errors later', async () => {
    using t = tempDir('aborted');
    const missing = join(t.dir, 'no-such-layer.tar');
    await expect(decompressLayer(missing, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(applyLayer(missing, t.dir, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    // A stream opened anyway would now emit ENOENT with no listener: vitest fails on that.
    await new Promise((r) => setTimeout(r, 50));
  });

  it('decompressLayer gives the tar bytes; breaking early releases the source', async () => {
    const tar = rawTar([{ name: 'x', type: 'file', data: 'y'.repeat(300_000) }]);
    const out = await decompressLayer(Readable.from([gzipSync(tar)]));
    expect((await drain(out)).equals(tar)).toBe(true);
    const src = Readable.from([gzipSync(tar)]);
    for await (const e of readTar(src)) {
      expect(e.name).toBe('x');
      break;
    }
    await new Promise((r) => setImmediate(r));
    expect(src.destroyed).toBe(true);
  });
});

describe('xattr refusals are warnings, not failures', () => {
  it('user.* on a symlink (the kernel never allows it) becomes XATTR_SKIPPED; the link is made', async () => {
    using t = tempDir('xattrwarn');
    const r = await apply([{ name: 'l', type: 'symlink', linkname: 'x', xattrs: [['user.a', Buffer.from('b')]] }], t.dir);
    expect(r.warnings.map((w) => [w.code, w.entry])).toEqual([['XATTR_SKIPPED', 'l']]);
    expect(readlinkSync(join(t.dir, 'l'))).toBe('x');
  });
});

function fixChecksum(b: Buffer): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}
