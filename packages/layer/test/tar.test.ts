/**
 * The tar reader and writer: archives written by GNU tar in every format it has (ustar, v7,
 * gnu, oldgnu, posix; long names, sparse files in all four sparse encodings, xattrs, base-256
 * numbers) and by tar-stream read back exactly; what our writer produces GNU tar lists and
 * extracts identically; round-trip properties; corrupt and truncated archives give
 * CorruptLayerError with the offset.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { lsetxattr as setxattr } from '@stratum/native';
import { guard } from '@stratum/testing';
import { CorruptLayerError, TarParser, encodeHeader, readTar, type TarEntry, type TarHeaderInput } from '../src/index.js';
import { drain, rawTar, snapshot, tempDir } from './helpers.js';

interface Parsed {
  entries: TarEntry[];
  data: Map<string, Buffer>;
}

/** parse feeds `tar` to a TarParser in chunks of `chunk` bytes and reassembles file data. */
function parse(tar: Uint8Array, chunk = 4096): Parsed {
  const entries: TarEntry[] = [];
  const data = new Map<string, Buffer>();
  let cur: { name: string; buf: Buffer } | undefined;
  const p = new TarParser({
    entry(e) {
      entries.push(e);
      cur = { name: e.name, buf: Buffer.alloc(e.type === 'file' ? e.size : 0) };
    },
    data(c, pos) {
      Buffer.from(c).copy(cur!.buf, pos);
    },
    endEntry() {
      data.set(cur!.name, cur!.buf);
    },
  });
  for (let i = 0; i < tar.length; i += chunk) p.write(tar.subarray(i, i + chunk));
  p.end();
  return { entries, data };
}

function gnuTar(args: string[], cwd: string): Buffer {
  return execFileSync('tar', args, { cwd, maxBuffer: 64 << 20 });
}

const LONG_DIR = 'd'.repeat(120);
const LONG_FILE = `${LONG_DIR}/${'n'.repeat(150)}`;

function sampleTree(dir: string, long: boolean): void {
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  writeFileSync(join(dir, 'a', 'b', 'file'), 'hello\n');
  writeFileSync(join(dir, 'a', 'big'), Buffer.alloc(70_000, 7));
  symlinkSync('b/file', join(dir, 'a', 'link'));
  execFileSync('ln', [join(dir, 'a', 'b', 'file'), join(dir, 'a', 'hard')]);
  if (long) {
    mkdirSync(join(dir, LONG_DIR));
    writeFileSync(join(dir, LONG_FILE), 'long name\n');
    symlinkSync(`../${LONG_FILE}`, join(dir, 'a', 'longlink'));
  }
}

