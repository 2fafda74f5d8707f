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

/** How a request is sent. */
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
   */
  request(msg: Uint8Array, opts: RequestOptions = {}): Promise<RawMessage[]> {
    const run = (): Promise<RawMessage[]> => this.#run(msg, opts);
    const p = this.#tail.then(run, run);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  async #run(msg: Uint8Array, opts: RequestOptions): Promise<RawMessage[]> {
    const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const type = view.getUint16(4, LE);
    const dump = (view.getUint16(6, LE) & NLM_F.DUMP) === NLM_F.DUMP && isGet(type);
    view.setUint16(6, view.getUint16(6, LE) | NLM_F.REQUEST | (dump ? 0 : NLM_F.ACK), LE);
    for (let attempt = 0; ; attempt++) {
      const seq = (this.#seq = (this.#seq + 1) >>> 0);
      view.setUint32(8, seq, LE);
      const info: NetlinkRequestInfo = { type, typeName: rtmTypeName(type), flags: view.getUint16(6, LE), seq };
      if (opts.operation !== undefined) info.operation = opts.operation;
      if (opts.subject !== undefined) info.subject = opts.subject;
      if (opts.slow) await this.#sock.sendAsync(msg);
      else this.#sock.send(msg);
      const { messages, interrupted } = await this.#collect(seq, info);
      if (!interrupted) return messages;
      if (attempt >= DUMP_RETRIES) throw new NetlinkError(4 /* EINTR */, info, 'dump interrupted by concurrent changes; retries exhausted');
    }
  }

  async #collect(seq: number, info: NetlinkRequestInfo): Promise<{ messages: RawMessage[]; interrupted: boolean }> {
    const out: RawMessage[] = [];
    let interrupted = false;
    for (;;) {
      // The kernel queues rtnetlink answers before sendto() returns (and the next dump part during
      // the previous recvmsg()), so the non-waiting recv() nearly always has it; wait only if not.
      let d = this.#sock.recv();
      if (d === null) d = await this.#sock.recvAsync({ timeoutMs: REPLY_TIMEOUT_MS });
      if (d === null) throw new NetlinkError(110 /* ETIMEDOUT */, info, `no answer within ${REPLY_TIMEOUT_MS} ms`);
      for (const m of splitMessages(d)) {
        if (m.seq !== seq) continue; // an answer to an earlier, abandoned request
        if (m.flags & NLM_F.DUMP_INTR) interrupted = true;
        switch (m.type) {
          case NLMSG.ERROR: {
            const a = parseError(m);
            if (a.errno !== 0) throw new NetlinkError(a.errno, info, a.message, a.offset);
            return { messages: out, interrupted };
          }
          case NLMSG.DONE: {
            const a = parseDone(m);
            if (a.errno !== 0) throw new NetlinkError(a.errno, info, a.message, a.offset);
            return { messages: out, interrupted };
          }
          case NLMSG.OVERRUN:
            throw new NetlinkError(105 /* ENOBUFS */, info, 'netlink overrun');
          case NLMSG.NOOP:
            break;
          default:
            out.push({ ...m, payload: m.payload.slice() });
        }
      }
    }
  }
}

function isGet(type: number): boolean {
  // RTM_GET* are the types ≡ 2 (mod 4) in rtnetlink's numbering.
  return type >= 16 && (type & 3) === 2;
}
