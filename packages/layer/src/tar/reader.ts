import { CorruptLayerError } from '../errors.js';
import { BLOCK, F, T, checksumOk, formatOf, isZeroBlock, parseNumeric, parseOctal, parseString } from './format.js';

/** TarEntryType: the kinds of entry the reader reports (meta headers — PAX, GNU long names — are folded in). */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link' | 'char' | 'block' | 'fifo' | 'unsupported';

/** TarTime: a timestamp from a tar header: seconds (may be negative) and nanoseconds in [0, 1e9). */
export interface TarTime {
  sec: number;
  nsec: number;
}

/** SparseSegment: one sparse data segment: `length` bytes of the file at `offset`; the rest is a hole. */
export interface SparseSegment {
  offset: number;
  length: number;
}

/** TarEntry is one archive member with every extension (PAX, GNU long names, sparse) applied. */
export interface TarEntry {
  /** The member name as the archive gives it (not cleaned). */
  name: string;
  type: TarEntryType;
  /** The raw type flag byte (for messages about unsupported types). */
  typeflag: number;
  /** Permission and setuid/setgid/sticky bits (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Logical size of a file (the real size of a sparse file); 0 for other types. */
  size: number;
  mtime: TarTime;
  /** Symlink target or hard link target ('' otherwise). */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX `SCHILY.xattr.*` / `LIBARCHIVE.xattr.*` records, in archive order. */
  xattrs: Array<[string, Uint8Array]> | undefined;
  /** The data map of a sparse file (GNU old format, PAX 0.0/0.1/1.0). */
  sparse: SparseSegment[] | undefined;
  /** Byte offset in the tar stream of the entry's first header (its PAX or GNU meta header if any). */
  offset: number;
}

/** TarHandler receives entries and their data, synchronously, in archive order. */
export interface TarHandler {
  /** A new entry starts; its data (files only) follows through {@link TarHandler.data}. */
  entry(e: TarEntry): void;
  /** `chunk` holds file bytes for position `position` of the file (sparse files jump). The chunk is only valid during the call. */
  data(chunk: Uint8Array, position: number): void;
  /** The entry's data is complete. */
  endEntry(): void;
}

/** MAX_META_SIZE: the largest PAX / GNU long-name / sparse-map body accepted (as Go's archive/tar). */
export const MAX_META_SIZE = 1 << 20;

type State = 'header' | 'meta' | 'data' | 'skip' | 'gnuext' | 'sparsemap' | 'zero' | 'done';
type MetaKind = 'pax' | 'global' | 'longname' | 'longlink';

const decoder = new TextDecoder('utf-8');

function readSparseHeaderEntries(b: Uint8Array, off: number, count: number, out: SparseSegment[], at: number): boolean {
  for (let k = 0; k < count; k++) {
    const o = off + k * 24;
    if (b[o] === 0 && b[o + 12] === 0) continue; // empty slot
    const offset = parseNumeric(b, o, 12);
    const length = parseNumeric(b, o + 12, 12);
    if (offset === undefined || length === undefined || offset < 0 || length < 0) {
      throw new CorruptLayerError('tar', at, 'invalid GNU sparse map entry');
    }
    out.push({ offset, length });
  }
  return b[off + count * 24] !== 0; // the isextended byte after the entries
}

/**
 * TarParser is a push parser for tar streams (ustar, GNU, PAX, v7): feed it chunks with
 * {@link TarParser.write}, then call {@link TarParser.end}. It calls the handler synchronously;
 * file data is passed as sub-arrays of the chunks written (no copy). Every malformed input —
 * bad checksum, unparsable numeric field, oversized meta header, inconsistent sparse map,
 * truncation, a missing end-of-archive marker — throws {@link CorruptLayerError} with the byte
 * offset. Bytes after the end-of-archive blocks are ignored (the caller may still hash them).
 */
