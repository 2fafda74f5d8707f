/**
 * Network interfaces over rtnetlink (RTM_NEWLINK / DELLINK / GETLINK): the `ip link` verbs.
 */
import { decodeMessage, encodeMessage, LE, type AttrValues, type RawMessage } from './codec.js';
import type { Connection } from './connection.js';
import { NetlinkError } from './errors.js';
import { parseMAC } from './ip.js';
import { withNetnsFd, type NetnsRef } from './netns.js';
import { IFF, LINK, MACVLAN_MODE, NLM_F, OPERSTATE, RTM } from './rtnl.js';

/** LinkRef: a link argument: its name, its ifindex, or a {@link Link} as returned by `list`/`get`. */
export type LinkRef = string | number | { readonly index: number };

/** LinkStats: traffic counters of a link (IFLA_STATS64). */
export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

/** Link: a network interface as the kernel reports it (`ip -d link show`). */
export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: `veth`, `bridge`, `macvlan`, `dummy` …; undefined for physical and `lo`. */
  kind?: string;
  /** ARPHRD_* hardware type (1 = ether, 772 = loopback). */
  hwType: number;
  /** IFF_* flags. */
  flags: number;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_LOWER_UP: carrier. */
  lowerUp: boolean;
  /** Operational state: `up`, `down`, `lowerlayerdown`, `unknown` …. */
  operState: string;
  mtu: number;
  mac?: string;
  broadcast?: string;
  /** ifindex of the master (bridge) this link is enslaved to. */
  master?: number;
  /** IFLA_LINK: ifindex of the peer/parent (the veth peer, a macvlan's lower device). */
  parentIndex?: number;
  /** IFLA_LINK_NETNSID: set when the peer/parent lives in another namespace. */
  parentNetnsId?: number;
  txQueueLen?: number;
  alias?: string;
  /** IFLA_INFO_SLAVE_KIND: `bridge` for a bridge port. */
  slaveKind?: string;
  /** Kind-specific settings decoded from IFLA_INFO_DATA (e.g. `{ mode: 4 }` for macvlan). */
  data?: Record<string, unknown>;
  stats?: LinkStats;
}

/** LinkCommon: settings every new link can take. */
export interface LinkCommon {
  /** Interface name (1-15 bytes, no `/` or whitespace). */
  name: string;
  mtu?: number;
  /** MAC address `aa:bb:cc:dd:ee:ff`. */
  mac?: string;
  /** Enslave to this bridge at creation. */
  master?: LinkRef;
  /** Create administratively up. */
  up?: boolean;
  txQueueLen?: number;
  /** Create the link directly inside this namespace. */
  netns?: NetnsRef;
}

/**
 * VethPeer: the far end of a veth pair. It is always created down: the kernel cannot open a veth end before
 * both ends exist (ENOTCONN), so bring it up afterwards through a handle in its namespace.
 */
export interface VethPeer {
  name: string;
  /** Create the peer directly inside this namespace (one message instead of add + move). */
  netns?: NetnsRef;
  mac?: string;
  mtu?: number;
}

/** MacvlanMode: macvlan modes (`ip link add … type macvlan mode MODE`). */
export type MacvlanMode = keyof typeof MACVLAN_MODE;

/**
 * LinkSpec: what `links.add` creates, a discriminated union on `kind` (`ip link add NAME type
 * KIND …`).
 */
export type LinkSpec =
  | (LinkCommon & { kind: 'veth'; peer: VethPeer })
  | (LinkCommon & { kind: 'bridge'; stp?: boolean; vlanFiltering?: boolean; ageingTimeCs?: number; forwardDelayCs?: number })
  | (LinkCommon & { kind: 'dummy' })
  | (LinkCommon & { kind: 'macvlan'; parent: LinkRef; mode?: MacvlanMode });

/** LinkChanges: changes `links.set` applies in one request (`ip link set dev NAME …`). */
export interface LinkChanges {
  up?: boolean;
  name?: string;
  mtu?: number;
  mac?: string;
  /** A bridge to enslave to, or `null` for `nomaster`. */
  master?: LinkRef | null;
  /** Move into another network namespace. */
  netns?: NetnsRef;
  txQueueLen?: number;
  alias?: string;
}

