/**
 * The outer tar of an image archive: decoding one 512-byte header block. Only what image archives
 * use — regular files, directories, symlinks, hard links — because the archive is an index of
 * members, never extracted. @stratum/layer's `TarParser` reads layer tars as a push parser fed
 * every byte; the archive index instead jumps from header to header with positional reads,
 * skipping the (large) layer data, which needs this pull-side decoder.
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

/** padLength is the number of zero bytes after `size` bytes of member data. */
export function padLength(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
