import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, linkSync, writeFileSync, chmodSync, lchownSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AT, MNT, O, S, fstatat, lgetxattr, llistxattr, lsetxattr, mknodat, mountFs, openat, umount2, utimensat } from '@stratum/native';
import { guard, useLeakCheck } from '@stratum/testing';
import { STAGE_PREFIX, VolumeStore, copyUp, parseMount, parseVolume } from '../src/index.js';
import { busyboxRootfs, sh, tempDir } from './helpers.js';

useLeakCheck({ beforeEach, afterEach });

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('copyup');
});
afterEach(() => tmp[Symbol.dispose]());

// A v2 security.capability value granting cap_net_bind_service (effective).
const CAP = Buffer.alloc(20);
CAP.writeUInt32LE(0x02000001, 0);
CAP.writeUInt32LE(1 << 10, 4);

interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  atimeNs: bigint;
  rdev: string;
  target?: string;
  sha?: string;
  xattrs: Record<string, string>;
  linkGroup?: string;
}

/**
 * Everything copy-up must preserve, of every entry under `dir` (and `dir` itself as '.'). Each
 * entry is stat'ed before it is read; reading moves atimes (relatime: once, when atime ≤ mtime),
 * so take a source snapshot twice and compare with the second.
 */
function snapshot(dir: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const inodes = new Map<string, string>();
  const reads: Array<() => void> = [];
  const walk = (rel: string): void => {
    const p = rel === '.' ? dir : join(dir, rel);
    const st = fstatat(AT.FDCWD, p, AT.SYMLINK_NOFOLLOW);
    const type = { [S.IFDIR]: 'dir', [S.IFREG]: 'file', [S.IFLNK]: 'symlink', [S.IFCHR]: 'char', [S.IFBLK]: 'block', [S.IFIFO]: 'fifo', [S.IFSOCK]: 'socket' }[st.mode & S.IFMT]!;
    const xattrs: Record<string, string> = {};
    for (const n of llistxattr(p).sort()) xattrs[n] = lgetxattr(p, n).toString('hex');
    const e: Entry = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'dir' ? 0 : st.size, mtimeNs: st.mtimeNs, atimeNs: st.atimeNs, rdev: `${st.rdevMajor}:${st.rdevMinor}`, xattrs };
    // Contents are read after every stat (reading moves the atime of all names of a hard-linked inode).
    if (type === 'symlink') reads.push(() => (e.target = readlinkSync(p)));
    if (type === 'file') reads.push(() => (e.sha = createHash('sha256').update(readFileSync(p)).digest('hex')));
    if (type !== 'dir' && st.nlink > 1) {
      const key = String(st.ino);
      if (!inodes.has(key)) inodes.set(key, rel);
      e.linkGroup = inodes.get(key)!;
    }
    out[rel] = e;
    if (type === 'dir') for (const n of readdirSync(p).sort()) walk(rel === '.' ? n : `${rel}/${n}`);
  };
  walk('.');
  for (const r of reads) r();
  return out;
}

function at(path: string, sec: number): void {
  utimensat(AT.FDCWD, path, { sec: sec - 1000, nsec: 123 }, { sec, nsec: 456789 }, AT.SYMLINK_NOFOLLOW);
}

