/**
 * Interface addresses over rtnetlink (RTM_NEWADDR / DELADDR / GETADDR): the `ip addr` verbs.
 */
import { decodeMessage, encodeMessage, type AttrValues, type RawMessage } from './codec.js';
import type { Connection } from './connection.js';
import { AF_INET, AF_INET6, broadcastOf, formatIP, parseIP, parsePrefix, type Family } from './ip.js';
import type { LinkRef, Links } from './links.js';
import { ADDR, IFA_F, NLM_F, RT_SCOPE, RTM } from './rtnl.js';

/** Scope names (`ip addr add … scope NAME`). */
export type Scope = keyof typeof RT_SCOPE;

/** Address: an interface address (`ip addr show`). */
export interface Address {
  /** ifindex of the link it is on. */
  index: number;
  family: Family;
  /** The interface's own address (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6). */
  address: string;
  prefixLength: number;
  /** `address/prefixLength`, as `ip addr add` takes it. */
  cidr: string;
  /** Peer address on point-to-point links (when it differs from `address`). */
  peer?: string;
  broadcast?: string;
  label?: string;
  scope: Scope | number;
  /** IFA_F_* flags. */
  flags: number;
}

/** AddressOptions: options of `addresses.add`. */
export interface AddressOptions {
  /**
   * IPv4 broadcast: `true` (default) computes it from the prefix like `brd +`, `false` sends
   * none, a string sets it.
   */
  broadcast?: boolean | string;
  /** IPv4 label (`eth0:1`). */
  label?: string;
  /** Default `host` for loopback addresses, `universe` otherwise. */
  scope?: Scope;
  /** IFA_F_NOPREFIXROUTE: do not add the subnet route. */
  noPrefixRoute?: boolean;
  /** IFA_F_NODAD (IPv6): skip duplicate address detection, so the address is usable at once. */
  noDad?: boolean;
  /** Replace instead of failing with EEXIST (`ip addr replace`). */
  replace?: boolean;
}

function isLoopback(family: Family, bytes: Uint8Array): boolean {
  return family === 4 ? bytes[0] === 127 : bytes.every((b, i) => b === (i === 15 ? 1 : 0));
}

function scopeName(n: number): Scope | number {
  for (const [k, v] of Object.entries(RT_SCOPE)) if (v === n) return k as Scope;
  return n;
}

/** addressMessages: pure builders of the address messages, exported for golden-byte tests. */
export const addressMessages = {
  /** RTM_NEWADDR: `ip addr add CIDR dev IFINDEX` (or `replace`). */
  add(index: number, cidr: string, opts: AddressOptions = {}): Uint8Array {
    const p = parsePrefix(cidr);
    const local = formatIP(p.bytes);
    const attrs: AttrValues = { address: local, local };
    if (p.family === 4) {
      const b = opts.broadcast ?? true;
      if (typeof b === 'string') attrs.broadcast = formatIP(parseIP(b).bytes);
      else if (b && p.prefixLength < 31) attrs.broadcast = formatIP(broadcastOf(p));
      if (opts.label !== undefined) attrs.label = opts.label;
    }
    let flags = 0;
    if (opts.noDad) flags |= IFA_F.NODAD;
    if (opts.noPrefixRoute) flags |= IFA_F.NOPREFIXROUTE;
    if (flags > 0xff) attrs.flags = flags;
    const scope = opts.scope !== undefined ? RT_SCOPE[opts.scope] : isLoopback(p.family, p.bytes) ? RT_SCOPE.host : RT_SCOPE.universe;
    if (scope === undefined) throw new TypeError(`addresses.add: unknown scope ${JSON.stringify(opts.scope)}`);
    const header = { family: p.family === 4 ? AF_INET : AF_INET6, prefixlen: p.prefixLength, flags: flags & 0xff, scope, index: checkIndex(index) };
    const mode = opts.replace ? NLM_F.CREATE | NLM_F.REPLACE : NLM_F.CREATE | NLM_F.EXCL;
    return encodeMessage({ type: RTM.NEWADDR, flags: NLM_F.REQUEST | NLM_F.ACK | mode, seq: 0, pid: 0 }, ADDR, header, attrs);
  },

  /** RTM_DELADDR: `ip addr del CIDR dev IFINDEX`. */
  del(index: number, cidr: string): Uint8Array {
    const p = parsePrefix(cidr);
    const local = formatIP(p.bytes);
    const header = { family: p.family === 4 ? AF_INET : AF_INET6, prefixlen: p.prefixLength, index: checkIndex(index) };
    return encodeMessage({ type: RTM.DELADDR, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 0, pid: 0 }, ADDR, header, { address: local, local });
  },

  /** RTM_GETADDR dump: `ip addr show [dev IFINDEX]`, filtered by family and ifindex in the kernel. */
  dump(filter: { family?: Family; index?: number } = {}): Uint8Array {
    const header = { family: filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : 0, index: filter.index ?? 0 };
    return encodeMessage({ type: RTM.GETADDR, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 0, pid: 0 }, ADDR, header, {});
  },
};

