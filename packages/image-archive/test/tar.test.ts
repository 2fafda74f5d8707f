/** The outer-tar pieces against GNU tar: what it writes we index, what we write it reads. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanPath } from '../src/members.js';
import { fileReader } from '../src/tar/bytes.js';
import { scanTar } from '../src/tar/scan.js';
import { fileHeader } from '../src/tar/writer.js';
import { scratch } from './helpers.js';

const tmp = scratch();

describe('outer tar', () => {
  for (const format of ['gnu', 'posix', 'ustar'] as const) {
    it(`indexes what GNU tar --format=${format} writes, by headers alone`, async () => {
      const src = join(tmp(), 'src');
      const long = `${'d'.repeat(90)}/${'e'.repeat(60)}`;
      mkdirSync(join(src, long), { recursive: true });
      writeFileSync(join(src, long, 'layer.tar'), Buffer.alloc(5000, 7));
      writeFileSync(join(src, 'manifest.json'), '[]');
      // ustar holds link targets of 100 bytes at most; GNU and PAX have long ones.
      const target = format === 'ustar' ? 'manifest.json' : `${long}/layer.tar`;
      symlinkSync(target, join(src, 'link'));
      const archive = join(tmp(), `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', archive, '-C', src, 'manifest.json', 'link', long]);
      const fh = await open(archive, 'r');
      try {
        const members = [];
        for await (const m of scanTar(fileReader(fh, (await fh.stat()).size))) members.push([m.name.replace(/\/$/, ''), m.type, m.size, m.linkname]);
        expect(members).toEqual([
          ['manifest.json', 'file', 2, ''],
          ['link', 'symlink', 0, target],
          [long, 'directory', 0, ''],
          [`${long}/layer.tar`, 'file', 5000, ''],
        ]);
      } finally {
        await fh.close();
      }
    });
  }

  it('writes sizes of 8 GiB and more base-256 in a single header GNU tar reads', () => {
    const path = join(tmp(), 'big.tar');
    writeFileSync(path, fileHeader('blobs/sha256/big', 9 * 1024 ** 3 + 5));
    const r = spawnSync('tar', ['-tvf', path], { encoding: 'utf8' });
    expect(r.stdout).toContain(`${9 * 1024 ** 3 + 5} 1970-01-01 00:00 blobs/sha256/big`);
  });

  it('cleans archive paths and refuses the ones that leave the archive', () => {
    expect(cleanPath('./blobs//sha256/abc/')).toBe('blobs/sha256/abc');
    expect(cleanPath('a/../b')).toBe('b');
    for (const [p, reason] of [['/etc/passwd', 'absolute'], ['../x', 'escapes'], ['a/../../x', 'escapes'], ['', 'invalid'], ['a\0b', 'invalid'], ['.', 'invalid']]) {
      expect(() => cleanPath(p!)).toThrow(expect.objectContaining({ code: 'UNSAFE_ARCHIVE_PATH', reason }));
    }
  });
});