/** An image directory with every kind of entry and attribute copy-up must keep. */
function imageTree(data: string): void {
  mkdirSync(join(data, 'sub'), { recursive: true });
  mkdirSync(join(data, 'deep', 'a', 'b'), { recursive: true });
  mkdirSync(join(data, 'empty'));
  writeFileSync(join(data, 'file'), randomBytes(300_000));
  lchownSync(join(data, 'file'), 1000, 1001);
  chmodSync(join(data, 'file'), 0o4755);
  lsetxattr(join(data, 'file'), 'user.color', 'blue');
  lsetxattr(join(data, 'file'), 'trusted.stratum', Buffer.from([0, 1, 2, 255]));
  lsetxattr(join(data, 'file'), 'security.capability', CAP);
  writeFileSync(join(data, 'hl1'), 'one inode, three names\n');
  lchownSync(join(data, 'hl1'), 7, 8);
  linkSync(join(data, 'hl1'), join(data, 'sub', 'hl2'));
  linkSync(join(data, 'hl1'), join(data, 'deep', 'a', 'b', 'hl3'));
  writeFileSync(join(data, 'deep', 'a', 'b', 'leaf'), 'leaf\n');
  chmodSync(join(data, 'deep', 'a', 'b', 'leaf'), 0o600);
  chmodSync(join(data, 'sub'), 0o1777);
  lchownSync(join(data, 'sub'), 33, 33);
  lsetxattr(join(data, 'sub'), 'user.dir', 'yes');
  symlinkSync('file', join(data, 'rel-link'));
  symlinkSync('/etc/shadow', join(data, 'abs-link'));
  symlinkSync('../../nowhere', join(data, 'sub', 'dangling'));
  lchownSync(join(data, 'abs-link'), 1234, 5678);
  lsetxattr(join(data, 'abs-link'), 'trusted.onlink', 'x');
  using d = openat(AT.FDCWD, data, O.PATH | O.DIRECTORY);
  mknodat(d, 'fifo', S.IFIFO | 0o640);
  mknodat(d, 'null', S.IFCHR | 0o666, 1, 3);
  mknodat(d, 'sock', S.IFSOCK | 0o755);
  lchownSync(join(data, 'fifo'), 2, 3);
  chmodSync(data, 0o750);
  lchownSync(data, 999, 998);
  lsetxattr(data, 'user.top', 'level');
  let t = 1_600_000_000;
  const stamp = (rel: string): void => at(join(data, rel), (t += 3600));
  for (const rel of ['file', 'hl1', 'deep/a/b/leaf', 'rel-link', 'abs-link', 'sub/dangling', 'fifo', 'null', 'sock']) stamp(rel);
  for (const rel of ['empty', 'deep/a/b', 'deep/a', 'deep', 'sub', '.']) stamp(rel);
}

