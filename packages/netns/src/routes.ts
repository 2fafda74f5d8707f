/**
 * Routes over rtnetlink (RTM_NEWROUTE / DELROUTE / GETROUTE): the `ip route` verbs.
 */
import { decodeMessage, encodeMessage, type AttrValues, type RawMessage } from './codec.js';
import type { Connection } from './connection.js';
import { AF_INET, AF_INET6, formatIP, networkOf, parseIP, parsePrefix, type Family } from './ip.js';
import type { LinkRef, Links } from './links.js';
import { NLM_F, ROUTE, RT_SCOPE, RT_TABLE, RTM, RTN, RTPROT } from './rtnl.js';

/** RouteSpec: a route to add or delete (`ip route add DST [via GW] [dev DEV] …`). */
export interface RouteSpec {
  /** `default` or a prefix (`10.0.0.0/8`, `fd00::/64`). */
  dst: 'default' | string;
  /** Next hop (`via`). */
  gateway?: string;
  /** Output link (`dev`). */
  dev?: LinkRef;
  /** Preferred source address (`src`). */
  src?: string;
  /** Priority (`metric`). */
  metric?: number;
  /** Table number or `main` (default) / `local` / `default`. */
  table?: number | 'main' | 'local' | 'default';
  /** Default: `link` when there is no gateway, `universe` otherwise (as `ip` decides). */
  scope?: keyof typeof RT_SCOPE;
  /** Default `boot` (what `ip route add` uses). */
  protocol?: keyof typeof RTPROT;
  /** Default `unicast`. */
  type?: keyof typeof RTN;
  /** For `dst: 'default'` without a gateway: which family (default 4). */
  family?: Family;
  /** Path MTU metric (`mtu N`). */
  mtu?: number;
}

/** Route: a route as the kernel reports it (`ip route show`). */
export interface Route {
  family: Family;
  /** `default` or `prefix/len` (network address). */
  dst: string;
  gateway?: string;
  /** ifindex of the output link. */
  oif?: number;
  /** Preferred source. */
  src?: string;
  metric?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
}

function tableNumber(t: RouteSpec['table']): number {
  if (t === undefined || t === 'main') return RT_TABLE.main;
  if (t === 'local') return RT_TABLE.local;
  if (t === 'default') return RT_TABLE.default;
  if (!Number.isInteger(t) || t < 1 || t > 0xffffffff) throw new TypeError(`invalid route table ${String(t)}`);
  return t;
}

function enumValue<T extends Record<string, number>>(table: T, v: string | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (!Object.hasOwn(table, v)) throw new TypeError(`invalid route ${what} ${JSON.stringify(v)} (${Object.keys(table).join(', ')})`);
  return table[v]!;
}

/** routeMessages: pure builders of the route messages, exported for golden-byte tests. `oif` is the resolved dev. */
export const routeMessages = {
  /** RTM_NEWROUTE: `ip route add` (`replace: true` → `ip route replace`). */
  add(spec: RouteSpec, oif?: number, opts: { replace?: boolean } = {}): Uint8Array {
    const mode = opts.replace ? NLM_F.CREATE | NLM_F.REPLACE : NLM_F.CREATE | NLM_F.EXCL;
    return build(RTM.NEWROUTE, NLM_F.REQUEST | NLM_F.ACK | mode, spec, oif, false);
  },
  /** RTM_DELROUTE: `ip route del`. */
  del(spec: RouteSpec, oif?: number): Uint8Array {
    return build(RTM.DELROUTE, NLM_F.REQUEST | NLM_F.ACK, spec, oif, true);
  },
  /** RTM_GETROUTE dump of one table: `ip route show [table T]`. */
  dump(filter: { family?: Family; table?: RouteSpec['table'] } = {}): Uint8Array {
    const table = tableNumber(filter.table);
    const header = { family: filter.family === 6 ? AF_INET6 : filter.family === 4 ? AF_INET : 0, table: table > 255 ? RT_TABLE.unspec : table };
    const attrs: AttrValues = table > 255 ? { table } : {};
    return encodeMessage({ type: RTM.GETROUTE, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 0, pid: 0 }, ROUTE, header, attrs);
  },
};

