import { binding } from './binding.js';

/** Netlink protocol numbers accepted by {@link netlinkOpen} by name (linux/netlink.h). */
export const NETLINK_PROTOCOLS = {
  route: 0,
  sock_diag: 4,
  xfrm: 6,
  netfilter: 12,
  generic: 16,
} as const;

/** A protocol name from {@link NETLINK_PROTOCOLS} or a raw protocol number. */
export type NetlinkProtocol = keyof typeof NETLINK_PROTOCOLS | number;

/** Options of {@link netlinkOpen}. */
export interface NetlinkOpenOptions {
  /** `'route'` (rtnetlink, the default) or another netlink protocol. */
  protocol?: NetlinkProtocol;
  /**
   * Network namespace the socket lives in: an fd of a netns file (`/proc/PID/ns/net`,
   * `/run/netns/NAME`) or a path to one. Default: the namespace of the process.
   */
  netns?: number | string;
  /** SO_RCVBUF(FORCE) in bytes; default the kernel's. */
  receiveBufferSize?: number;
  /** Multicast groups bitmask to bind to (for monitors); default none. */
  groups?: number;
}

/**
 * NetlinkSocket is one AF_NETLINK socket owned by this process. It only moves datagrams:
 * encoding and ACK parsing are the caller's. `close()` is idempotent; `using` closes it.
 */
export interface NetlinkSocket extends Disposable {
  /** The socket's netlink port id (`nl_pid` the kernel assigned at bind). */
  readonly portId: number;
  /** The netlink protocol number. */
  readonly protocol: number;
  /** The descriptor, or -1 once closed. */
  readonly fd: number;
  /** True once {@link NetlinkSocket.close} ran. */
  readonly closed: boolean;
  /**
   * send writes one datagram to the kernel (synchronously: rtnetlink processes the request
   * inside this call and queues the answer before it returns). Returns the bytes sent.
   */
  send(buf: Uint8Array): number;
  /**
   * sendAsync is {@link NetlinkSocket.send} on the libuv thread pool, for requests the kernel
   * is slow to process (deleting a link waits for RCU grace periods inside sendto).
   */
  sendAsync(buf: Uint8Array): Promise<number>;
  /** recv returns the next queued datagram (possibly several netlink messages) or null: never waits. */
  recv(): Buffer | null;
  /** recvAsync waits on the thread pool for a datagram, up to `timeoutMs` (default forever); null on timeout. */
  recvAsync(opts?: { timeoutMs?: number }): Promise<Buffer | null>;
  /** close closes the socket (after any send/recv still running on the pool). Idempotent. */
  close(): void;
}

interface RawSocket {
  readonly portId: number;
  readonly protocol: number;
  readonly fd: number;
  send(buf: Uint8Array): number;
  sendAsync(buf: Uint8Array): Promise<number>;
  recv(): Buffer | null;
  recvAsync(timeoutMs: number): Promise<Buffer | null>;
  close(): void;
}

class Socket implements NetlinkSocket {
  readonly #raw: RawSocket;
  #closed = false;
  constructor(raw: RawSocket) {
    this.#raw = raw;
  }
  get portId(): number {
    return this.#raw.portId;
  }
  get protocol(): number {
    return this.#raw.protocol;
  }
  get fd(): number {
    return this.#raw.fd;
  }
  get closed(): boolean {
    return this.#closed;
  }
  send(buf: Uint8Array): number {
    return this.#raw.send(checkBuf(buf, 'send'));
  }
  sendAsync(buf: Uint8Array): Promise<number> {
    return this.#raw.sendAsync(checkBuf(buf, 'sendAsync'));
  }
  recv(): Buffer | null {
    return this.#raw.recv();
  }
  recvAsync(opts: { timeoutMs?: number } = {}): Promise<Buffer | null> {
    const t = opts.timeoutMs ?? -1;
    if (!Number.isInteger(t) || t < -1 || t > 0x7fffffff) {
      throw new TypeError(`recvAsync: timeoutMs must be an integer ≥ 0 (or -1 for none), got ${String(t)}`);
    }
    return this.#raw.recvAsync(t);
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

function checkBuf(buf: unknown, fn: string): Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${fn}: expected a Uint8Array, got ${typeof buf}`);
  if (buf.byteLength < 16) throw new TypeError(`${fn}: a netlink message is at least 16 bytes, got ${buf.byteLength}`);
  return buf;
}

/**
 * netlinkOpen opens a netlink socket with NETLINK_EXT_ACK (the kernel's error text),
 * NETLINK_GET_STRICT_CHK (dump filters honoured) and NETLINK_CAP_ACK (errors echo only the
 * request header). With `netns`, the socket is created on a short-lived native thread that
 * setns()es into that namespace and exits, so the socket belongs to that namespace while no
 * Node thread ever switches: every request on it acts inside `netns`.
 * Throws ErrnoError (`setns`, `socket`, `bind`, `open`) on failure.
 */
export function netlinkOpen(opts: NetlinkOpenOptions = {}): NetlinkSocket {
  if (opts === null || typeof opts !== 'object') throw new TypeError('netlinkOpen: options must be an object');
  const p = opts.protocol ?? 'route';
  let protocol: number;
  if (typeof p === 'string') {
    if (!Object.hasOwn(NETLINK_PROTOCOLS, p)) {
      throw new TypeError(`netlinkOpen: unknown protocol ${JSON.stringify(p)} (one of ${Object.keys(NETLINK_PROTOCOLS).join(', ')} or a number)`);
    }
    protocol = NETLINK_PROTOCOLS[p as keyof typeof NETLINK_PROTOCOLS];
  } else if (Number.isInteger(p) && p >= 0 && p < 32) {
    protocol = p;
  } else {
    throw new TypeError(`netlinkOpen: protocol must be a name or an integer in [0, 31], got ${String(p)}`);
  }
  const raw: Record<string, unknown> = { protocol };
  if (opts.netns !== undefined) {
    if (typeof opts.netns === 'number') {
      if (!Number.isInteger(opts.netns) || opts.netns < 0) throw new TypeError(`netlinkOpen: netns fd must be a non-negative integer, got ${opts.netns}`);
      raw.netnsFd = opts.netns;
    } else if (typeof opts.netns === 'string' && opts.netns !== '' && !opts.netns.includes('\0')) {
      raw.netnsPath = opts.netns;
    } else {
      throw new TypeError('netlinkOpen: netns must be an fd or a non-empty path');
    }
  }
  if (opts.receiveBufferSize !== undefined) {
    const r = opts.receiveBufferSize;
    if (!Number.isInteger(r) || r < 0 || r > 0x7fffffff) throw new TypeError(`netlinkOpen: receiveBufferSize must be a positive integer, got ${String(r)}`);
    raw.rcvbuf = r;
  }
  if (opts.groups !== undefined) {
    const g = opts.groups;
    if (!Number.isInteger(g) || g < 0 || g > 0xffffffff) throw new TypeError(`netlinkOpen: groups must be a 32-bit mask, got ${String(g)}`);
    raw.groups = g;
  }
  return new Socket((binding as { netlinkOpen(o: unknown): RawSocket }).netlinkOpen(raw));
}