describe('copy-up of image content into an empty volume', () => {
  it('preserves ownership, modes, xattrs, hard links, symlinks, nodes and timestamps', async (ctx) => {
    guard(ctx, 'root', 'native');
    const rootfs = join(tmp.dir, 'rootfs');
    imageTree(join(rootfs, 'var', 'lib', 'data'));
    snapshot(join(rootfs, 'var', 'lib', 'data'));
    const before = snapshot(join(rootfs, 'var', 'lib', 'data'));
    const dest = join(tmp.dir, 'vol');
    mkdirSync(dest);
    const seen: number[] = [];
    const r = await copyUp(rootfs, '/var/lib/data', dest, { onProgress: (p) => seen.push(p.entries) });
    expect(r.copied).toBe(true);
    expect(r.bytes).toBe(300_000 + 'one inode, three names\n'.length + 'leaf\n'.length);
    expect(r.entries).toBe(Object.keys(before).length - 1);
    expect(seen.at(-1)).toBe(r.entries);
    const after = snapshot(dest);
    expect(after).toEqual(before);
    // the point of the checks above, spelled out
    expect(after['file']!.mode).toBe(0o4755);
    expect(after['file']!.xattrs['security.capability']).toBe(CAP.toString('hex'));
    expect(after['sub/hl2']!.linkGroup).toBe('deep/a/b/hl3');
    expect(lstatSync(join(dest, 'hl1')).nlink).toBe(3);
    expect(after['abs-link']!.target).toBe('/etc/shadow');
    expect(after['.']!).toMatchObject({ uid: 999, gid: 998, mode: 0o750 });
    expect(readdirSync(dest).some((n) => n.startsWith(STAGE_PREFIX))).toBe(false);
  });

  it('never copies into a volume that has content; nothing when the image has no directory there', async (ctx) => {
    guard(ctx, 'root', 'native');
    const rootfs = join(tmp.dir, 'rootfs');
    mkdirSync(join(rootfs, 'data'), { recursive: true });
    writeFileSync(join(rootfs, 'data', 'from-image'), 'image');
    writeFileSync(join(rootfs, 'afile'), 'x');
    const dest = join(tmp.dir, 'vol');
    mkdirSync(dest);
    writeFileSync(join(dest, 'mine'), 'keep');
    expect((await copyUp(rootfs, '/data', dest)).copied).toBe(false);
    expect(readdirSync(dest)).toEqual(['mine']);
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    expect((await copyUp(rootfs, '/missing', empty)).copied).toBe(false);
    expect((await copyUp(rootfs, '/afile', empty)).copied).toBe(false);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('a stale staging directory of a crashed copy does not count as content and is removed', async (ctx) => {
    guard(ctx, 'root', 'native');
    const rootfs = join(tmp.dir, 'rootfs');
    mkdirSync(join(rootfs, 'data'), { recursive: true });
    writeFileSync(join(rootfs, 'data', 'f'), 'image');
    const dest = join(tmp.dir, 'vol');
    mkdirSync(join(dest, `${STAGE_PREFIX}dead`, 'half'), { recursive: true });
    expect((await copyUp(rootfs, '/data', dest)).copied).toBe(true);
    expect(readdirSync(dest)).toEqual(['f']);
  });

  it('an abort leaves the volume empty', async (ctx) => {
    guard(ctx, 'root', 'native');
    const rootfs = join(tmp.dir, 'rootfs');
    for (let i = 0; i < 50; i++) {
      mkdirSync(join(rootfs, 'data', `d${i}`), { recursive: true });
      writeFileSync(join(rootfs, 'data', `d${i}`, 'f'), randomBytes(1000));
    }
    const dest = join(tmp.dir, 'vol');
    mkdirSync(dest);
    const ac = new AbortController();
    const p = copyUp(rootfs, '/data', dest, { signal: ac.signal, onProgress: (x) => x.entries === 20 && ac.abort() });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(readdirSync(dest)).toEqual([]);
  });
});

describe('copy-up from an overlay rootfs (a container\'s merged view)', () => {
  it('copies what the merged view shows: upper over lower, whiteouts hide, no overlay xattrs', async (ctx) => {
    guard(ctx, 'root', 'native', 'overlay');
    const lower = join(tmp.dir, 'lower');
    const upper = join(tmp.dir, 'upper');
    const work = join(tmp.dir, 'work');
    const merged = join(tmp.dir, 'merged');
    for (const d of [join(lower, 'data', 'sub'), join(upper, 'data'), work, merged]) mkdirSync(d, { recursive: true });
    writeFileSync(join(lower, 'data', 'kept'), 'lower\n');
    writeFileSync(join(lower, 'data', 'deleted'), 'lower\n');
    writeFileSync(join(lower, 'data', 'changed'), 'lower\n');
    writeFileSync(join(lower, 'data', 'sub', 'old'), 'lower\n');
    writeFileSync(join(upper, 'data', 'changed'), 'upper\n');
    writeFileSync(join(upper, 'data', 'added'), 'upper\n');
    using u = openat(AT.FDCWD, join(upper, 'data'), O.PATH | O.DIRECTORY);
    mknodat(u, 'deleted', S.IFCHR | 0o000, 0, 0); // overlay whiteout
    mkdirSync(join(upper, 'data', 'sub'));
    lsetxattr(join(upper, 'data', 'sub'), 'trusted.overlay.opaque', 'y'); // opaque: hides lower's sub/old
    writeFileSync(join(upper, 'data', 'sub', 'new'), 'upper\n');
    mountFs({ fstype: 'overlay', source: 'stratum-test', options: [['lowerdir', lower], ['upperdir', upper], ['workdir', work]], target: merged });
    try {
      const dest = join(tmp.dir, 'vol');
      mkdirSync(dest);
      expect((await copyUp(merged, '/data', dest)).copied).toBe(true);
      const got = snapshot(dest);
      expect(Object.keys(got).sort()).toEqual(['.', 'added', 'changed', 'kept', 'sub', 'sub/new']);
      expect(readFileSync(join(dest, 'changed'), 'utf8')).toBe('upper\n');
      expect(Object.values(got).flatMap((e) => Object.keys(e.xattrs)).filter((n) => n.includes('overlay'))).toEqual([]);
    } finally {
      umount2(merged, MNT.DETACH);
    }
  });
});

describe('copy-up through the store (docker run -v NAME:/path)', () => {
  it('an empty named volume gets the image content once; a container sees it; a second container does not re-copy', async (ctx) => {
    guard(ctx, 'root', 'native');
    const rootfs = busyboxRootfs(join(tmp.dir, 'rootfs'));
    imageTree(join(rootfs, 'srv', 'www'));
    snapshot(join(rootfs, 'srv', 'www'));
    const expected = snapshot(join(rootfs, 'srv', 'www'));
    const store = await VolumeStore.open(join(tmp.dir, 'volumes'));
    const a = await store.attach('ctr-a', [parseVolume('www:/srv/www')], { rootfs });
    expect(a.created).toEqual(['www']);
    expect(a.points).toEqual([
      { Type: 'volume', Name: 'www', Source: store.mountpoint('www'), Destination: '/srv/www', Driver: 'local', Mode: '', RW: true, Propagation: '', Spec: expect.objectContaining({ type: 'volume', source: 'www' }) },
    ]);
    expect(snapshot(store.mountpoint('www'))).toEqual(expected);
    const r = await sh(rootfs, 'stat -c "%A %u %g" /srv/www/file; cat /srv/www/sub/hl2; echo added > /srv/www/new', a.mounts);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^-rwsr-xr-x 1000 1001\n/);
    expect(r.stdout).toMatch(/one inode, three names\n$/);
    // The image changes; the volume keeps what it has (it is not empty any more).
    writeFileSync(join(rootfs, 'srv', 'www', 'later'), 'x');
    const b = await store.attach('ctr-b', [parseVolume('www:/srv/www')], { rootfs });
    expect(b.created).toEqual([]);
    expect(existsSync(join(store.mountpoint('www'), 'later'))).toBe(false);
    expect(readFileSync(join(store.mountpoint('www'), 'new'), 'utf8')).toBe('added\n');
    expect(await store.users('www')).toEqual(['ctr-a', 'ctr-b']);
  });

  it('nocopy (and volume-nocopy) keep the volume empty; anonymous volumes copy too', async (ctx) => {
    guard(ctx, 'root', 'native');
    const rootfs = join(tmp.dir, 'rootfs');
    mkdirSync(join(rootfs, 'data'), { recursive: true });
    writeFileSync(join(rootfs, 'data', 'f'), 'image');
    mkdirSync(join(rootfs, 'data2'));
    writeFileSync(join(rootfs, 'data2', 'f'), 'image');
    const store = await VolumeStore.open(join(tmp.dir, 'volumes'));
    const att = await store.attach('c1', [parseVolume('v1:/data:nocopy'), parseMount('src=v2,dst=/data2,volume-nocopy')], { rootfs });
    expect(readdirSync(store.mountpoint('v1'))).toEqual([]);
    expect(readdirSync(store.mountpoint('v2'))).toEqual([]);
    const anon = await store.attach('c2', [parseVolume('/data')], { rootfs });
    expect(anon.created[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(anon.points[0]!.Source, 'f'), 'utf8')).toBe('image');
    expect(att.volumes).toEqual(['v1', 'v2']);
  });
});
