/**
 * The outer tar of an image archive: the 512-byte ustar header, read and written. Only what image
 * archives use — regular files, directories, symlinks, hard links, PAX `path`/`linkpath`/`size`
 * records and GNU long names — because the archive is an index of members, never extracted.
 * (Layer tars, which are extracted, are @stratum/layer's business.)
 */
import { InvalidArchiveError } from '../errors.js';

export const BLOCK = 512;

/** MemberType: the kinds of archive member the image-archive code tells apart. */
export type MemberType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

/** RawHeader: one decoded header block, before PAX / GNU long-name records are applied. */
export interface RawHeader {
  name: string;
  linkname: string;
  size: number;
  mode: number;
  /** The type flag byte as a character ('0', '5', 'x', 'L'…). */
  flag: string;
}

const latin = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function field(b: Uint8Array, off: number, len: number): Uint8Array {
  const f = b.subarray(off, off + len);
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
}

function text(b: Uint8Array, off: number, len: number): string {
  const f = field(b, off, len);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(f);
  } catch {
    return latin.decode(f);
  }
}

/** number reads an octal field, or GNU base-256 (high bit of the first byte set). */
function number(b: Uint8Array, off: number, len: number): number | undefined {
  if ((b[off]! & 0x80) !== 0) {
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return Number.isSafeInteger(v) ? v : undefined;
  }
  const s = latin.decode(field(b, off, len)).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  return parseInt(s, 8);
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function checksum(b: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return { unsigned, signed };
}

/**
 * decodeHeader decodes one header block; `undefined` for an all-zero (end-of-archive) block.
 * Throws {@link InvalidArchiveError} `NOT_A_TAR` for a bad checksum or a bad numeric field.
 */
export function decodeHeader(b: Uint8Array, offset: number): RawHeader | undefined {
  if (isZero(b)) return undefined;
  const stored = number(b, 148, 8);
  const sum = checksum(b);
  if (stored === undefined || (stored !== sum.unsigned && stored !== sum.signed)) {
    throw new InvalidArchiveError('NOT_A_TAR', `not a tar archive: bad header checksum at byte ${offset}`, { offset });
  }
  const size = number(b, 124, 12);
  const mode = number(b, 100, 8);
  if (size === undefined || mode === undefined) throw new InvalidArchiveError('NOT_A_TAR', `bad numeric field in the tar header at byte ${offset}`, { offset });
  let name = text(b, 0, 100);
  // ustar ("ustar\0") and GNU ("ustar  ") both have the magic; only ustar has the 155-byte prefix.
  if (latin.decode(b.subarray(257, 263)) === 'ustar\0') {
    const prefix = text(b, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return { name, linkname: text(b, 157, 100), size, mode: mode & 0o7777, flag: String.fromCharCode(b[156]!) };
}

/** memberType maps a type flag to the member kinds archives use. */
export function memberType(flag: string): MemberType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'link';
    default:
      return 'other';
  }
}

/** parsePax reads PAX records (`LEN key=value\n`) into a map; throws `NOT_A_TAR` when malformed. */
export function parsePax(body: Uint8Array, offset: number): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length) {
    const space = body.indexOf(0x20, i);
    const len = space < 0 ? NaN : Number(latin.decode(body.subarray(i, space)));
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > body.length || body[i + len - 1] !== 0x0a) {
      throw new InvalidArchiveError('NOT_A_TAR', `malformed PAX header at byte ${offset}`, { offset });
    }
    const record = utf8.decode(body.subarray(space + 1, i + len - 1));
    const eq = record.indexOf('=');
    if (eq < 0) throw new InvalidArchiveError('NOT_A_TAR', `malformed PAX record at byte ${offset}`, { offset });
    out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}

/** padding is the number of zero bytes after `size` bytes of member data. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** HeaderFields: what {@link encodeHeader} writes. */
export interface HeaderFields {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  size?: number;
  mode?: number;
  linkname?: string;
  /** Seconds since the epoch (default 0, as `docker save` does for its metadata). */
  mtime?: number;
}

function writeOctal(b: Uint8Array, off: number, len: number, v: number): void {
  const s = v.toString(8).padStart(len - 1, '0');
  b.set(Buffer.from(s, 'latin1'), off);
  b[off + len - 1] = 0;
}

function writeString(b: Uint8Array, off: number, len: number, s: string): void {
  b.set(Buffer.from(s, 'utf8').subarray(0, len), off);
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

function ustarBlock(f: HeaderFields, flag: string, name: string, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, 100, name);
  writeOctal(b, 100, 8, f.mode ?? (f.type === 'directory' ? 0o755 : f.type === 'symlink' ? 0o777 : 0o644));
  writeOctal(b, 108, 8, 0);
  writeOctal(b, 116, 8, 0);
  if (size < 0o77777777777) writeOctal(b, 124, 12, size);
  else {
    // GNU base-256 for sizes of 8 GiB and more (the PAX size record says the same).
    let v = size;
    for (let i = 11; i > 0; i--) {
      b[124 + i] = v % 256;
      v = Math.floor(v / 256);
    }
    b[124] = 0x80;
  }
  writeOctal(b, 136, 12, f.mtime ?? 0);
  b[156] = flag.charCodeAt(0);
  if (f.linkname !== undefined && Buffer.byteLength(f.linkname) <= 100) writeString(b, 157, 100, f.linkname);
  b.write('ustar\x0000', 257, 'latin1');
  writeString(b, 265, 32, 'root');
  writeString(b, 297, 32, 'root');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  writeOctal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

/**
 * encodeHeader encodes the header block(s) of one member: a ustar block, preceded by a PAX
 * header when the name or link target is longer than 100 bytes or not ASCII, or the size needs
 * more than 11 octal digits.
 */
export function encodeHeader(f: HeaderFields): Buffer {
  const size = f.type === 'file' ? (f.size ?? 0) : 0;
  const flag = f.type === 'file' ? '0' : f.type === 'directory' ? '5' : '2';
  const records: Buffer[] = [];
  const needsPax = (s: string): boolean => Buffer.byteLength(s) > 100 || /[^\x20-\x7e]/.test(s);
  if (needsPax(f.name)) records.push(paxRecord('path', f.name));
  if (f.linkname !== undefined && needsPax(f.linkname)) records.push(paxRecord('linkpath', f.linkname));
  if (size >= 0o77777777777) records.push(paxRecord('size', String(size)));
  const main = ustarBlock(f, flag, needsPax(f.name) ? Buffer.from(f.name).subarray(0, 99).toString('latin1').replace(/[^\x20-\x7e]/g, '_') : f.name, size);
  if (records.length === 0) return main;
  const body = Buffer.concat(records);
  const pax = ustarBlock({ name: 'PaxHeader', type: 'file', mode: 0o644 }, 'x', 'PaxHeader', body.length);
  return Buffer.concat([pax, body, Buffer.alloc(padding(body.length)), main]);
}
