/**
 * The neighbour (ARP / NDP) table over rtnetlink (RTM_NEWNEIGH / DELNEIGH / GETNEIGH): `ip neigh`.
 */
import { decodeMessage, encodeMessage, type AttrValues, type RawMessage } from './codec.js';
import type { Connection } from './connection.js';
import { AF_INET, AF_INET6, formatIP, parseIP, type Family } from './ip.js';
import type { LinkRef, Links } from './links.js';
import { NEIGH, NLM_F, NUD, RTM } from './rtnl.js';

/** NeighbourState: neighbour states (`nud STATE`). */
export type NeighbourState = keyof typeof NUD;

/** NeighbourSpec: a neighbour entry to add (`ip neigh add IP lladdr MAC dev LINK nud STATE`). */
export interface NeighbourSpec {
  link: LinkRef;
  ip: string;
  mac: string;
  /** Default `permanent`. */
  state?: NeighbourState;
}

/** Neighbour: a neighbour entry as the kernel reports it. */
export interface Neighbour {
  /** ifindex. */
  index: number;
  family: Family;
  ip: string;
  mac?: string;
  /** NUD state names set in the entry's state bits (`['reachable']`, `['permanent']`). */
  state: NeighbourState[];
  flags: number;
}

function stateBits(s: NeighbourState | undefined): number {
  const v = s ?? 'permanent';
  if (!Object.hasOwn(NUD, v)) throw new TypeError(`invalid neighbour state ${JSON.stringify(s)} (${Object.keys(NUD).join(', ')})`);
  return NUD[v];
}

/** neighbourMessages: pure builders of the neighbour messages, exported for golden-byte tests. */
export const neighbourMessages = {
  /** RTM_NEWNEIGH: `ip neigh add` (`replace: true` → `ip neigh replace`). */
  add(index: number, spec: Omit<NeighbourSpec, 'link'>, opts: { replace?: boolean } = {}): Uint8Array {
    const ip = parseIP(spec.ip);
    const mode = opts.replace ? NLM_F.CREATE | NLM_F.REPLACE : NLM_F.CREATE | NLM_F.EXCL;
    const attrs: AttrValues = { dst: formatIP(ip.bytes), lladdr: spec.mac };
    const header = { family: ip.family === 4 ? AF_INET : AF_INET6, ifindex: index, state: stateBits(spec.state) };
    return encodeMessage({ type: RTM.NEWNEIGH, flags: NLM_F.REQUEST | NLM_F.ACK | mode, seq: 0, pid: 0 }, NEIGH, header, attrs);
  },
  /** RTM_DELNEIGH: `ip neigh del IP dev LINK`. */
  del(index: number, ipText: string): Uint8Array {
    const ip = parseIP(ipText);
    // The kernel ignores the state of a delete; NUD_PERMANENT is what iproute2 sends.
    const header = { family: ip.family === 4 ? AF_INET : AF_INET6, ifindex: index, state: NUD.permanent };
    return encodeMessage({ type: RTM.DELNEIGH, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 0, pid: 0 }, NEIGH, header, { dst: formatIP(ip.bytes) });
  },
  /** RTM_GETNEIGH dump: `ip neigh show [dev LINK]`. */
  dump(filter: { family?: Family; index?: number } = {}): Uint8Array {
    const header = { family: filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : 0 };
    const attrs: AttrValues = filter.index !== undefined ? { ifindex: filter.index } : {};
    return encodeMessage({ type: RTM.GETNEIGH, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 0, pid: 0 }, NEIGH, header, attrs);
  },
};

/** decodeNeighbour turns an RTM_NEWNEIGH message into a {@link Neighbour}. */
export function decodeNeighbour(m: RawMessage): Neighbour {
  const { header: h, attrs: a } = decodeMessage(NEIGH, m.payload);
  const bits = h.state!;
  const state = (Object.keys(NUD) as NeighbourState[]).filter((k) => NUD[k] !== 0 && (bits & NUD[k]) !== 0);
  const n: Neighbour = { index: h.ifindex!, family: h.family === AF_INET6 ? 6 : 4, ip: (a.dst as string) ?? '', state: state.length ? state : ['none'], flags: h.flags! };
  if (a.lladdr !== undefined) n.mac = a.lladdr as string;
  return n;
}

/** Neighbours: the `ip neigh` verbs on the handle's namespace. */
export class Neighbours {
  readonly #conn: Connection;
  readonly #links: Links;
  /** @internal */
  constructor(conn: Connection, links: Links) {
    this.#conn = conn;
    this.#links = links;
  }

  /** add adds a neighbour entry, like `ip neigh add 10.88.0.3 lladdr MAC dev br0 nud permanent`. Rejects `EEXIST` if present. */
  async add(spec: NeighbourSpec): Promise<void> {
    const index = await this.#links.index(spec.link);
    await this.#conn.request(neighbourMessages.add(index, spec), { operation: 'neighbours.add', subject: spec.ip });
  }

  /** replace adds or updates an entry, like `ip neigh replace …`. Idempotent. */
  async replace(spec: NeighbourSpec): Promise<void> {
    const index = await this.#links.index(spec.link);
    await this.#conn.request(neighbourMessages.add(index, spec, { replace: true }), { operation: 'neighbours.replace', subject: spec.ip });
  }

  /** del removes an entry, like `ip neigh del 10.88.0.3 dev br0`. Rejects `ENOENT` when absent. */
  async del(link: LinkRef, ip: string): Promise<void> {
    const index = await this.#links.index(link);
    await this.#conn.request(neighbourMessages.del(index, ip), { operation: 'neighbours.del', subject: ip });
  }

  /** list returns neighbour entries, like `ip neigh show [dev LINK]`. */
  async list(filter: { link?: LinkRef; family?: Family } = {}): Promise<Neighbour[]> {
    const f: { family?: Family; index?: number } = {};
    if (filter.family !== undefined) f.family = filter.family;
    if (filter.link !== undefined) f.index = await this.#links.index(filter.link);
    const msgs = await this.#conn.request(neighbourMessages.dump(f), { operation: 'neighbours.list' });
    return msgs
      .filter((m) => m.type === RTM.NEWNEIGH)
      .map(decodeNeighbour)
      .filter((n) => (f.index === undefined || n.index === f.index) && (f.family === undefined || n.family === f.family));
  }
}
