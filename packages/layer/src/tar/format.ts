/**
 * The tar header layout shared by the reader and the writer: ustar (POSIX.1-1988), its GNU and
 * star variants, and the numeric field encodings (octal, GNU base-256). Pure functions over
 * 512-byte blocks.
 */

export const BLOCK = 512;

/** Byte offsets of the header fields. */
export const F = {
  name: 0,
  mode: 100,
  uid: 108,
  gid: 116,
  size: 124,
  mtime: 136,
  chksum: 148,
  typeflag: 156,
  linkname: 157,
  magic: 257,
  version: 263,
  uname: 265,
  gname: 297,
  devmajor: 329,
  devminor: 337,
  prefix: 345,
  // GNU: old sparse map (4 entries of offset[12] numbytes[12]), extension flag, real size.
  gnuSparse: 386,
  gnuIsExtended: 482,
  gnuRealSize: 483,
  // star: a 131-byte prefix followed by atime/ctime, and "tar\0" at 508.
  starTrailer: 508,
} as const;

/** Type flags (one ASCII byte each). */
export const T = {
  file: 0x30, // '0'
  fileOld: 0x00, // '\0'
  link: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  directory: 0x35,
  fifo: 0x36,
  contiguous: 0x37,
  pax: 0x78, // 'x'
  paxGlobal: 0x67, // 'g'
  gnuLongName: 0x4c, // 'L'
  gnuLongLink: 0x4b, // 'K'
  gnuSparse: 0x53, // 'S'
  gnuDumpDir: 0x44, // 'D'
  gnuVolume: 0x56, // 'V'
  gnuMultiVolume: 0x4d, // 'M'
  solarisXattr: 0x58, // 'X': old Solaris extended header, same record syntax as 'x'
} as const;

const SPACE = 0x20;

/** isZeroBlock tells whether 512 bytes at `off` are all zero (an end-of-archive block). */
export function isZeroBlock(b: Uint8Array, off: number): boolean {
  for (let i = off, end = off + BLOCK; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * checksumOk verifies the header checksum: the sum of all bytes with the checksum field read as
 * spaces, as unsigned bytes (POSIX) or signed bytes (old Sun/GNU tars).
 */
export function checksumOk(b: Uint8Array, off: number): boolean {
  const stored = parseOctal(b, off + F.chksum, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  const cs = off + F.chksum;
  for (let i = off; i < cs; i++) unsigned += b[i]!;
  for (let i = cs + 8, end = off + BLOCK; i < end; i++) unsigned += b[i]!;
  unsigned += 8 * SPACE;
  if (stored === unsigned) return true;
  // Old Sun and GNU tars summed signed bytes: only look when the unsigned sum does not match.
  let signed = unsigned;
  for (let i = off; i < off + BLOCK; i++) if (b[i]! > 127 && (i < cs || i >= cs + 8)) signed -= 256;
  return stored === signed;
}

/** computeChecksum returns the unsigned header checksum of a block being written. */
export function computeChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= F.chksum && i < F.chksum + 8 ? SPACE : b[i]!;
  return sum;
}

/**
 * parseOctal reads an octal field (leading spaces/NULs allowed, terminated by NUL or space);
 * undefined when it holds anything else. An all-empty field is 0.
 */
export function parseOctal(b: Uint8Array, off: number, len: number): number | undefined {
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === SPACE || b[i] === 0)) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === SPACE) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  // Anything after the terminator must be terminators too.
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== SPACE) return undefined;
  return digits === 0 ? 0 : v;
}

/**
 * parseNumeric reads a numeric field: octal, or GNU base-256 when the first byte has the high
 * bit set (0x80 positive, 0xff negative two's complement). Undefined when malformed or beyond
 * what a JS number holds exactly.
 */
export function parseNumeric(b: Uint8Array, off: number, len: number): number | undefined {
  const first = b[off]!;
  if ((first & 0x80) === 0) return parseOctal(b, off, len);
  const negative = first === 0xff;
  if (!negative && first !== 0x80) return undefined;
  let v = 0n;
  for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(negative ? 0xff - b[off + i]! : b[off + i]!);
  if (negative) v = -(v + 1n);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(v);
}

const decoder = new TextDecoder('utf-8');

// Buffer's native latin1 slice (much faster than String.fromCharCode for header fields).
type Latin1 = Uint8Array & { latin1Slice(start: number, end: number): string };
const isBuffer = (b: Uint8Array): b is Latin1 => Buffer.isBuffer(b);

/** parseString reads a NUL-terminated (or field-filling) string as UTF-8. */
export function parseString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && b[end] !== 0) end++;
  if (end === off) return '';
  // ASCII fast path (almost every tar name).
  let ascii = true;
  for (let i = off; i < end; i++) {
    if (b[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return isBuffer(b) ? b.latin1Slice(off, end) : String.fromCharCode.apply(null, b.subarray(off, end) as unknown as number[]);
  return decoder.decode(b.subarray(off, end));
}

/** hasMagic compares bytes at `off` with an ASCII string (NULs as \0). */
export function hasMagic(b: Uint8Array, off: number, magic: string): boolean {
  for (let i = 0; i < magic.length; i++) if (b[off + i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** The header format a block declares. */
export type HeaderFormat = 'ustar' | 'gnu' | 'star' | 'v7';

/** formatOf tells ustar ("ustar\0" "00"), GNU ("ustar  \0"), star (ustar + "tar\0" trailer) or v7 (no magic). */
export function formatOf(b: Uint8Array, off: number): HeaderFormat {
  if (hasMagic(b, off + F.magic, 'ustar\u0000')) return hasMagic(b, off + F.starTrailer, 'tar\u0000') ? 'star' : 'ustar';
  if (hasMagic(b, off + F.magic, 'ustar  \u0000')) return 'gnu';
  return 'v7';
}

/** writeOctal writes `v` as zero-padded octal filling `len - 1` digits plus a NUL; false if it does not fit. */
export function writeOctal(b: Uint8Array, off: number, len: number, v: number): boolean {
  if (v < 0 || !Number.isSafeInteger(v)) return false;
  const s = v.toString(8);
  if (s.length > len - 1) return false;
  const pad = len - 1 - s.length;
  for (let i = 0; i < pad; i++) b[off + i] = 0x30;
  for (let i = 0; i < s.length; i++) b[off + pad + i] = s.charCodeAt(i);
  b[off + len - 1] = 0;
  return true;
}

/** writeBase256 writes a non-negative `v` in GNU base-256 (high bit of the first byte set). */
export function writeBase256(b: Uint8Array, off: number, len: number, v: number): void {
  let x = BigInt(v);
  for (let i = len - 1; i > 0; i--) {
    b[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[off] = 0x80;
}

/** writeString writes UTF-8 bytes of `s` (must fit `len`; the caller checked). */
export function writeBytes(b: Uint8Array, off: number, bytes: Uint8Array): void {
  b.set(bytes, off);
}