export class TarParser {
  readonly #h: TarHandler;
  #state: State = 'header';
  /** Absolute stream offset of the next byte to be consumed. */
  #pos = 0;
  readonly #hdr = new Uint8Array(BLOCK);
  #hdrFill = 0;
  // meta
  #metaKind: MetaKind = 'pax';
  #meta: Uint8Array = new Uint8Array(0);
  #metaFill = 0;
  #pax: Array<[string, Uint8Array]> | undefined;
  #longName: string | undefined;
  #longLink: string | undefined;
  #entryStart = -1;
  // data
  #remaining = 0;
  #afterSkip: State = 'header';
  #entry: TarEntry | undefined;
  #segments: SparseSegment[] | undefined;
  #seg = 0;
  #segDone = 0;
  #filePos = 0;
  #dataSize = 0;
  #mapText = '';
  #zeroAt = 0;
  #entries = 0;

  constructor(handler: TarHandler) {
    this.#h = handler;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#pos;
  }

  /** True once the end-of-archive marker was read. */
  get done(): boolean {
    return this.#state === 'done';
  }

  /** Entries reported so far. */
  get entries(): number {
    return this.#entries;
  }

  /** write parses `chunk`; throws {@link CorruptLayerError} (or whatever the handler throws). */
  write(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.#state) {
        case 'header': {
          if (this.#hdrFill === 0 && n - i >= BLOCK) {
            const at = this.#pos;
            this.#pos += BLOCK;
            this.#header(chunk, i, at);
            i += BLOCK;
          } else {
            const take = Math.min(BLOCK - this.#hdrFill, n - i);
            this.#hdr.set(chunk.subarray(i, i + take), this.#hdrFill);
            this.#hdrFill += take;
            this.#pos += take;
            i += take;
            if (this.#hdrFill === BLOCK) {
              this.#hdrFill = 0;
              this.#header(this.#hdr, 0, this.#pos - BLOCK);
            }
          }
          break;
        }
        case 'data': {
          const take = Math.min(this.#remaining, n - i);
          this.#emit(chunk, i, take);
          i += take;
          this.#pos += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#endData();
          break;
        }
        case 'skip': {
          const take = Math.min(this.#remaining, n - i);
          i += take;
          this.#pos += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = this.#afterSkip;
          break;
        }
        case 'meta': {
          const take = Math.min(this.#meta.length - this.#metaFill, n - i);
          this.#meta.set(chunk.subarray(i, i + take), this.#metaFill);
          this.#metaFill += take;
          i += take;
          this.#pos += take;
          if (this.#metaFill === this.#meta.length) this.#endMeta();
          break;
        }
        case 'gnuext':
        case 'sparsemap':
        case 'zero': {
          const take = Math.min(BLOCK - this.#hdrFill, n - i);
          this.#hdr.set(chunk.subarray(i, i + take), this.#hdrFill);
          this.#hdrFill += take;
          i += take;
          this.#pos += take;
          if (this.#hdrFill === BLOCK) {
            this.#hdrFill = 0;
            const at = this.#pos - BLOCK;
            if (this.#state === 'gnuext') this.#gnuExtBlock(at);
            else if (this.#state === 'sparsemap') this.#sparseMapBlock(at);
            else this.#secondZero(at);
          }
          break;
        }
        case 'done':
          this.#pos += n - i;
          return;
      }
    }
  }

  /** end checks that the archive was complete (end-of-archive marker seen; an empty stream is an empty archive). */
  end(): void {
    if (this.#state === 'done' || this.#state === 'zero') {
      this.#state = 'done';
      return;
    }
    if (this.#state === 'header' && this.#hdrFill === 0 && this.#entryStart < 0) {
      if (this.#pos === 0) {
        this.#state = 'done';
        return;
      }
      throw new CorruptLayerError('tar', this.#pos, 'truncated: missing end-of-archive marker');
    }
    const where = this.#state === 'data' || this.#state === 'sparsemap' || this.#state === 'gnuext'
      ? `inside the data of entry ${JSON.stringify(this.#entry?.name ?? '')}`
      : this.#state === 'meta' ? 'inside a PAX or GNU meta header' : this.#state === 'skip' ? 'in the padding after an entry' : 'inside a header';
    throw new CorruptLayerError('tar', this.#pos, `truncated ${where}`);
  }

  #header(b: Uint8Array, off: number, at: number): void {
    if (isZeroBlock(b, off)) {
      if (this.#entryStart >= 0) throw new CorruptLayerError('tar', at, 'end-of-archive marker after a PAX or GNU meta header');
      this.#zeroAt = at;
      this.#state = 'zero';
      return;
    }
    if (!checksumOk(b, off)) throw new CorruptLayerError('tar', at, 'invalid header checksum');
    if (this.#entryStart < 0) this.#entryStart = at;
    const flag = b[off + F.typeflag]!;
    const size = parseNumeric(b, off + F.size, 12);
    if (size === undefined || size < 0) throw new CorruptLayerError('tar', at, 'invalid size field');
    switch (flag) {
      case T.pax:
      case T.solarisXattr:
        return this.#startMeta('pax', size, at);
      case T.paxGlobal:
        return this.#startMeta('global', size, at);
      case T.gnuLongName:
        return this.#startMeta('longname', size, at);
      case T.gnuLongLink:
        return this.#startMeta('longlink', size, at);
      case T.gnuVolume:
        this.#resetMeta();
        return this.#skip(padded(size), 'header');
      case T.gnuMultiVolume:
        throw new CorruptLayerError('tar', at, 'multi-volume archives are not supported');
    }
    this.#buildEntry(b, off, at, flag, size);
  }

  #startMeta(kind: MetaKind, size: number, at: number): void {
    if (size > MAX_META_SIZE) throw new CorruptLayerError('tar', at, `${kind === 'pax' || kind === 'global' ? 'PAX' : 'GNU long name'} header of ${size} bytes exceeds ${MAX_META_SIZE}`);
    this.#metaKind = kind;
    this.#meta = new Uint8Array(size);
    this.#metaFill = 0;
    this.#state = 'meta';
    this.#remaining = padded(size) - size; // padding after the body
    if (size === 0) this.#endMeta();
  }

  #endMeta(): void {
    const body = this.#meta;
    const at = this.#pos - body.length;
    switch (this.#metaKind) {
      case 'pax':
        this.#pax = [...(this.#pax ?? []), ...parsePax(body, at)];
        break;
      case 'global':
        // Global PAX headers set defaults for later members; layer tools (Docker, containerd,
        // umoci) ignore them, and so do we — but they must still parse.
        parsePax(body, at);
        if (this.#pax === undefined && this.#longName === undefined && this.#longLink === undefined) this.#entryStart = -1;
        break;
      case 'longname':
        this.#longName = cString(body);
        break;
      case 'longlink':
        this.#longLink = cString(body);
        break;
    }
    this.#meta = new Uint8Array(0);
    if (this.#remaining > 0) this.#skip(this.#remaining, 'header');
    else this.#state = 'header';
  }

  #resetMeta(): void {
    this.#pax = undefined;
    this.#longName = undefined;
    this.#longLink = undefined;
    this.#entryStart = -1;
  }

  #skip(n: number, then: State): void {
    if (n === 0) {
      this.#state = then;
      return;
    }
    this.#remaining = n;
    this.#afterSkip = then;
    this.#state = 'skip';
  }

  #buildEntry(b: Uint8Array, off: number, at: number, flag: number, size: number): void {
    const format = formatOf(b, off);
    let name = parseString(b, off + F.name, 100);
    if (format === 'ustar' || format === 'star') {
      const prefix = parseString(b, off + F.prefix, format === 'star' ? 131 : 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (this.#longName !== undefined) name = this.#longName;
    let linkname = this.#longLink ?? parseString(b, off + F.linkname, 100);
    const rawMode = parseOctal(b, off + F.mode, 8);
    let uid = parseNumeric(b, off + F.uid, 8);
    let gid = parseNumeric(b, off + F.gid, 8);
    const mtimeSec = parseNumeric(b, off + F.mtime, 12);
    if (rawMode === undefined) throw new CorruptLayerError('tar', at, 'invalid mode field');
    if (uid === undefined || gid === undefined) throw new CorruptLayerError('tar', at, 'invalid uid/gid field');
    if (mtimeSec === undefined) throw new CorruptLayerError('tar', at, 'invalid mtime field');
    let mtime: TarTime = { sec: mtimeSec, nsec: 0 };
    let uname = format === 'v7' ? '' : parseString(b, off + F.uname, 32);
    let gname = format === 'v7' ? '' : parseString(b, off + F.gname, 32);
    let devmajor = 0;
    let devminor = 0;
    if (format !== 'v7' && (flag === T.char || flag === T.block)) {
      const ma = parseNumeric(b, off + F.devmajor, 8);
      const mi = parseNumeric(b, off + F.devminor, 8);
      if (ma === undefined || mi === undefined || ma < 0 || mi < 0) throw new CorruptLayerError('tar', at, 'invalid device number field');
      devmajor = ma;
      devminor = mi;
    }
    let dataSize = size;
    let realSize = size;
    let xattrs: Array<[string, Uint8Array]> | undefined;
    let sparse: SparseSegment[] | undefined;
    let sparseMap10 = false;
    const pax = this.#pax;
    if (pax) {
      let sparseName: string | undefined;
      let sparseSize: number | undefined;
      let major: string | undefined;
      let minor: string | undefined;
      let map01: string | undefined;
      const old: number[] = [];
      for (const [key, value] of pax) {
        switch (key) {
          case 'path':
            name = utf8(value);
            break;
          case 'linkpath':
            linkname = utf8(value);
            break;
          case 'size':
            dataSize = realSize = paxInt(value, at, key);
            break;
          case 'uid':
            uid = paxInt(value, at, key);
            break;
          case 'gid':
            gid = paxInt(value, at, key);
            break;
          case 'uname':
            uname = utf8(value);
            break;
          case 'gname':
            gname = utf8(value);
            break;
          case 'mtime':
            mtime = paxTime(value, at);
            break;
          case 'GNU.sparse.name':
            sparseName = utf8(value);
            break;
          case 'GNU.sparse.size':
          case 'GNU.sparse.realsize':
            sparseSize = paxInt(value, at, key);
            break;
          case 'GNU.sparse.major':
            major = utf8(value);
            break;
          case 'GNU.sparse.minor':
            minor = utf8(value);
            break;
          case 'GNU.sparse.map':
            map01 = utf8(value);
            break;
          case 'GNU.sparse.offset':
          case 'GNU.sparse.numbytes':
            // Version 0.0: repeated offset/numbytes pairs, in order.
            if ((key === 'GNU.sparse.offset') !== (old.length % 2 === 0)) throw new CorruptLayerError('tar', at, 'GNU sparse 0.0 records out of order');
            old.push(paxInt(value, at, key));
            break;
          default:
            if (key.startsWith('SCHILY.xattr.')) {
              (xattrs ??= []).push([key.slice('SCHILY.xattr.'.length), value]);
            } else if (key.startsWith('LIBARCHIVE.xattr.')) {
              // libarchive: URL-encoded name, base64 value.
              let xname: string;
              try {
                xname = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
              } catch {
                throw new CorruptLayerError('tar', at, `invalid LIBARCHIVE.xattr name ${JSON.stringify(key)}`);
              }
              (xattrs ??= []).push([xname, Buffer.from(utf8(value), 'base64')]);
            }
        }
      }
      if (major === '1' && minor === '0') {
        sparseMap10 = true;
        sparse = [];
      } else if (map01 !== undefined) {
        const nums = map01 === '' ? [] : map01.split(',').map((s) => decimal(s, at, 'GNU.sparse.map'));
        if (nums.length % 2) throw new CorruptLayerError('tar', at, 'GNU.sparse.map has an odd number of values');
        sparse = pairs(nums);
      } else if (old.length) {
        if (old.length % 2) throw new CorruptLayerError('tar', at, 'GNU sparse 0.0 offset without numbytes');
        sparse = pairs(old);
      } else if (major !== undefined) {
        throw new CorruptLayerError('tar', at, `unsupported GNU sparse format ${major}.${minor ?? '?'}`);
      }
      if (sparse) {
        if (sparseName !== undefined) name = sparseName;
        if (sparseSize === undefined) throw new CorruptLayerError('tar', at, 'GNU sparse file without a real size');
        realSize = sparseSize;
      }
    }
    let type: TarEntryType;
    let gnuExtended = false;
    switch (flag) {
      case T.file:
      case T.fileOld:
        type = name.endsWith('/') ? 'directory' : 'file';
        break;
      case T.contiguous:
        type = 'file';
        break;
      case T.gnuSparse: {
        type = 'file';
        if (sparse) throw new CorruptLayerError('tar', at, 'both a PAX and an old GNU sparse map');
        sparse = [];
        gnuExtended = readSparseHeaderEntries(b, off + F.gnuSparse, 4, sparse, at);
        const rs = parseNumeric(b, off + F.gnuRealSize, 12);
        if (rs === undefined || rs < 0) throw new CorruptLayerError('tar', at, 'invalid GNU sparse real size');
        realSize = rs;
        break;
      }
      case T.link:
        type = 'link';
        break;
      case T.symlink:
        type = 'symlink';
        break;
      case T.char:
        type = 'char';
        break;
      case T.block:
        type = 'block';
        break;
      case T.directory:
      case T.gnuDumpDir:
        type = 'directory';
        break;
      case T.fifo:
        type = 'fifo';
        break;
      default:
        type = 'unsupported';
    }
    // Header-only types carry no data whatever their size field says (as Go's archive/tar);
    // a GNU dump directory's listing and an unsupported member's data are skipped.
    if (type !== 'file' && type !== 'unsupported' && flag !== T.gnuDumpDir) dataSize = 0;
    if (type !== 'file') realSize = 0;
    if (uid < 0 || gid < 0) throw new CorruptLayerError('tar', at, 'negative uid/gid');
    const entry: TarEntry = {
      name,
      type,
      typeflag: flag,
      mode: rawMode & 0o7777,
      uid,
      gid,
      uname,
      gname,
      size: realSize,
      mtime,
      linkname,
      devmajor,
      devminor,
      xattrs,
      sparse,
      offset: this.#entryStart,
    };
    this.#resetMeta();
    this.#entries++;
    this.#entry = entry;
    this.#dataSize = dataSize;
    this.#filePos = 0;
    this.#seg = 0;
    this.#segDone = 0;
    this.#segments = sparse;
    if (gnuExtended) {
      this.#state = 'gnuext';
      return;
    }
    if (sparseMap10) {
      this.#mapText = '';
      this.#state = 'sparsemap';
      return;
    }
    this.#startData();
  }

  // Old GNU sparse: extension blocks of 21 more entries each, before the data.
  #gnuExtBlock(at: number): void {
    const more = readSparseHeaderEntries(this.#hdr, 0, 21, this.#segments!, at);
    if (this.#segments!.length > MAX_META_SIZE / 24) throw new CorruptLayerError('tar', at, 'GNU sparse map too large');
    if (!more) this.#startData();
  }

  // PAX sparse 1.0: the map is decimal text at the start of the data, in whole blocks:
  // "count\n" then "offset\nlength\n" per segment.
  #sparseMapBlock(at: number): void {
    this.#dataSize -= BLOCK;
    if (this.#dataSize < 0) throw new CorruptLayerError('tar', at, 'GNU sparse 1.0 map runs past the entry data');
    this.#mapText += String.fromCharCode.apply(null, this.#hdr as unknown as number[]);
    if (this.#mapText.length > MAX_META_SIZE) throw new CorruptLayerError('tar', at, 'GNU sparse 1.0 map too large');
    const lines = this.#mapText.split('\n');
    lines.pop(); // incomplete tail
    if (lines.length === 0) return;
    const count = decimal(lines[0]!, at, 'sparse map count');
    if (lines.length < 1 + 2 * count) return;
    const nums = lines.slice(1, 1 + 2 * count).map((l) => decimal(l, at, 'sparse map entry'));
    this.#segments!.push(...pairs(nums));
    this.#startData();
  }

  #secondZero(at: number): void {
    if (!isZeroBlock(this.#hdr, 0)) throw new CorruptLayerError('tar', this.#zeroAt, 'a single zero block followed by data');
    this.#state = 'done';
    void at;
  }

  #startData(): void {
    const e = this.#entry!;
    const segs = this.#segments;
    if (segs) {
      let sum = 0;
      let end = 0;
      for (const s of segs) {
        if (s.offset < end || s.offset + s.length > e.size) throw new CorruptLayerError('tar', e.offset, `inconsistent sparse map of ${JSON.stringify(e.name)}`);
        end = s.offset + s.length;
        sum += s.length;
      }
      if (sum !== this.#dataSize) throw new CorruptLayerError('tar', e.offset, `sparse map of ${JSON.stringify(e.name)} holds ${sum} bytes, the entry ${this.#dataSize}`);
      e.sparse = segs;
    }
    this.#h.entry(e);
    if (this.#dataSize === 0) {
      this.#endData();
      return;
    }
    this.#remaining = this.#dataSize;
    this.#state = 'data';
  }

  #emit(chunk: Uint8Array, i: number, take: number): void {
    if (this.#entry!.type !== 'file') return; // dump dir / unsupported data: skipped
    const segs = this.#segments;
    if (!segs) {
      this.#h.data(take === chunk.length ? chunk : chunk.subarray(i, i + take), this.#filePos);
      this.#filePos += take;
      return;
    }
    while (take > 0) {
      const s = segs[this.#seg]!;
      const left = s.length - this.#segDone;
      if (left === 0) {
        this.#seg++;
        this.#segDone = 0;
        continue;
      }
      const n = Math.min(left, take);
      this.#h.data(chunk.subarray(i, i + n), s.offset + this.#segDone);
      this.#segDone += n;
      i += n;
      take -= n;
    }
  }

  #endData(): void {
    this.#h.endEntry();
    this.#entry = undefined;
    this.#segments = undefined;
    const pad = padded(this.#dataSize) - this.#dataSize;
    this.#skip(pad, 'header');
  }
}

function padded(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

function pairs(nums: number[]): SparseSegment[] {
  const out: SparseSegment[] = [];
  for (let i = 0; i < nums.length; i += 2) out.push({ offset: nums[i]!, length: nums[i + 1]! });
  return out;
}

function cString(b: Uint8Array): string {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  return decoder.decode(b.subarray(0, end));
}

function utf8(b: Uint8Array): string {
  return decoder.decode(b);
}

function decimal(s: string, at: number, what: string): number {
  if (!/^\d{1,16}$/.test(s)) throw new CorruptLayerError('tar', at, `invalid ${what} ${JSON.stringify(s.slice(0, 40))}`);
  const v = Number(s);
  if (!Number.isSafeInteger(v)) throw new CorruptLayerError('tar', at, `${what} too large`);
  return v;
}

function paxInt(value: Uint8Array, at: number, key: string): number {
  return decimal(utf8(value), at, `PAX ${key}`);
}

/** paxTime parses a PAX time: `[-]seconds[.fraction]`, to nanoseconds (extra digits truncated). */
export function paxTime(value: Uint8Array, at: number): TarTime {
  const s = utf8(value);
  const m = /^(-?)(\d{1,16})(?:\.(\d*))?$/.exec(s);
  if (!m) throw new CorruptLayerError('tar', at, `invalid PAX time ${JSON.stringify(s.slice(0, 40))}`);
  const neg = m[1] === '-';
  const whole = Number(m[2]);
  const nsec = Number(((m[3] ?? '') + '000000000').slice(0, 9));
  if (!neg) return { sec: whole, nsec };
  // -1.25 is 1.25 s before the epoch: second -2, 750000000 ns.
  return nsec === 0 ? { sec: -whole, nsec: 0 } : { sec: -whole - 1, nsec: 1e9 - nsec };
}

/**
 * parsePax splits a PAX extended header body into its records ("%d %s=%s\n", the length
 * counting the whole record). Values stay bytes: xattr values are binary
 * (`security.capability`). Throws {@link CorruptLayerError} for a malformed record.
 */
export function parsePax(body: Uint8Array, at: number): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  let i = 0;
  while (i < body.length) {
    // Some writers pad the body with NULs.
    if (body[i] === 0) break;
    let sp = i;
    let len = 0;
    while (sp < body.length && body[sp] !== 0x20) {
      const c = body[sp]!;
      if (c < 0x30 || c > 0x39 || sp - i > 8) throw new CorruptLayerError('tar', at, 'invalid PAX record length');
      len = len * 10 + (c - 0x30);
      sp++;
    }
    if (sp === i || sp >= body.length || len <= sp - i + 1 || i + len > body.length) throw new CorruptLayerError('tar', at, 'invalid PAX record');
    const rec = body.subarray(sp + 1, i + len);
    if (rec[rec.length - 1] !== 0x0a) throw new CorruptLayerError('tar', at, 'PAX record without a newline');
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new CorruptLayerError('tar', at, 'PAX record without a key');
    const key = decoder.decode(rec.subarray(0, eq));
    out.push([key, rec.subarray(eq + 1, rec.length - 1)]);
    i += len;
  }
  return out;
}