describe('reading GNU tar output', () => {
  for (const format of ['gnu', 'oldgnu', 'posix', 'ustar', 'v7'] as const) {
    it(`--format=${format}`, (ctx) => {
      guard(ctx, 'tool:tar');
      using t = tempDir('tarfmt');
      const src = join(t.dir, 'src');
      mkdirSync(src);
      const long = format === 'gnu' || format === 'oldgnu' || format === 'posix';
      sampleTree(src, long);
      const tar = gnuTar([`--format=${format}`, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-cf', '-', '.'], src);
      for (const chunk of [1, 511, 512, 513, 65536]) {
        if (chunk === 1 && tar.length > 200_000) continue;
        const { entries, data } = parse(tar, chunk);
        const byName = new Map(entries.map((e) => [e.name.replace(/^\.\//, '').replace(/\/$/, ''), e]));
        expect(byName.get('a/b/file')?.type).toBe('file');
        expect(data.get(byName.get('a/b/file')!.name)?.toString()).toBe('hello\n');
        expect(data.get(byName.get('a/big')!.name)?.equals(Buffer.alloc(70_000, 7))).toBe(true);
        expect(byName.get('a/link')).toMatchObject({ type: 'symlink', linkname: 'b/file' });
        // GNU tar stores the second name of an inode as a link to the first it archived.
        const hard = [byName.get('a/hard')!, byName.get('a/b/file')!].find((e) => e.type === 'link');
        expect(hard?.linkname.replace(/^\.\//, '')).toMatch(/^a\/(b\/file|hard)$/);
        expect(byName.get('a/b')?.type).toBe('directory');
        if (long) {
          expect(data.get(byName.get(LONG_FILE)!.name)?.toString()).toBe('long name\n');
          expect(byName.get('a/longlink')?.linkname).toBe(`../${LONG_FILE}`);
        }
      }
    });
  }

  for (const [label, args] of [
    ['posix, sparse 0.0', ['--format=posix', '--sparse-version=0.0']],
    ['posix, sparse 0.1', ['--format=posix', '--sparse-version=0.1']],
    ['posix, sparse 1.0', ['--format=posix', '--sparse-version=1.0']],
    ['gnu (old GNU sparse headers)', ['--format=gnu']],
  ] as const) {
    it(`sparse files: ${label}`, (ctx) => {
      guard(ctx, 'tool:tar');
      using t = tempDir('sparse');
      const src = join(t.dir, 'src');
      mkdirSync(src);
      // Many data segments (more than the 4 of an old GNU header: extension blocks) and a hole at the end.
      const fd = openSync(join(src, 'holes'), 'w');
      const expected = Buffer.alloc(40 * 65536 + 100);
      for (let i = 0; i < 40; i += 3) {
        const piece = Buffer.alloc(4096, i + 1);
        writeSync(fd, piece, 0, piece.length, i * 65536);
        piece.copy(expected, i * 65536);
      }
      closeSync(fd);
      execFileSync('truncate', ['-s', String(expected.length), join(src, 'holes')]);
      const tar = gnuTar([...args, '-S', '-cf', '-', 'holes'], src);
      const { entries, data } = parse(tar, 1000);
      const e = entries.find((x) => x.name.endsWith('holes'))!;
      expect(e.name).toBe('holes');
      expect(e.size).toBe(expected.length);
      expect(e.sparse!.length).toBeGreaterThan(4);
      expect(data.get(e.name)!.equals(expected)).toBe(true);
    });
  }

  it('xattrs (SCHILY.xattr), binary values included', (ctx) => {
    guard(ctx, 'tool:tar');
    using t = tempDir('xattr');
    const src = join(t.dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'f'), 'x');
    setxattr(join(src, 'f'), 'user.bin', Buffer.from([0, 1, 2, 255, 10, 61]));
    setxattr(join(src, 'f'), 'user.text', Buffer.from('hello=world'));
    const tar = gnuTar(['--format=posix', '--xattrs', '--xattrs-include=user.*', '-cf', '-', 'f'], src);
    const { entries } = parse(tar);
    const x = Object.fromEntries(entries[0]!.xattrs!.map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
    expect(x).toEqual({ 'user.bin': '000102ff0a3d', 'user.text': Buffer.from('hello=world').toString('hex') });
  });

  it('numbers beyond octal fields: base-256 (gnu) and PAX (posix) uid/gid/mtime', (ctx) => {
    guard(ctx, 'tool:tar');
    using t = tempDir('big');
    writeFileSync(join(t.dir, 'f'), 'x');
    execFileSync('touch', ['-d', '@-2000000000', join(t.dir, 'f')]);
    for (const format of ['gnu', 'posix']) {
      const tar = gnuTar([`--format=${format}`, '--owner=:3000000000', '--group=:2500000000', '-cf', '-', 'f'], t.dir);
      const e = parse(tar).entries[0]!;
      expect(e).toMatchObject({ uid: 3_000_000_000, gid: 2_500_000_000 });
      expect(e.mtime.sec).toBe(-2_000_000_000);
    }
  });
});

describe('reading tar-stream output', () => {
  it('a pack with every type tar-stream writes', async () => {
    const pack = tarStream.pack();
    pack.entry({ name: 'dir', type: 'directory', mode: 0o750, uid: 5, gid: 6, mtime: new Date(1_500_000_000_000) });
    pack.entry({ name: 'dir/file', mode: 0o640 }, Buffer.from('content'));
    pack.entry({ name: 'dir/sym', type: 'symlink', linkname: '../x' });
    pack.entry({ name: 'dir/hard', type: 'link', linkname: 'dir/file' });
    pack.entry({ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 });
    pack.entry({ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 });
    pack.entry({ name: 'pipe', type: 'fifo' });
    pack.entry({ name: `${'p'.repeat(90)}/${'q'.repeat(90)}`, pax: { 'SCHILY.xattr.user.a': 'b' } }, Buffer.from('paxed'));
    pack.finalize();
    const tar = await drain(pack);
    const { entries, data } = parse(tar, 100);
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['dir', 'directory'],
      ['dir/file', 'file'],
      ['dir/sym', 'symlink'],
      ['dir/hard', 'link'],
      ['dev/null', 'char'],
      ['dev/sda', 'block'],
      ['pipe', 'fifo'],
      [`${'p'.repeat(90)}/${'q'.repeat(90)}`, 'file'],
    ]);
    expect(entries[0]).toMatchObject({ mode: 0o750, uid: 5, gid: 6, mtime: { sec: 1_500_000_000, nsec: 0 } });
    expect(entries[4]).toMatchObject({ devmajor: 1, devminor: 3, mode: 0o666 });
    expect(data.get('dir/file')!.toString()).toBe('content');
    expect(entries[7]!.xattrs).toEqual([['user.a', new Uint8Array(Buffer.from('b'))]]);
  });
});

describe('our writer', () => {
  it('GNU tar lists and extracts what we write exactly (long names, PAX, xattrs, devices)', (ctx) => {
    guard(ctx, 'tool:tar', 'root');
    using t = tempDir('writer');
    const uni = 'ünïcødé-名前';
    const tar = rawTar([
      { name: 'd', type: 'directory', mode: 0o710, uid: 7, gid: 8 },
      { name: 'd/f', type: 'file', data: 'abc', mode: 0o4755, mtime: 1_234_567_890 },
      { name: `d/${'x'.repeat(99)}/${'y'.repeat(200)}`, type: 'file', data: 'deep' },
      { name: `d/${uni}`, type: 'file', data: 'uni', xattrs: [['user.k', Buffer.from([0, 255])]] },
      { name: 'd/s', type: 'symlink', linkname: `../${'z'.repeat(150)}` },
      { name: 'd/h', type: 'link', linkname: 'd/f' },
      { name: 'd/c', type: 'char', devmajor: 1, devminor: 5, mode: 0o600 },
      { name: 'd/p', type: 'fifo' },
      { name: 'big-ids', type: 'file', data: '', uid: 4_000_000_000, gid: 3_000_000_000 },
    ]);
    writeFileSync(join(t.dir, 'l.tar'), tar);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', 'l.tar'], { cwd: t.dir, encoding: 'utf8' });
    expect(listing).toContain('drwx--x--- 7/8');
    expect(listing).toContain('-rwsr-xr-x 0/0               3 2009-02-13 23:31 d/f');
    expect(listing).toContain(`d/${'x'.repeat(99)}/${'y'.repeat(200)}`);
    expect(listing).toContain(`d/s -> ../${'z'.repeat(150)}`);
    expect(listing).toContain('d/h link to d/f');
    expect(listing).toContain('crw------- 0/0             1,5');
    expect(listing).toContain('4000000000/3000000000');
    mkdirSync(join(t.dir, 'x'));
    execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '-xpf', '../l.tar'], { cwd: join(t.dir, 'x') });
    const snap = snapshot(join(t.dir, 'x'), { mtime: true, xattrs: true });
    expect(snap['d/f']).toMatchObject({ type: 'file', mode: 0o4755, mtime: 1_234_567_890 });
    expect(snap[`d/${uni}`]!.xattrs).toEqual({ 'user.k': '00ff' });
    expect(snap['d/h']!.link).toBe('d/f');
    expect(snap['d/c']).toMatchObject({ type: 'char', what: '1:5' });
    expect(readFileSync(join(t.dir, 'x', 'd', 'x'.repeat(99), 'y'.repeat(200)), 'utf8')).toBe('deep');
    expect(lstatSync(join(t.dir, 'x', 'big-ids')).uid).toBe(4_000_000_000);
  });

  it('property: whatever header we encode parses back to the same fields', () => {
    const name = fc
      .array(fc.oneof(fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('/') && !s.includes('\0'))), { minLength: 1, maxLength: 8 })
      .map((c) => c.join('/'));
    const header = fc.record({
      name,
      type: fc.constantFrom('file', 'directory', 'symlink', 'link', 'char', 'block', 'fifo') as fc.Arbitrary<TarHeaderInput['type']>,
      mode: fc.integer({ min: 0, max: 0o7777 }),
      uid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      gid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      size: fc.integer({ min: 0, max: 3000 }),
      mtime: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      linkname: name,
      devmajor: fc.integer({ min: 0, max: 4095 }),
      devminor: fc.integer({ min: 0, max: 2 ** 20 - 1 }),
      xattrs: fc.array(fc.tuple(fc.stringMatching(/^user\.[a-z]{1,10}$/), fc.uint8Array({ maxLength: 40 })), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(header, fc.integer({ min: 1, max: 700 }), (h, chunk) => {
        const size = h.type === 'file' ? h.size : 0;
        const tar = rawTar([{ ...h, data: new Uint8Array(size).fill(9) }]);
        const e = parse(tar, chunk).entries[0]!;
        const name = h.type === 'directory' ? `${h.name}/` : h.name;
        expect(e.name).toBe(name);
        expect(e.type).toBe(h.type);
        expect(e.mode).toBe(h.mode);
        expect([e.uid, e.gid]).toEqual([h.uid, h.gid]);
        expect(e.size).toBe(size);
        expect(e.mtime).toEqual({ sec: h.mtime, nsec: 0 });
        if (h.type === 'symlink' || h.type === 'link') expect(e.linkname).toBe(h.linkname);
        if (h.type === 'char' || h.type === 'block') expect([e.devmajor, e.devminor]).toEqual([h.devmajor, h.devminor]);
        expect((e.xattrs ?? []).map(([k, v]) => [k, Buffer.from(v).toString('hex')])).toEqual(h.xattrs.map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same header gives the same bytes', () => {
    const h: TarHeaderInput = { name: `a/${'b'.repeat(300)}`, type: 'file', mode: 0o644, uid: 1, gid: 2, size: 5, mtime: 9, xattrs: [['user.x', Buffer.from('y')]] };
    expect(Buffer.from(encodeHeader(h)).equals(Buffer.from(encodeHeader({ ...h })))).toBe(true);
  });
});

describe('corrupt and truncated archives', () => {
  const good = rawTar([
    { name: 'a', type: 'directory' },
    { name: 'a/f', type: 'file', data: 'x'.repeat(1000) },
    { name: `a/${'l'.repeat(200)}`, type: 'file', data: 'long' },
  ]);

  function corrupt(tar: Uint8Array): CorruptLayerError {
    try {
      parse(tar, 333);
    } catch (e) {
      expect(e).toBeInstanceOf(CorruptLayerError);
      return e as CorruptLayerError;
    }
    throw new Error('parsed a corrupt archive without an error');
  }

  it('a bad header checksum names the header offset', () => {
    const t = Buffer.from(good);
    t[512 + 10] ^= 0x20; // a byte of the second header's name
    const e = corrupt(t);
    expect(e).toMatchObject({ code: 'CORRUPT_LAYER', format: 'tar', offset: 512, reason: 'invalid header checksum' });
  });

  it('truncation anywhere is an error, with the offset where the input ended', () => {
    // Every cut short of the end-of-archive marker fails; an empty input is an empty archive.
    for (let cut = 1; cut < good.length - 1024; cut += 97) {
      const e = corrupt(good.subarray(0, cut));
      expect(e.offset).toBe(cut);
      expect(e.reason).toMatch(/truncated/);
    }
    expect(parse(new Uint8Array(0)).entries).toEqual([]);
  });

  it('an invalid numeric field, a bad PAX record, an oversized PAX header, data after a single zero block', () => {
    const mode = Buffer.from(good);
    mode.write('9', 100); // mode field: not octal
    fixChecksum(mode, 0);
    expect(corrupt(mode).reason).toMatch(/checksum|mode/);

    const pax = rawTar([{ name: 'p'.repeat(300), type: 'file', data: '' }]);
    const bad = Buffer.from(pax);
    bad.write('99', 512); // the PAX record's length
    expect(corrupt(bad).reason).toMatch(/PAX/);

    const huge = Buffer.from(rawTar([{ name: 'x', type: 'file', data: '' }]));
    huge[156] = 0x78; // typeflag 'x'
    huge.write('77777777777', 124, 'latin1'); // size: 8 GiB of PAX header
    fixChecksum(huge, 0);
    expect(corrupt(huge).reason).toMatch(/exceeds/);

    const zeroThenData = Buffer.concat([Buffer.alloc(512), good]);
    expect(corrupt(zeroThenData).reason).toMatch(/single zero block/);
  });

  it('readTar rejects with the same error, after the entries before it', async () => {
    const names: string[] = [];
    const t = Buffer.from(good);
    t[2048 + 3] ^= 1;
    await expect(
      (async () => {
        for await (const e of readTar(Readable.from([t]))) {
          names.push(e.name);
          await drain(e.data);
        }
      })(),
    ).rejects.toBeInstanceOf(CorruptLayerError);
    expect(names).toEqual(['a/', 'a/f']);
  });
});



function fixChecksum(b: Buffer, off: number): void {
  b.fill(0x20, off + 148, off + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[off + i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, off + 148, 'latin1');
}
