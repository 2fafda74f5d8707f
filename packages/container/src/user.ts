import { readSync } from 'node:fs';
import { ErrnoError, O, fstat, resolveInRoot } from '@stratum/native';
import { UserNotFoundError } from './errors.js';

/** PasswdEntry: one line of /etc/passwd. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** GroupEntry: one line of /etc/group. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** ExecUser: the credentials a `user` string resolves to (what runc's GetExecUser returns). */
export interface ExecUser {
  uid: number;
  gid: number;
  /** Supplementary groups: those of /etc/group listing the user as a member, then `groupAdd`. */
  additionalGids: number[];
  /** Home directory from passwd ('/' when the user is not in passwd). */
  home: string;
  /** The user's name when found in passwd. */
  name?: string;
}

const ID_MAX = 0xfffffffe;

function parseId(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= ID_MAX ? n : undefined;
}

/** parsePasswd parses /etc/passwd text, skipping comments and malformed lines (as libc does). Pure. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    const uid = parseId(f[2]!);
    const gid = parseId(f[3]!);
    if (uid === undefined || gid === undefined || !f[0]) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

/** parseGroup parses /etc/group text. Pure. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const gid = parseId(f[2]!);
    if (gid === undefined || !f[0]) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

/**
 * resolveUser resolves a Docker `--user` value against a container's passwd and group files:
 * `''` (root, or the passwd entry of uid 0), `name`, `uid`, `name:group`, `uid:gid`, `name:gid`,
 * `uid:group`. A name must exist (else {@link UserNotFoundError}); a numeric uid need not (gid 0,
 * home `/`). Supplementary groups are the groups listing the user's name (only when no group is
 * given, as runc does), plus `groupAdd` (names or gids). Pure.
 */
export function resolveUser(user: string, db: { passwd: readonly PasswdEntry[]; group: readonly GroupEntry[] }, groupAdd: readonly string[] = []): ExecUser {
  if (typeof user !== 'string' || user.includes('\0')) throw new TypeError('user must be a string');
  const colon = user.indexOf(':');
  const u = colon < 0 ? user : user.slice(0, colon);
  const g = colon < 0 ? undefined : user.slice(colon + 1);
  let entry: PasswdEntry | undefined;
  let uid: number;
  const numeric = parseId(u);
  if (u === '') {
    uid = 0;
    entry = db.passwd.find((p) => p.uid === 0);
  } else if (numeric !== undefined) {
    uid = numeric;
    entry = db.passwd.find((p) => p.uid === numeric);
  } else {
    entry = db.passwd.find((p) => p.name === u);
    if (!entry) throw new UserNotFoundError(user, 'passwd', u);
    uid = entry.uid;
  }
  let gid = entry?.gid ?? 0;
  if (g !== undefined && g !== '') {
    const ng = parseId(g);
    if (ng !== undefined) gid = ng;
    else {
      const ge = db.group.find((x) => x.name === g);
      if (!ge) throw new UserNotFoundError(user, 'group', g);
      gid = ge.gid;
    }
  }
  const extra: number[] = [];
  // Supplementary groups from /etc/group only in the implicit form (no group given), as runc does.
  if (entry && (g === undefined || g === '')) for (const ge of db.group) if (ge.members.includes(entry.name) && !extra.includes(ge.gid)) extra.push(ge.gid);
  for (const a of groupAdd) {
    const n = parseId(a);
    const id = n ?? db.group.find((x) => x.name === a)?.gid;
    if (id === undefined) throw new UserNotFoundError(user, 'group', a);
    if (!extra.includes(id)) extra.push(id);
  }
  const out: ExecUser = { uid, gid, additionalGids: extra, home: entry?.home || '/' };
  if (entry) out.name = entry.name;
  return out;
}

const MAX_DB = 4 * 1024 * 1024;

/**
 * readRootFile reads a file of a container's root filesystem with every path component resolved
 * inside `rootfs` (openat2 RESOLVE_IN_ROOT: a symlink in the image cannot make the host's file be
 * read). Returns '' when it does not exist; at most 4 MiB.
 */
export function readRootFile(rootfs: string, path: string): string {
  let fd;
  try {
    fd = resolveInRoot(rootfs, path, { flags: O.RDONLY });
  } catch (e) {
    if (e instanceof ErrnoError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return '';
    throw e;
  }
  try {
    const size = Math.min(fstat(fd).size, MAX_DB);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd.fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    fd.close();
  }
}

/** resolveUserInRoot is {@link resolveUser} with the container's own /etc/passwd and /etc/group. */
export function resolveUserInRoot(rootfs: string, user: string, groupAdd: readonly string[] = []): ExecUser {
  const passwd = parsePasswd(readRootFile(rootfs, '/etc/passwd'));
  const group = parseGroup(readRootFile(rootfs, '/etc/group'));
  return resolveUser(user, { passwd, group }, groupAdd);
}
