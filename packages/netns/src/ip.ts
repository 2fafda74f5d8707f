/**
 * IP addresses and prefixes as the rest of the package uses them: parsed once into bytes, printed
 * in the canonical text form (`10.88.0.2`, `fd00::1`), `CIDR` strings like `10.88.0.2/16`.
 */

/** Family: an IPv4 or IPv6 address family as rtnetlink numbers it (AF_INET = 2, AF_INET6 = 10). */
export type Family = 4 | 6;

/** AF_INET / AF_INET6 values used on the wire. */
export const AF_INET = 2;
/** AF_INET6 on the wire. */
export const AF_INET6 = 10;

/** IPAddress is a parsed IPv4 or IPv6 address: its family and its 4 or 16 bytes. */
export interface IPAddress {
  readonly family: Family;
  readonly bytes: Uint8Array;
}

/** IPPrefix is an address with a prefix length (`10.88.0.2/16`: the address is kept, not masked). */
export interface IPPrefix extends IPAddress {
  readonly prefixLength: number;
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  // An embedded dotted quad at the end (::ffff:1.2.3.4) counts as two groups.
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = parseV4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  let all: number[];
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return undefined;
    all = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    if (head.length !== 8) return undefined;
    all = head;
  }
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

// Bad addresses are bad arguments: TypeError, raised before anything touches the kernel.
function invalid(what: string, input: unknown, why: string): TypeError {
  return new TypeError(`invalid ${what} ${JSON.stringify(input)}: ${why}`);
}

/**
 * parseIP parses `10.88.0.2` or `fd00::2` (no zone, no brackets). Throws TypeError when the text
 * is not an address.
 */
export function parseIP(s: string): IPAddress {
  if (typeof s !== 'string') throw invalid('IP address', s, 'not a string');
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = s.includes(':') ? parseV6(s) : undefined;
  if (v6) return { family: 6, bytes: v6 };
  throw invalid('IP address', s, 'not an IPv4 or IPv6 address');
}

/**
 * parsePrefix parses `10.88.0.2/16` (the address is kept as written, e.g. for `ip addr add`).
 * A bare address gets the full length (/32 or /128). Throws TypeError on bad input.
 */
export function parsePrefix(s: string): IPPrefix {
  if (typeof s !== 'string') throw invalid('prefix', s, 'not a string');
  const slash = s.indexOf('/');
  const addr = parseIP(slash < 0 ? s : s.slice(0, slash));
  const max = addr.family === 4 ? 32 : 128;
  if (slash < 0) return { ...addr, prefixLength: max };
  const len = s.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(len) || Number(len) > max) throw invalid('prefix', s, `prefix length must be 0..${max}`);
  return { ...addr, prefixLength: Number(len) };
}

/** formatIP prints 4 or 16 bytes in canonical form (RFC 5952 for IPv6: lowercase, longest zero run as ::). */
export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new TypeError(`formatIP: expected 4 or 16 bytes, got ${bytes.length}`);
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i]! << 8) | bytes[i + 1]!);
  // IPv4-mapped addresses print with a dotted quad tail.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** formatPrefix prints `addr/len`. */
export function formatPrefix(p: IPPrefix): string {
  return `${formatIP(p.bytes)}/${p.prefixLength}`;
}

/** networkOf returns the network part of a prefix (host bits zeroed), e.g. 10.88.0.0/16 for 10.88.0.2/16. */
export function networkOf(p: IPPrefix): IPPrefix {
  const out = new Uint8Array(p.bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, p.prefixLength - i * 8));
    out[i]! &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return { family: p.family, bytes: out, prefixLength: p.prefixLength };
}

/** broadcastOf returns the IPv4 broadcast address of a prefix (all host bits set). */
export function broadcastOf(p: IPPrefix): Uint8Array {
  const out = new Uint8Array(p.bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, p.prefixLength - i * 8));
    out[i]! |= keep === 8 ? 0 : 0xff >> keep;
  }
  return out;
}

/** containsIP is true when `addr` lies inside `prefix` (same family). */
export function containsIP(prefix: IPPrefix, addr: IPAddress): boolean {
  if (prefix.family !== addr.family) return false;
  const a = networkOf({ ...addr, prefixLength: prefix.prefixLength });
  const n = networkOf(prefix);
  return a.bytes.every((b, i) => b === n.bytes[i]);
}

/** ipToBigInt turns address bytes into a number, for arithmetic (IPAM walks a subnet with it). */
export function ipToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** bigIntToIP is the inverse of {@link ipToBigInt} for `length` (4 or 16) bytes. */
export function bigIntToIP(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** sameIP compares two addresses byte for byte. */
export function sameIP(a: IPAddress, b: IPAddress): boolean {
  return a.family === b.family && a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i]);
}

/** parseMAC parses `aa:bb:cc:dd:ee:ff` (or with dashes) into 6 bytes; TypeError otherwise. */
export function parseMAC(s: string): Uint8Array {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) throw invalid('MAC address', s, 'expected aa:bb:cc:dd:ee:ff');
  return Uint8Array.from(s.split(/[:-]/).map((h) => parseInt(h, 16)));
}

/** formatMAC prints hardware address bytes as lowercase colon-separated hex. */
export function formatMAC(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
