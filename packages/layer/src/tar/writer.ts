import { BLOCK, F, computeChecksum, writeBase256, writeOctal } from './format.js';

/** TarHeaderInput: what {@link encodeHeader} writes for one member. */
export interface TarHeaderInput {
  /** Member name without a leading `/` or `./`; directories get their trailing `/` added here. */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';
  /** Permission and setuid/setgid/sticky bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Data size (files only). */
  size: number;
  /** Modification time in whole seconds (sub-second precision is not written, as containerd and Docker truncate). */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  /** Extended attributes, written as PAX `SCHILY.xattr.NAME` records (binary-safe), in the order given. */
  xattrs?: Array<[string, Uint8Array]>;
}

const TYPEFLAG: Record<TarHeaderInput['type'], number> = {
  file: 0x30,
  link: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  directory: 0x35,
  fifo: 0x36,
};

const encoder = new TextEncoder();
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e || s.charCodeAt(i) < 0x20) return false;
  return true;
}

// Splits a long ASCII name into ustar prefix (≤155) and name (≤100) at a "/", or undefined.
function splitUstar(name: string): [string, string] | undefined {
  if (name.length <= 100) return ['', name];
  if (name.length > 256) return undefined;
  for (let i = name.length - 1; i > 0; i--) {
    if (name.charCodeAt(i) !== 0x2f) continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return [prefix, rest];
    if (rest.length > 100) return undefined;
  }
  return undefined;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const kb = encoder.encode(key);
  // "LEN KEY=VALUE\n": LEN counts its own digits.
  const base = kb.length + value.length + 3;
  let len = base + String(base).length;
  if (String(len).length !== String(base).length) len = base + String(len).length;
  const head = encoder.encode(`${len} `);
  const out = new Uint8Array(len);
  out.set(head, 0);
  out.set(kb, head.length);
  out[head.length + kb.length] = 0x3d;
  out.set(value, head.length + kb.length + 1);
  out[len - 1] = 0x0a;
  return out;
}

function ustarBlock(fields: {
  name: string;
  prefix: string;
  typeflag: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(encoder.encode(fields.name).subarray(0, 100), F.name);
  writeOctal(b, F.mode, 8, fields.mode);
  if (!writeOctal(b, F.uid, 8, fields.uid)) writeBase256(b, F.uid, 8, fields.uid);
  if (!writeOctal(b, F.gid, 8, fields.gid)) writeBase256(b, F.gid, 8, fields.gid);
  if (!writeOctal(b, F.size, 12, fields.size)) writeBase256(b, F.size, 12, fields.size);
  writeOctal(b, F.mtime, 12, Math.min(Math.max(fields.mtime, 0), MAX_OCTAL_12));
  b[F.typeflag] = fields.typeflag;
  b.set(encoder.encode(fields.linkname).subarray(0, 100), F.linkname);
  b.set([0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30], F.magic); // "ustar\0" "00"
  b.set(encoder.encode(fields.uname).subarray(0, 32), F.uname);
  b.set(encoder.encode(fields.gname).subarray(0, 32), F.gname);
  if (!writeOctal(b, F.devmajor, 8, fields.devmajor)) writeBase256(b, F.devmajor, 8, fields.devmajor);
  if (!writeOctal(b, F.devminor, 8, fields.devminor)) writeBase256(b, F.devminor, 8, fields.devminor);
  b.set(encoder.encode(fields.prefix).subarray(0, 155), F.prefix);
  // Checksum: six octal digits, NUL, space (the traditional layout).
  const sum = computeChecksum(b);
  writeOctal(b, F.chksum, 7, sum);
  b[F.chksum + 7] = 0x20;
  return b;
}

/**
 * encodeHeader returns the header block(s) of one member: a ustar header, preceded by a PAX
 * extended header when something does not fit ustar — a name or link target longer than ustar
 * holds or not plain ASCII, uid/gid/size beyond the octal fields, long user/group names, and
 * every extended attribute (`SCHILY.xattr.*`, values as raw bytes). Deterministic: the same
 * input gives the same bytes. The caller writes the data and {@link padding} after it.
 */
export function encodeHeader(h: TarHeaderInput): Uint8Array {
  const name = h.type === 'directory' && !h.name.endsWith('/') ? `${h.name}/` : h.name;
  const linkname = h.linkname ?? '';
  const uname = h.uname ?? '';
  const gname = h.gname ?? '';
  const size = h.type === 'file' ? h.size : 0;
  const records: Uint8Array[] = [];
  let ustarName = name;
  let prefix = '';
  const split = isAscii(name) ? splitUstar(name) : undefined;
  if (split) [prefix, ustarName] = split;
  else records.push(paxRecord('path', encoder.encode(name)));
  if (linkname.length > 0 && (!isAscii(linkname) || linkname.length > 100)) records.push(paxRecord('linkpath', encoder.encode(linkname)));
  if (h.uid > MAX_OCTAL_8) records.push(paxRecord('uid', encoder.encode(String(h.uid))));
  if (h.gid > MAX_OCTAL_8) records.push(paxRecord('gid', encoder.encode(String(h.gid))));
  if (size > MAX_OCTAL_12) records.push(paxRecord('size', encoder.encode(String(size))));
  if (h.mtime < 0 || h.mtime > MAX_OCTAL_12) records.push(paxRecord('mtime', encoder.encode(String(h.mtime))));
  if (encoder.encode(uname).length > 32 || !isAscii(uname)) records.push(paxRecord('uname', encoder.encode(uname)));
  if (encoder.encode(gname).length > 32 || !isAscii(gname)) records.push(paxRecord('gname', encoder.encode(gname)));
  for (const [k, v] of h.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const main = ustarBlock({
    name: ustarName,
    prefix,
    typeflag: TYPEFLAG[h.type],
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    size,
    mtime: h.mtime,
    linkname,
    uname,
    gname,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (records.length === 0) return main;
  let bodyLen = 0;
  for (const r of records) bodyLen += r.length;
  // The extended header's own name, as Go's archive/tar: DIR/PaxHeaders.0/BASE (cut to 100 bytes).
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  const slash = trimmed.lastIndexOf('/');
  const paxName = `${slash >= 0 ? `${trimmed.slice(0, slash + 1)}` : ''}PaxHeaders.0/${trimmed.slice(slash + 1)}`;
  const paxBytes = encoder.encode(paxName);
  const paxHeader = ustarBlock({
    name: new TextDecoder().decode(paxBytes.subarray(0, 100)).replace(/\uFFFD+$/, ''),
    prefix: '',
    typeflag: 0x78,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: bodyLen,
    mtime: h.mtime,
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  });
  const out = new Uint8Array(BLOCK + padded(bodyLen) + BLOCK);
  out.set(paxHeader, 0);
  let o = BLOCK;
  for (const r of records) {
    out.set(r, o);
    o += r.length;
  }
  out.set(main, BLOCK + padded(bodyLen));
  return out;
}

function padded(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

const ZEROS = new Uint8Array(BLOCK * 2);

/** padding returns the zero bytes that follow `size` bytes of member data (a view of a shared zero buffer). */
export function padding(size: number): Uint8Array {
  const n = padded(size) - size;
  return ZEROS.subarray(0, n);
}

/** END_OF_ARCHIVE: the two zero blocks that end a tar stream. */
export const END_OF_ARCHIVE: Uint8Array = ZEROS;
