/**
 * The netlink wire codec, driven by declarative tables: a message is a 16-byte nlmsghdr, a fixed
 * family header (a {@link StructSchema}, e.g. ifinfomsg) and a list of type-length-value
 * attributes (an {@link AttrTable}, e.g. IFLA_*). Tables name each attribute and say how its
 * payload is encoded; one generic encoder and decoder walk them, so adding an attribute is one
 * table line. Netlink integers are in host byte order (little-endian on every platform Stratum
 * targets); a few attributes are big-endian by definition (`be16`).
 */
import { endianness } from 'node:os';
import { formatIP, formatMAC, parseIP, parseMAC } from './ip.js';

/** LE: true on little-endian hosts: netlink integers are in host byte order. */
export const LE = endianness() === 'LE';

/**
 * NLA_F_NESTED (0x8000) marks a nested attribute. Not set on what we emit: iproute2 does not set it for these (legacy) attribute
 * spaces either, the kernel accepts both, and matching iproute2 byte for byte lets the golden
 * tests compare with what `ip` sends. Masked off when reading.
 */
export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

/** FieldKind: fixed-size header fields. `pad*` fields are written as zero and not decoded. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 's32' | 'pad8' | 'pad16';

/** StructSchema describes a fixed family header such as ifinfomsg (16 bytes). */
export interface StructSchema {
  readonly name: string;
  readonly fields: ReadonlyArray<readonly [string, FieldKind]>;
}

/** AttrKind: how an attribute's payload is encoded. */
export type AttrKind =
  | 'u8'
  | 'u16'
  | 'u32'
  | 's32'
  | 'u64'
  /** big-endian 16-bit (ports, VLAN ids). */
  | 'be16'
  /** NUL-terminated string (written with the NUL, read without it). */
  | 'string'
  /** string written without a NUL (as iproute2 sends IFLA_INFO_KIND); read either way. */
  | 'chars'
  | 'bytes'
  /** present-or-absent; the value is `true`. */
  | 'flag'
  /** 6-byte hardware address as `aa:bb:…`. */
  | 'mac'
  /** 4- or 16-byte IP address as text. */
  | 'ip'
  | { readonly nested: AttrTable }
  /** a struct header followed by attributes (VETH_INFO_PEER carries a whole ifinfomsg). */
  | { readonly message: MessageSchema }
  /** nested, with the table chosen from already-known sibling values (IFLA_INFO_DATA by kind). */
  | { readonly union: (siblings: Readonly<Record<string, unknown>>) => AttrTable | undefined };

/** AttrDef: one attribute: its type number and payload encoding. */
export interface AttrDef {
  readonly type: number;
  readonly kind: AttrKind;
}

/** AttrTable names the attributes of one attribute space (IFLA_*, IFA_*, …). */
export interface AttrTable {
  readonly name: string;
  readonly attrs: Readonly<Record<string, AttrDef>>;
}

/** MessageSchema: a fixed header plus the attribute table that follows it. */
export interface MessageSchema {
  readonly header: StructSchema;
  readonly attrs: AttrTable;
}

/** AttrValues: attribute values by name; `undefined` values are skipped when encoding. */
export type AttrValues = Record<string, unknown>;

/** MessageValue: a header + attributes value, as encoded by a {@link MessageSchema}. */
export interface MessageValue {
  header: Record<string, number>;
  attrs: AttrValues;
}

/** defineAttrs builds an {@link AttrTable} from `name: [type, kind]` pairs (declaration order is wire order). */
export function defineAttrs(name: string, spec: Record<string, readonly [number, AttrKind]>): AttrTable {
  const attrs: Record<string, AttrDef> = {};
  for (const [k, [type, kind]] of Object.entries(spec)) attrs[k] = { type, kind };
  return { name, attrs };
}

const byType = new WeakMap<AttrTable, Map<number, [string, AttrDef]>>();
function typeIndex(t: AttrTable): Map<number, [string, AttrDef]> {
  let m = byType.get(t);
  if (!m) {
    m = new Map(Object.entries(t.attrs).map(([k, d]) => [d.type, [k, d]] as [number, [string, AttrDef]]));
    byType.set(t, m);
  }
  return m;
}

/** align4 rounds up to the netlink alignment (NLMSG_ALIGN / NLA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

const FIELD_SIZE: Record<FieldKind, number> = { u8: 1, pad8: 1, u16: 2, pad16: 2, u32: 4, s32: 4 };

/** structSize is the byte size of a header schema. */
export function structSize(s: StructSchema): number {
  return s.fields.reduce((n, [, k]) => n + FIELD_SIZE[k], 0);
}