/** validateIfname throws a TypeError unless `name` is a valid interface name (as the kernel's dev_valid_name). */
export function validateIfname(name: unknown, what = 'interface name'): string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || Buffer.byteLength(name) > 15 || /[/:\s\0]/.test(name)) {
    throw new TypeError(`invalid ${what} ${JSON.stringify(name)}: 1-15 bytes, no "/", ":" or whitespace, not "." or ".."`);
  }
  return name;
}

function checkMtu(mtu: unknown): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new TypeError(`invalid mtu ${String(mtu)}: expected an integer in [68, 65535]`);
  return mtu;
}

function checkMac(mac: unknown): string {
  parseMAC(mac as string);
  return mac as string;
}

/**
 * linkMessages: the message builders, pure and exported for golden-byte tests: each returns the exact bytes
 * sent (seq 0; the connection stamps the sequence number). Link references must already be
 * resolved to ifindexes here, namespaces to fds.
 */
export const linkMessages = {
  /** RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: `ip link add`. `masterIndex`, `parentIndex`, `netnsFd`, `peerNetnsFd` resolved. */
  add(spec: LinkSpec, r: { masterIndex?: number; parentIndex?: number; netnsFd?: number; peerNetnsFd?: number } = {}): Uint8Array {
    validateIfname(spec.name);
    const attrs: AttrValues = common(spec, r);
    const info: AttrValues = { kind: spec.kind };
    switch (spec.kind) {
      case 'veth': {
        const p = spec.peer;
        if (!p || typeof p !== 'object') throw new TypeError('veth: peer { name } is required');
        validateIfname(p.name, 'veth peer name');
        const peerAttrs: AttrValues = { ifname: p.name };
        if (p.mac !== undefined) peerAttrs.address = checkMac(p.mac);
        if (p.mtu !== undefined) peerAttrs.mtu = checkMtu(p.mtu);
        if (r.peerNetnsFd !== undefined) peerAttrs.netNsFd = r.peerNetnsFd;
        info.data = { peer: { header: {}, attrs: peerAttrs } };
        break;
      }
      case 'bridge': {
        const d: AttrValues = {};
        if (spec.stp !== undefined) d.stpState = spec.stp ? 1 : 0;
        if (spec.vlanFiltering !== undefined) d.vlanFiltering = spec.vlanFiltering ? 1 : 0;
        if (spec.ageingTimeCs !== undefined) d.ageingTime = spec.ageingTimeCs;
        if (spec.forwardDelayCs !== undefined) d.forwardDelay = spec.forwardDelayCs;
        if (Object.keys(d).length) info.data = d;
        break;
      }
      case 'macvlan': {
        if (r.parentIndex === undefined) throw new TypeError('macvlan: parent is required');
        attrs.link = r.parentIndex;
        const mode = spec.mode ?? 'bridge';
        if (!Object.hasOwn(MACVLAN_MODE, mode)) throw new TypeError(`macvlan: unknown mode ${JSON.stringify(mode)} (${Object.keys(MACVLAN_MODE).join(', ')})`);
        info.data = { mode: MACVLAN_MODE[mode] };
        break;
      }
      case 'dummy':
        break;
      default:
        throw new TypeError(`links.add: unsupported kind ${JSON.stringify((spec as { kind: unknown }).kind)} (veth, bridge, dummy, macvlan)`);
    }
    attrs.linkinfo = info;
    const header: Record<string, number> = spec.up ? { flags: IFF.UP, change: IFF.UP } : {};
    return encodeMessage({ type: RTM.NEWLINK, flags: NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq: 0, pid: 0 }, LINK, header, attrs);
  },

  /** RTM_NEWLINK without NLM_F_CREATE: `ip link set`. The target is an index or a name. */
  set(target: number | string, c: LinkChanges, r: { masterIndex?: number; netnsFd?: number } = {}): Uint8Array {
    const header: Record<string, number> = {};
    const attrs: AttrValues = {};
    targetOf(target, header, attrs);
    if (c.up !== undefined) {
      header.flags = c.up ? IFF.UP : 0;
      header.change = IFF.UP;
    }
    if (c.name !== undefined) {
      validateIfname(c.name, 'new name');
      if (typeof target === 'string') throw new TypeError('links.set: renaming needs the ifindex as target');
      attrs.ifname = c.name;
    }
    if (c.mtu !== undefined) attrs.mtu = checkMtu(c.mtu);
    if (c.mac !== undefined) attrs.address = checkMac(c.mac);
    if (c.master !== undefined) attrs.master = c.master === null ? 0 : r.masterIndex;
    if (c.netns !== undefined) attrs.netNsFd = r.netnsFd;
    if (c.txQueueLen !== undefined) attrs.txqlen = c.txQueueLen;
    if (c.alias !== undefined) attrs.ifalias = c.alias;
    return encodeMessage({ type: RTM.NEWLINK, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 0, pid: 0 }, LINK, header, attrs);
  },

  /** RTM_DELLINK: `ip link delete`. */
  delete(target: number | string): Uint8Array {
    const header: Record<string, number> = {};
    const attrs: AttrValues = {};
    targetOf(target, header, attrs);
    return encodeMessage({ type: RTM.DELLINK, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 0, pid: 0 }, LINK, header, attrs);
  },

  /** RTM_GETLINK for one link: `ip link show dev NAME`. */
  get(target: number | string): Uint8Array {
    const header: Record<string, number> = {};
    const attrs: AttrValues = {};
    targetOf(target, header, attrs);
    return encodeMessage({ type: RTM.GETLINK, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 0, pid: 0 }, LINK, header, attrs);
  },

  /** RTM_GETLINK dump: `ip link show`. With `master`, only the ports of that bridge (strict checking filters in the kernel). */
  dump(filter: { masterIndex?: number; kind?: string } = {}): Uint8Array {
    const attrs: AttrValues = {};
    if (filter.masterIndex !== undefined) attrs.master = filter.masterIndex;
    if (filter.kind !== undefined) attrs.linkinfo = { kind: filter.kind };
    return encodeMessage({ type: RTM.GETLINK, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 0, pid: 0 }, LINK, {}, attrs);
  },
};

