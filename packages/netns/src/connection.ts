/**
 * A request/response conversation over one netlink socket: sequence numbers, waiting for the
 * ACK (or the end of a dump), turning NLMSG_ERROR into {@link NetlinkError}, retrying dumps the
 * kernel marks as interrupted. Requests on one connection run one at a time, in order.
 */
import { netlinkOpen, type NetlinkSocket } from '@stratum/native';
import { parseDone, parseError } from './ack.js';
import { LE, splitMessages, type RawMessage } from './codec.js';
import { NetlinkError, type NetlinkRequestInfo } from './errors.js';
import { NLM_F, NLMSG, rtmTypeName } from './rtnl.js';

/** RequestOptions: how a request is sent. */
export interface RequestOptions {
  /** The API call, for errors (`links.add`). */
  operation?: string;
  /** Its subject, for errors (`veth0`). */
  subject?: string;
  /**
   * Send from the libuv thread pool instead of the calling thread: for requests the kernel is slow
   * to process inside sendto() (link deletion waits for RCU grace periods).
   */
  slow?: boolean;
}

/** How long to wait for an answer the kernel should already have queued (ms). */
const REPLY_TIMEOUT_MS = 30_000;
const DUMP_RETRIES = 5;

/** Connection owns one netlink socket and runs requests on it. */
export class Connection {
  readonly #sock: NetlinkSocket;
  #seq: number;
  #tail: Promise<unknown> = Promise.resolve();
  #busy = 0;

  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
    // Start from a time-derived number, as iproute2 does, so stale answers to an earlier user of
    // the same port id cannot match.
    this.#seq = (Math.floor(Date.now() / 1000) & 0xffff) << 8;
  }

  /** open creates a connection on a new rtnetlink socket, inside `netns` (fd or path) when given. */
  static open(netns?: number | string): Connection {
    return new Connection(netlinkOpen({ protocol: 'route', ...(netns !== undefined ? { netns } : {}), receiveBufferSize: 1 << 20 }));
  }

  /** The socket's netlink port id. */
  get portId(): number {
    return this.#sock.portId;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#sock.closed;
  }

  /** close closes the socket. Idempotent. */
  close(): void {
    this.#sock.close();
  }

  /**
   * request sends one message (built with seq 0 — this sets the header's seq and adds
   * NLM_F_REQUEST|NLM_F_ACK) and resolves with the answer's data messages: the reply of a GET,
   * all parts of a dump (when the message has NLM_F_DUMP), nothing for a successful change.
   * Rejects with {@link NetlinkError} when the kernel reports an error.
   *
   * When nothing else is in flight the request runs synchronously (rtnetlink answers inside
   * sendto()), and only the settling of the returned promise is deferred; otherwise it queues.
   */
  request(msg: Uint8Array, opts: RequestOptions = {}): Promise<RawMessage[]> {
    if (this.#busy === 0 && !opts.slow) {
      let p: Pending;
      try {
        p = this.#begin(msg, opts, 0);
        for (;;) {
          if (!this.#drain(p)) break; // answer not all there yet: finish asynchronously
          if (!p.interrupted) return Promise.resolve(p.out);
          p = this.#retry(p, msg, opts);
        }
      } catch (e) {
        return Promise.reject(e);
      }
      return this.#enqueue(() => this.#finish(p, msg, opts));
    }
    return this.#enqueue(async () => {
      const p = opts.slow ? await this.#beginAsync(msg, opts, 0) : this.#begin(msg, opts, 0);
      return this.#finish(p, msg, opts);
    });
  }

  #enqueue(fn: () => Promise<RawMessage[]>): Promise<RawMessage[]> {
    this.#busy++;
    const run = (): Promise<RawMessage[]> => fn();
    const p = this.#tail.then(run, run);
    this.#tail = p.then(
      () => void this.#busy--,
      () => void this.#busy--,
    );
    return p;
  }

  #prepare(msg: Uint8Array, opts: RequestOptions, attempt: number): Pending {
    const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const type = view.getUint16(4, LE);
    const flags = view.getUint16(6, LE);
    const dump = (flags & NLM_F.DUMP) === NLM_F.DUMP && isGet(type);
    view.setUint16(6, flags | NLM_F.REQUEST | (dump ? 0 : NLM_F.ACK), LE);
    const seq = (this.#seq = (this.#seq + 1) >>> 0);
    view.setUint32(8, seq, LE);
    const info: NetlinkRequestInfo = { type, typeName: rtmTypeName(type), flags: view.getUint16(6, LE), seq };
    if (opts.operation !== undefined) info.operation = opts.operation;
    if (opts.subject !== undefined) info.subject = opts.subject;
    return { seq, info, out: [], interrupted: false, done: false, attempt };
  }

  #begin(msg: Uint8Array, opts: RequestOptions, attempt: number): Pending {
    const p = this.#prepare(msg, opts, attempt);
    this.#sock.send(msg);
    return p;
  }

  async #beginAsync(msg: Uint8Array, opts: RequestOptions, attempt: number): Promise<Pending> {
    const p = this.#prepare(msg, opts, attempt);
    await this.#sock.sendAsync(msg);
    return p;
  }

  #retry(p: Pending, msg: Uint8Array, opts: RequestOptions): Pending {
    if (p.attempt >= DUMP_RETRIES) throw new NetlinkError(4 /* EINTR */, p.info, 'dump interrupted by concurrent changes; retries exhausted');
    return this.#begin(msg, opts, p.attempt + 1);
  }

  /** Reads what is queued without waiting; true once the answer is complete. */
  #drain(p: Pending): boolean {
    // The kernel queues rtnetlink answers before sendto() returns (and the next dump part during
    // the previous recvmsg()), so this nearly always completes the request.
    for (;;) {
      const d = this.#sock.recv();
      if (d === null) return false;
      if (this.#feed(p, d)) return true;
    }
  }

  async #finish(p: Pending, msg: Uint8Array, opts: RequestOptions): Promise<RawMessage[]> {
    for (;;) {
      if (!this.#drain(p)) {
        const d = await this.#sock.recvAsync({ timeoutMs: REPLY_TIMEOUT_MS });
        if (d === null) throw new NetlinkError(110 /* ETIMEDOUT */, p.info, `no answer within ${REPLY_TIMEOUT_MS} ms`);
        if (!this.#feed(p, d)) continue;
      }
      if (!p.interrupted) return p.out;
      p = this.#retry(p, msg, opts);
    }
  }

  /** Processes one datagram for `p`; true when it ended the request (throws on a kernel error). */
  #feed(p: Pending, d: Uint8Array): boolean {
    for (const m of splitMessages(d)) {
      if (m.seq !== p.seq) continue; // an answer to an earlier, abandoned request
      if (m.flags & NLM_F.DUMP_INTR) p.interrupted = true;
      switch (m.type) {
        case NLMSG.ERROR: {
          const a = parseError(m);
          if (a.errno !== 0) throw new NetlinkError(a.errno, p.info, a.message, a.offset);
          return (p.done = true);
        }
        case NLMSG.DONE: {
          const a = parseDone(m);
          if (a.errno !== 0) throw new NetlinkError(a.errno, p.info, a.message, a.offset);
          return (p.done = true);
        }
        case NLMSG.OVERRUN:
          throw new NetlinkError(105 /* ENOBUFS */, p.info, 'netlink overrun');
        case NLMSG.NOOP:
          break;
        default:
          // Every datagram is a fresh Buffer from the addon: views into it are safe to keep.
          p.out.push(m);
      }
    }
    return false;
  }
}

/** A request whose answer is being read. */
interface Pending {
  seq: number;
  info: NetlinkRequestInfo;
  out: RawMessage[];
  interrupted: boolean;
  done: boolean;
  attempt: number;
}

function isGet(type: number): boolean {
  // RTM_GET* are the types ≡ 2 (mod 4) in rtnetlink's numbering.
  return type >= 16 && (type & 3) === 2;
}
