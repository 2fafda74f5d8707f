import { Addresses } from './addresses.js';
import { Connection } from './connection.js';
import { Links } from './links.js';
import { Neighbours } from './neighbours.js';
import { Netns, type NetnsRef } from './netns.js';
import { Routes } from './routes.js';

/** NetlinkOptions: options of {@link Netlink.open}. */
export interface NetlinkOptions {
  /**
   * The network namespace every request acts in: a {@link Netns}, an fd of a netns file, a name
   * under /run/netns or a path (`/proc/PID/ns/net`). Default: the namespace of this process.
   */
  netns?: NetnsRef;
}

/**
 * Netlink is an rtnetlink handle bound to one network namespace: `links`, `addresses`, `routes`
 * and `neighbours` carry the `ip link`/`ip addr`/`ip route`/`ip neigh` verbs, each one request
 * (or dump) on the handle's own socket, encoded in TypeScript. No `ip` process is run.
 *
 * The socket of a handle for another namespace is created inside it by a short-lived native
 * thread, so the handle acts there while Node's threads stay where they are. Requests on one handle
 * run one at a time, in call order. Failed requests reject with {@link NetlinkError}.
 *
 * @example
 * await using ns = await Netns.create('stratum-demo');
 * using host = await Netlink.open();
 * await host.links.add({ kind: 'veth', name: 'st-veth0', peer: { name: 'eth0', netns: ns } });
 * using inside = await Netlink.open({ netns: ns });
 * await inside.addresses.add('eth0', '10.99.0.2/24');
 */
export class Netlink implements Disposable, AsyncDisposable {
  /** `ip link` verbs. */
  readonly links: Links;
  /** `ip addr` verbs. */
  readonly addresses: Addresses;
  /** `ip route` verbs. */
  readonly routes: Routes;
  /** `ip neigh` verbs. */
  readonly neighbours: Neighbours;
  readonly #conn: Connection;

  private constructor(conn: Connection) {
    this.#conn = conn;
    this.links = new Links(conn);
    this.addresses = new Addresses(conn, this.links);
    this.routes = new Routes(conn, this.links);
    this.neighbours = new Neighbours(conn, this.links);
  }

  /**
   * Netlink.open opens an rtnetlink socket in `netns` (default: this process's namespace) with
   * extended ACKs and strict dump checking on. Throws ErrnoError (`setns`, `socket`) when the
   * namespace cannot be entered.
   */
  static async open(opts: NetlinkOptions = {}): Promise<Netlink> {
    if (opts === null || typeof opts !== 'object') throw new TypeError('Netlink.open: options must be an object');
    const ns = opts.netns;
    if (ns === undefined) return new Netlink(Connection.open());
    if (ns instanceof Netns) return new Netlink(Connection.open(ns.fd));
    if (typeof ns === 'number') return new Netlink(Connection.open(ns));
    if (typeof ns === 'string' && ns !== '') return new Netlink(Connection.open(ns.includes('/') ? ns : `/run/netns/${ns}`));
    throw new TypeError('Netlink.open: netns must be a Netns, an fd, a name or a path');
  }

  /** The socket's netlink port id. */
  get portId(): number {
    return this.#conn.portId;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#conn.closed;
  }

  /** close closes the socket; requests still running finish first. Idempotent. */
  close(): void {
    this.#conn.close();
  }

  /** Closes the handle, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the handle, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