function targetOf(target: number | string, header: Record<string, number>, attrs: AttrValues): void {
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target <= 0) throw new TypeError(`invalid ifindex ${target}`);
    header.index = target;
  } else {
    attrs.ifname = validateIfname(target);
  }
}

function common(spec: LinkCommon, r: { masterIndex?: number; netnsFd?: number }): AttrValues {
  const attrs: AttrValues = { ifname: spec.name };
  if (spec.mtu !== undefined) attrs.mtu = checkMtu(spec.mtu);
  if (spec.mac !== undefined) attrs.address = checkMac(spec.mac);
  if (spec.txQueueLen !== undefined) attrs.txqlen = spec.txQueueLen;
  if (r.masterIndex !== undefined) attrs.master = r.masterIndex;
  if (r.netnsFd !== undefined) attrs.netNsFd = r.netnsFd;
  return attrs;
}

/** decodeLink turns an RTM_NEWLINK message into a {@link Link}. */
export function decodeLink(m: RawMessage): Link {
  const { header: h, attrs: a } = decodeMessage(LINK, m.payload);
  const flags = h.flags!;
  const info = a.linkinfo as AttrValues | undefined;
  const link: Link = {
    index: h.index!,
    name: (a.ifname as string) ?? '',
    hwType: h.type!,
    flags,
    up: (flags & IFF.UP) !== 0,
    lowerUp: (flags & IFF.LOWER_UP) !== 0,
    operState: OPERSTATE[(a.operstate as number) ?? 0] ?? 'unknown',
    mtu: (a.mtu as number) ?? 0,
  };
  if (info?.kind !== undefined) link.kind = info.kind as string;
  if (info?.slaveKind !== undefined) link.slaveKind = info.slaveKind as string;
  if (info?.data !== undefined && info.kind !== 'veth') link.data = info.data as Record<string, unknown>;
  if (a.address !== undefined) link.mac = a.address as string;
  if (a.broadcast !== undefined) link.broadcast = a.broadcast as string;
  if (a.master !== undefined) link.master = a.master as number;
  // Physical devices report themselves as IFLA_LINK; a peer in another namespace may share our number.
  if (a.link !== undefined && (a.link !== h.index || a.linkNetnsid !== undefined)) link.parentIndex = a.link as number;
  if (a.linkNetnsid !== undefined) link.parentNetnsId = a.linkNetnsid as number;
  if (a.txqlen !== undefined) link.txQueueLen = a.txqlen as number;
  if (a.ifalias !== undefined) link.alias = a.ifalias as string;
  const s = a.stats64 as Uint8Array | undefined;
  if (s && s.length >= 64) {
    const v = new DataView(s.buffer, s.byteOffset, s.byteLength);
    const at = (i: number): number => Number(v.getBigUint64(i * 8, LE));
    link.stats = { rxPackets: at(0), txPackets: at(1), rxBytes: at(2), txBytes: at(3), rxErrors: at(4), txErrors: at(5), rxDropped: at(6), txDropped: at(7) };
  }
  return link;
}