function checkIndex(index: number): number {
  if (!Number.isInteger(index) || index <= 0) throw new TypeError(`invalid ifindex ${index}`);
  return index;
}

/** decodeAddress turns an RTM_NEWADDR message into an {@link Address}. */
export function decodeAddress(m: RawMessage): Address {
  const { header: h, attrs: a } = decodeMessage(ADDR, m.payload);
  const family: Family = h.family === AF_INET6 ? 6 : 4;
  const address = ((a.local ?? a.address) as string) ?? '';
  const out: Address = {
    index: h.index!,
    family,
    address,
    prefixLength: h.prefixlen!,
    cidr: `${address}/${h.prefixlen}`,
    scope: scopeName(h.scope!),
    flags: (a.flags as number | undefined) ?? h.flags!,
  };
  if (a.local !== undefined && a.address !== undefined && a.address !== a.local) out.peer = a.address as string;
  if (a.broadcast !== undefined) out.broadcast = a.broadcast as string;
  if (a.label !== undefined) out.label = a.label as string;
  return out;
}

/** Addresses: the `ip addr` verbs on the handle's namespace. */
export class Addresses {
  readonly #conn: Connection;
  readonly #links: Links;
  /** @internal */
  constructor(conn: Connection, links: Links) {
    this.#conn = conn;
    this.#links = links;
  }

  /**
   * add puts an address on a link, like `ip addr add 10.88.0.2/16 dev eth0` (with `brd +` for
   * IPv4 by default). The kernel adds the subnet route unless `noPrefixRoute`. Rejects with
   * NetlinkError `EEXIST` when the address is already there (unless `replace`).
   */
  async add(link: LinkRef, cidr: string, opts: AddressOptions = {}): Promise<void> {
    const index = await this.#links.index(link);
    await this.#conn.request(addressMessages.add(index, cidr, opts), { operation: 'addresses.add', subject: `${cidr} dev ${String(typeof link === 'object' ? link.index : link)}` });
  }

  /** del removes an address, like `ip addr del 10.88.0.2/16 dev eth0`. Rejects with `EADDRNOTAVAIL` when absent. */
  async del(link: LinkRef, cidr: string): Promise<void> {
    const index = await this.#links.index(link);
    await this.#conn.request(addressMessages.del(index, cidr), { operation: 'addresses.del', subject: `${cidr} dev ${String(typeof link === 'object' ? link.index : link)}` });
  }

  /** list returns addresses, like `ip addr show [dev LINK]`, optionally of one family. */
  async list(filter: { link?: LinkRef; family?: Family } = {}): Promise<Address[]> {
    const f: { family?: Family; index?: number } = {};
    if (filter.family !== undefined) f.family = filter.family;
    if (filter.link !== undefined) f.index = await this.#links.index(filter.link);
    const msgs = await this.#conn.request(addressMessages.dump(f), { operation: 'addresses.list' });
    return msgs
      .filter((m) => m.type === RTM.NEWADDR)
      .map(decodeAddress)
      .filter((a) => (f.index === undefined || a.index === f.index) && (f.family === undefined || a.family === f.family));
  }
}