function build(type: number, flags: number, spec: RouteSpec, oif: number | undefined, del: boolean): Uint8Array {
  if (spec === null || typeof spec !== 'object') throw new TypeError('route: expected a RouteSpec object');
  const gw = spec.gateway !== undefined ? parseIP(spec.gateway) : undefined;
  let family: Family;
  let dst: { bytes: Uint8Array; prefixLength: number } | undefined;
  if (spec.dst === 'default') {
    family = gw?.family ?? spec.family ?? 4;
  } else {
    const p = networkOf(parsePrefix(spec.dst));
    family = p.family;
    if (gw && gw.family !== family) throw new TypeError(`route ${spec.dst}: gateway ${spec.gateway} is of another family`);
    if (p.prefixLength > 0) dst = p;
  }
  const table = tableNumber(spec.table);
  const attrs: AttrValues = {};
  if (dst) attrs.dst = formatIP(dst.bytes);
  if (gw) attrs.gateway = formatIP(gw.bytes);
  if (oif !== undefined) attrs.oif = oif;
  if (spec.src !== undefined) attrs.prefsrc = formatIP(parseIP(spec.src).bytes);
  if (spec.metric !== undefined) attrs.priority = spec.metric;
  if (table > 255) attrs.table = table;
  if (spec.mtu !== undefined) attrs.metrics = { mtu: spec.mtu };
  const header = {
    family: family === 4 ? AF_INET : AF_INET6,
    dstLen: dst?.prefixLength ?? 0,
    table: table > 255 ? RT_TABLE.unspec : table,
    // `ip route del` leaves protocol/scope/type open so that any matching route is removed.
    protocol: del ? (spec.protocol !== undefined ? enumValue(RTPROT, spec.protocol, 0, 'protocol') : RTPROT.unspec) : enumValue(RTPROT, spec.protocol, RTPROT.boot, 'protocol'),
    scope: del ? (spec.scope !== undefined ? enumValue(RT_SCOPE, spec.scope, 0, 'scope') : RT_SCOPE.nowhere) : enumValue(RT_SCOPE, spec.scope, gw ? RT_SCOPE.universe : RT_SCOPE.link, 'scope'),
    type: del && spec.type === undefined ? RTN.unspec : enumValue(RTN, spec.type, RTN.unicast, 'type'),
  };
  return encodeMessage({ type, flags, seq: 0, pid: 0 }, ROUTE, header, attrs);
}

/** decodeRoute turns an RTM_NEWROUTE message into a {@link Route}. */
export function decodeRoute(m: RawMessage): Route {
  const { header: h, attrs: a } = decodeMessage(ROUTE, m.payload);
  const family: Family = h.family === AF_INET6 ? 6 : 4;
  const dst = h.dstLen === 0 ? 'default' : `${(a.dst as string) ?? (family === 4 ? '0.0.0.0' : '::')}/${h.dstLen}`;
  const r: Route = {
    family,
    dst,
    table: (a.table as number | undefined) ?? h.table!,
    protocol: h.protocol!,
    scope: h.scope!,
    type: h.type!,
  };
  if (a.gateway !== undefined) r.gateway = a.gateway as string;
  if (a.oif !== undefined) r.oif = a.oif as number;
  if (a.prefsrc !== undefined) r.src = a.prefsrc as string;
  if (a.priority !== undefined) r.metric = a.priority as number;
  return r;
}

/** Routes: the `ip route` verbs on the handle's namespace. */
export class Routes {
  readonly #conn: Connection;
  readonly #links: Links;
  /** @internal */
  constructor(conn: Connection, links: Links) {
    this.#conn = conn;
    this.#links = links;
  }

  /**
   * add installs a route, like `ip route add default via 10.88.0.1` or `ip route add
   * 10.0.0.0/8 dev eth0`. Rejects with NetlinkError `EEXIST` when it exists, `ENETUNREACH` when
   * the gateway is not reachable on a connected network.
   */
  async add(spec: RouteSpec): Promise<void> {
    const oif = spec.dev !== undefined ? await this.#links.index(spec.dev) : undefined;
    await this.#conn.request(routeMessages.add(spec, oif), { operation: 'routes.add', subject: spec.dst });
  }

  /** replace adds or replaces a route, like `ip route replace`. Idempotent. */
  async replace(spec: RouteSpec): Promise<void> {
    const oif = spec.dev !== undefined ? await this.#links.index(spec.dev) : undefined;
    await this.#conn.request(routeMessages.add(spec, oif, { replace: true }), { operation: 'routes.replace', subject: spec.dst });
  }

  /** del removes a route, like `ip route del default`. Rejects with `ESRCH` when no route matches. */
  async del(spec: RouteSpec): Promise<void> {
    const oif = spec.dev !== undefined ? await this.#links.index(spec.dev) : undefined;
    await this.#conn.request(routeMessages.del(spec, oif), { operation: 'routes.del', subject: spec.dst });
  }

  /** list returns the routes of one table (default main), like `ip route show` / `ip -6 route show`. */
  async list(filter: { family?: Family; table?: RouteSpec['table'] } = {}): Promise<Route[]> {
    const table = tableNumber(filter.table);
    const msgs = await this.#conn.request(routeMessages.dump(filter), { operation: 'routes.list' });
    return msgs
      .filter((m) => m.type === RTM.NEWROUTE)
      .map(decodeRoute)
      .filter((r) => r.table === table && (filter.family === undefined || r.family === filter.family));
  }
}