/**
 * Links: the `ip link` verbs on one namespace (the one the owning {@link Netlink} handle is bound
 * to). Every change is one rtnetlink request, atomic in the kernel; name arguments are resolved by
 * the kernel itself where the message allows it, so no extra lookup round trip is made.
 */
export class Links {
  readonly #conn: Connection;
  /** @internal */
  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** list returns every link of the namespace, like `ip -d link show`. */
  async list(filter: { master?: LinkRef; kind?: string } = {}): Promise<Link[]> {
    const r: { masterIndex?: number; kind?: string } = {};
    if (filter.master !== undefined) r.masterIndex = await this.index(filter.master);
    if (filter.kind !== undefined) r.kind = filter.kind;
    const msgs = await this.#conn.request(linkMessages.dump(r), { operation: 'links.list' });
    let links = msgs.filter((m) => m.type === RTM.NEWLINK).map(decodeLink);
    // Kernels without strict checking ignore dump filters: apply them here too.
    if (r.masterIndex !== undefined) links = links.filter((l) => l.master === r.masterIndex);
    if (r.kind !== undefined) links = links.filter((l) => l.kind === r.kind);
    return links;
  }

  /** get returns one link, like `ip -d link show dev NAME`. Rejects with NetlinkError `ENODEV` when there is none. */
  async get(ref: LinkRef): Promise<Link> {
    const t = refTarget(ref);
    const msgs = await this.#conn.request(linkMessages.get(t), { operation: 'links.get', subject: String(t) });
    const m = msgs.find((x) => x.type === RTM.NEWLINK);
    if (!m) throw new NetlinkError(19, { type: RTM.GETLINK, typeName: 'RTM_GETLINK', flags: 0, seq: 0, operation: 'links.get', subject: String(t) }, 'no such link');
    return decodeLink(m);
  }