/** Writer: a growable byte writer. */
export class Writer {
  buf: Uint8Array;
  view: DataView;
  length = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }
  reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.length = need;
    return at;
  }
  // Each writer reserves first and only then reads this.buf/this.view: reserve() may replace them.
  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, LE);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v >>> 0, LE);
  }
  s32(v: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, v, LE);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, v, LE);
  }
  be16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, false);
  }
  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  pad(): void {
    const n = align4(this.length) - this.length;
    if (n > 0) {
      const at = this.reserve(n);
      this.buf.fill(0, at, this.length);
    }
  }
  /** setU16/U32 patch a length field written earlier. */
  setU16(at: number, v: number): void {
    this.view.setUint16(at, v, LE);
  }
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, LE);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function num(v: unknown, attr: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`netlink attribute ${attr}: expected an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

/** writeStruct writes a header; missing fields are zero. */
export function writeStruct(w: Writer, s: StructSchema, values: Readonly<Record<string, number>> = {}): void {
  for (const [name, kind] of s.fields) {
    const v = values[name] ?? 0;
    const what = `${s.name}.${name}`;
    switch (kind) {
      case 'u8':
        w.u8(num(v, what, 0, 0xff));
        break;
      case 'pad8':
        w.u8(0);
        break;
      case 'u16':
        w.u16(num(v, what, 0, 0xffff));
        break;
      case 'pad16':
        w.u16(0);
        break;
      case 'u32':
        w.u32(num(v, what, 0, 0xffffffff));
        break;
      case 's32':
        w.s32(num(v, what, -0x80000000, 0x7fffffff));
        break;
    }
  }
}

const ordered = new WeakMap<AttrTable, Array<[string, AttrDef]>>();
function entries(t: AttrTable): Array<[string, AttrDef]> {
  let e = ordered.get(t);
  if (!e) {
    e = Object.entries(t.attrs);
    ordered.set(t, e);
  }
  return e;
}

/** writeAttrs writes every defined value of `values` in table order. Unknown names are a TypeError. */
export function writeAttrs(w: Writer, table: AttrTable, values: Readonly<AttrValues>): void {
  let n = 0;
  for (const k in values) {
    if (!Object.hasOwn(table.attrs, k)) throw new TypeError(`netlink: ${table.name} has no attribute "${k}"`);
    n++;
  }
  if (n === 0) return;
  for (const [name, def] of entries(table)) {
    const v = values[name];
    if (v === undefined || v === false) continue;
    writeAttr(w, table, name, def, v, values);
  }
}

function writeAttr(w: Writer, table: AttrTable, name: string, def: AttrDef, v: unknown, siblings: Readonly<AttrValues>): void {
  const what = `${table.name}.${name}`;
  const start = w.reserve(4);
  const type = def.type;
  const k = def.kind;
  if (typeof k === 'string') {
    switch (k) {
      case 'u8':
        w.u8(num(v, what, 0, 0xff));
        break;
      case 'u16':
        w.u16(num(v, what, 0, 0xffff));
        break;
      case 'u32':
        w.u32(num(v, what, 0, 0xffffffff));
        break;
      case 's32':
        w.s32(num(v, what, -0x80000000, 0x7fffffff));
        break;
      case 'u64': {
        w.u64(typeof v === 'bigint' ? v : BigInt(num(v, what, 0, Number.MAX_SAFE_INTEGER)));
        break;
      }
      case 'be16':
        w.be16(num(v, what, 0, 0xffff));
        break;
      case 'string':
      case 'chars': {
        if (typeof v !== 'string' || v.includes('\0')) throw new TypeError(`netlink attribute ${what}: expected a string without NUL`);
        w.bytes(Buffer.from(v, 'utf8'));
        if (k === 'string') w.u8(0);
        break;
      }
      case 'bytes':
        if (!(v instanceof Uint8Array)) throw new TypeError(`netlink attribute ${what}: expected a Uint8Array`);
        w.bytes(v);
        break;
      case 'flag':
        break;
      case 'mac':
        w.bytes(typeof v === 'string' ? parseMAC(v) : (v as Uint8Array));
        break;
      case 'ip':
        w.bytes(typeof v === 'string' ? parseIP(v).bytes : (v as Uint8Array));
        break;
    }
  } else {
    if ('nested' in k) {
      writeAttrs(w, k.nested, v as AttrValues);
    } else if ('message' in k) {
      const m = v as MessageValue;
      writeStruct(w, k.message.header, m.header);
      writeAttrs(w, k.message.attrs, m.attrs ?? {});
    } else {
      const t = k.union(siblings);
      if (!t) throw new TypeError(`netlink attribute ${what}: no table for these values`);
      writeAttrs(w, t, v as AttrValues);
    }
  }
  w.setU16(start, w.length - start);
  w.setU16(start + 2, type);
  w.pad();
}

/** NlHeader: header values of one netlink message. */
export interface NlHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/**
 * encodeMessage builds one complete netlink message: nlmsghdr + header struct + attributes.
 * Pure: the same input gives the same bytes (golden tests rely on it).
 */
export function encodeMessage(hdr: NlHeader, schema: MessageSchema, header: Readonly<Record<string, number>>, attrs: Readonly<AttrValues>): Uint8Array {
  const w = new Writer(128);
  w.reserve(16);
  writeStruct(w, schema.header, header);
  w.pad();
  writeAttrs(w, schema.attrs, attrs);
  w.setU32(0, w.length);
  w.setU16(4, hdr.type);
  w.setU16(6, hdr.flags);
  w.setU32(8, hdr.seq);
  w.setU32(12, hdr.pid);
  return w.result();
}

/** RawMessage: one raw netlink message as read off the socket. */
export interface RawMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The payload after the 16-byte header (a view into the datagram). */
  payload: Uint8Array;
}

/** splitMessages cuts a datagram into its netlink messages. Throws on a malformed length. */
export function splitMessages(buf: Uint8Array): RawMessage[] {
  const out: RawMessage[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = view.getUint32(off, LE);
    if (len < 16 || off + len > buf.length) throw new RangeError(`netlink: bad message length ${len} at offset ${off} of ${buf.length}`);
    out.push({
      type: view.getUint16(off + 4, LE),
      flags: view.getUint16(off + 6, LE),
      seq: view.getUint32(off + 8, LE),
      pid: view.getUint32(off + 12, LE),
      payload: buf.subarray(off + 16, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** readStruct decodes a header from the start of `buf` (short buffers read as zero-filled). */
export function readStruct(s: StructSchema, buf: Uint8Array): Record<string, number> {
  const size = structSize(s);
  const b = buf.length >= size ? buf : (() => {
    const z = new Uint8Array(size);
    z.set(buf);
    return z;
  })();
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Record<string, number> = {};
  let off = 0;
  for (const [name, kind] of s.fields) {
    switch (kind) {
      case 'u8':
        out[name] = view.getUint8(off);
        break;
      case 'u16':
        out[name] = view.getUint16(off, LE);
        break;
      case 'u32':
        out[name] = view.getUint32(off, LE);
        break;
      case 's32':
        out[name] = view.getInt32(off, LE);
        break;
      default:
        break;
    }
    off += FIELD_SIZE[kind];
  }
  return out;
}

/** splitAttrs: raw TLVs of one attribute block: type (flags masked off) and payload. */
export function splitAttrs(buf: Uint8Array): Array<{ type: number; payload: Uint8Array }> {
  const out: Array<{ type: number; payload: Uint8Array }> = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = view.getUint16(off, LE);
    if (len < 4 || off + len > buf.length) break; // truncated tail: ignore, as the kernel's nla_for_each does
    out.push({ type: view.getUint16(off + 2, LE) & NLA_TYPE_MASK, payload: buf.subarray(off + 4, off + len) });
    off += align4(len);
  }
  return out;
}

/** readAttrs decodes an attribute block by `table`; unknown types are skipped. */
export function readAttrs(table: AttrTable, buf: Uint8Array): AttrValues {
  const idx = typeIndex(table);
  const out: AttrValues = {};
  const unions: Array<[string, AttrDef & { kind: { union: (s: AttrValues) => AttrTable | undefined } }, Uint8Array]> = [];
  for (const { type, payload } of splitAttrs(buf)) {
    const hit = idx.get(type);
    if (!hit) continue;
    const [name, def] = hit;
    const k = def.kind;
    if (typeof k === 'object' && 'union' in k) {
      unions.push([name, def as never, payload]);
      continue;
    }
    out[name] = readValue(k, payload);
  }
  for (const [name, def, payload] of unions) {
    const t = def.kind.union(out);
    if (t) out[name] = readAttrs(t, payload);
  }
  return out;
}

function readValue(k: Exclude<AttrKind, { union: unknown }>, p: Uint8Array): unknown {
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (typeof k === 'string') {
    switch (k) {
      case 'u8':
        return p.length >= 1 ? view.getUint8(0) : 0;
      case 'u16':
        return p.length >= 2 ? view.getUint16(0, LE) : 0;
      case 'u32':
        return p.length >= 4 ? view.getUint32(0, LE) : 0;
      case 's32':
        return p.length >= 4 ? view.getInt32(0, LE) : 0;
      case 'u64':
        return p.length >= 8 ? view.getBigUint64(0, LE) : 0n;
      case 'be16':
        return p.length >= 2 ? view.getUint16(0, false) : 0;
      case 'string':
      case 'chars': {
        const nul = p.indexOf(0);
        return Buffer.from(p.buffer, p.byteOffset, nul < 0 ? p.length : nul).toString('utf8');
      }
      case 'bytes':
        return Uint8Array.from(p);
      case 'flag':
        return true;
      case 'mac':
        return formatMAC(p);
      case 'ip':
        return p.length === 4 || p.length === 16 ? formatIP(p) : formatMAC(p);
    }
  }
  if ('nested' in k) return readAttrs(k.nested, p);
  const size = structSize(k.message.header);
  return { header: readStruct(k.message.header, p), attrs: readAttrs(k.message.attrs, p.subarray(align4(size))) };
}

/** decodeMessage decodes a message payload (after nlmsghdr) by its schema. */
export function decodeMessage(schema: MessageSchema, payload: Uint8Array): MessageValue {
  const size = structSize(schema.header);
  return { header: readStruct(schema.header, payload), attrs: readAttrs(schema.attrs, payload.subarray(Math.min(payload.length, align4(size)))) };
}

/** toHex prints bytes as lowercase hex (golden tests compare these). */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