  /** find is {@link Links.get} that resolves `undefined` instead of rejecting when the link does not exist. */
  async find(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.get(ref);
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
      throw e;
    }
  }

  /** index resolves a link reference to its ifindex (a name costs one RTM_GETLINK). */
  async index(ref: LinkRef): Promise<number> {
    if (typeof ref === 'number') return ref;
    if (typeof ref === 'object' && ref !== null) return ref.index;
    const t = refTarget(ref);
    const msgs = await this.#conn.request(linkMessages.get(t), { operation: 'links.get', subject: String(t) });
    const m = msgs.find((x) => x.type === RTM.NEWLINK);
    if (!m || m.payload.length < 8) throw new NetlinkError(19, { type: RTM.GETLINK, typeName: 'RTM_GETLINK', flags: 0, seq: 0, operation: 'links.get', subject: String(t) }, 'no such link');
    // Only the header's ifi_index is needed: skip decoding the ~1.5 KiB of attributes.
    return new DataView(m.payload.buffer, m.payload.byteOffset, 8).getInt32(4, LE);
  }

  /**
   * add creates a link, like `ip link add NAME type veth peer name PEER [netns NS]`, `ip link add
   * NAME type bridge`, `ip link add NAME type dummy`, `ip link add NAME link PARENT type macvlan
   * mode bridge`. One atomic request: a veth pair and its peer's namespace, master, MTU, MAC and
   * up state are set in the same message. Not idempotent: an existing name rejects with
   * NetlinkError `EEXIST`; an unsupported kind with `EOPNOTSUPP` ("Unknown device type").
   */
  async add(spec: LinkSpec): Promise<void> {
    if (spec === null || typeof spec !== 'object') throw new TypeError('links.add: expected a LinkSpec object');
    const r: { masterIndex?: number; parentIndex?: number; netnsFd?: number; peerNetnsFd?: number } = {};
    if (spec.master !== undefined) r.masterIndex = await this.index(spec.master);
    if (spec.kind === 'macvlan') {
      if (spec.parent === undefined) throw new TypeError('macvlan: parent is required');
      r.parentIndex = await this.index(spec.parent);
    }
    const send = (): Promise<unknown> => this.#conn.request(linkMessages.add(spec, r), { operation: 'links.add', subject: spec.name });
    const peerNs = spec.kind === 'veth' ? spec.peer?.netns : undefined;
    const withPeer = (): Promise<unknown> =>
      peerNs !== undefined
        ? withNetnsFd(peerNs, (fd) => {
            r.peerNetnsFd = fd;
            return send();
          })
        : send();
    await (spec.netns !== undefined
      ? withNetnsFd(spec.netns, (fd) => {
          r.netnsFd = fd;
          return withPeer();
        })
      : withPeer());
  }

  /**
   * delete removes a link, like `ip link delete dev NAME` (deleting one end of a veth pair
   * deletes both). The kernel waits for RCU grace periods inside this request, so it is sent
   * from the thread pool. Rejects with `ENODEV` when the link does not exist.
   */
  async delete(ref: LinkRef): Promise<void> {
    const t = refTarget(ref);
    await this.#conn.request(linkMessages.delete(t), { operation: 'links.delete', subject: String(t), slow: true });
  }

  /**
   * set applies several changes in one request, like `ip link set dev NAME up mtu 1400 master
   * br0`. Renaming needs the link down (the kernel refuses `EBUSY` otherwise).
   */
  async set(ref: LinkRef, changes: LinkChanges): Promise<void> {
    if (changes === null || typeof changes !== 'object') throw new TypeError('links.set: expected a changes object');
    let t = refTarget(ref);
    if (changes.name !== undefined && typeof t === 'string') t = await this.index(t);
    const r: { masterIndex?: number; netnsFd?: number } = {};
    if (changes.master !== undefined && changes.master !== null) r.masterIndex = await this.index(changes.master);
    // A move to another namespace waits for an RCU grace period inside the kernel (~18 ms):
    // send it from the thread pool so that the event loop keeps running.
    const slow = changes.netns !== undefined;
    const send = (): Promise<unknown> => this.#conn.request(linkMessages.set(t, changes, r), { operation: 'links.set', subject: String(t), slow });
    if (changes.netns !== undefined) {
      await withNetnsFd(changes.netns, (fd) => {
        r.netnsFd = fd;
        return send();
      });
    } else {
      await send();
    }
  }

  /** setUp brings a link up, like `ip link set dev NAME up`. Idempotent. */
  async setUp(ref: LinkRef): Promise<void> {
    await this.set(ref, { up: true });
  }

  /** setDown takes a link down, like `ip link set dev NAME down`. Idempotent. */
  async setDown(ref: LinkRef): Promise<void> {
    await this.set(ref, { up: false });
  }

  /** rename renames a (down) link, like `ip link set dev NAME name NEW`. */
  async rename(ref: LinkRef, name: string): Promise<void> {
    await this.set(ref, { name });
  }

  /** setMtu sets the MTU, like `ip link set dev NAME mtu N`. */
  async setMtu(ref: LinkRef, mtu: number): Promise<void> {
    await this.set(ref, { mtu });
  }

  /** setMac sets the hardware address, like `ip link set dev NAME address MAC`. */
  async setMac(ref: LinkRef, mac: string): Promise<void> {
    await this.set(ref, { mac });
  }

  /** setMaster enslaves a link to a bridge, like `ip link set dev NAME master BR`; `null` is `nomaster`. */
  async setMaster(ref: LinkRef, master: LinkRef | null): Promise<void> {
    await this.set(ref, { master });
  }

  /**
   * setNetns moves a link into another namespace, like `ip link set dev NAME netns NS`. The link
   * arrives down and without addresses; address it through a {@link Netlink} opened in `netns`.
   * The kernel waits for an RCU grace period here (~18 ms), so the request goes from the thread
   * pool; creating a veth peer directly in its namespace (`peer: { netns }`) avoids the wait.
   */
  async setNetns(ref: LinkRef, netns: NetnsRef): Promise<void> {
    await this.set(ref, { netns });
  }
}

function refTarget(ref: LinkRef): number | string {
  if (typeof ref === 'string') return validateIfname(ref);
  if (typeof ref === 'number') return ref;
  if (ref && typeof ref === 'object' && typeof ref.index === 'number') return ref.index;
  throw new TypeError(`expected a link name, ifindex or Link, got ${String(ref)}`);
}
