/**
 * IPAM for one subnet: hands out and frees addresses, persisted in one JSON file (written
 * atomically, changed under an exclusive lock), so that leases survive restarts and two
 * processes never get the same address.
 */
import { NetworkError } from './errors.js';
import { bigIntToIP, broadcastOf, containsIP, formatIP, ipToBigInt, networkOf, parseIP, parsePrefix, sameIP, type IPPrefix } from './ip.js';
import { readJson, withLock, writeJsonAtomic } from './state.js';

/** Lease: one lease: the address and who holds it. */
export interface Lease {
  /** The address, without prefix. */
  ip: string;
  /** Holder id (an attachment id). */
  id: string;
  /** ISO time of allocation. */
  at: string;
}

interface IpamFile {
  subnet: string;
  gateway: string;
  /** Last address handed out: allocation continues after it (next-fit, as Docker's IPAM). */
  last?: string;
  leases: Record<string, Lease>;
}

/**
 * Ipam allocates the host addresses of `subnet`, never the network address, the broadcast
 * address (IPv4) or the gateway. Allocation is next-fit: after the last address handed out,
 * wrapping around, so a just-freed address is not reused at once.
 */
export class Ipam {
  readonly subnet: IPPrefix;
  readonly gateway: string;
  readonly #file: string;
  readonly #lock: string;
  readonly #network: string;
  readonly #durable: boolean;

  /**
   * @param file  the JSON file of this subnet's leases
   * @param lock  the lock file guarding it
   * @param network the network's name, for errors
   * @param durable fsync each change (default true); false when the leases only name kernel
   *   objects that a reboot removes (a network's endpoints): a killed process still leaves the old
   *   or the new leases, and a file torn by a power loss reads as no leases
   */
  constructor(opts: { subnet: string; gateway: string; file: string; lock: string; network: string; durable?: boolean }) {
    this.subnet = networkOf(parsePrefix(opts.subnet));
    this.gateway = formatIP(parseIP(opts.gateway).bytes);
    this.#file = opts.file;
    this.#lock = opts.lock;
    this.#network = opts.network;
    this.#durable = opts.durable ?? true;
  }

  #read(): IpamFile {
    return readJson<IpamFile>(this.#file, { volatile: !this.#durable }) ?? { subnet: `${formatIP(this.subnet.bytes)}/${this.subnet.prefixLength}`, gateway: this.gateway, leases: {} };
  }

  /** The usable range as numbers [first, last], excluding network and (IPv4) broadcast addresses. */
  #range(): [bigint, bigint] {
    const net = ipToBigInt(this.subnet.bytes);
    const bcast = ipToBigInt(broadcastOf(this.subnet));
    const small = this.subnet.family === 4 ? this.subnet.prefixLength >= 31 : this.subnet.prefixLength >= 127;
    return small ? [net, bcast] : [net + 1n, this.subnet.family === 4 ? bcast - 1n : bcast];
  }

  #check(ip: string): string {
    const a = parseIP(ip);
    const text = formatIP(a.bytes);
    const [lo, hi] = this.#range();
    const n = ipToBigInt(a.bytes);
    if (!containsIP(this.subnet, a) || n < lo || n > hi) {
      throw new NetworkError('NETWORK_ADDRESS_OUT_OF_RANGE', this.#network, `${text} is not a usable address of ${formatIP(this.subnet.bytes)}/${this.subnet.prefixLength}`);
    }
    if (sameIP(a, parseIP(this.gateway))) throw new NetworkError('NETWORK_ADDRESS_IN_USE', this.#network, `${text} is the gateway of network ${this.#network}`);
    return text;
  }

  /**
   * allocate leases an address to `id`: `ip` when given (rejects `NETWORK_ADDRESS_IN_USE` when
   * another holder has it, `NETWORK_ADDRESS_OUT_OF_RANGE` when it is not in the subnet), else the
   * next free one (rejects `NETWORK_SUBNET_FULL`). Returns the address. Atomic, and durable unless made with `durable: false`.
   */
  async allocate(id: string, ip?: string): Promise<string> {
    return withLock(this.#lock, async () => {
      const f = this.#read();
      let chosen: string;
      if (ip !== undefined) {
        chosen = this.#check(ip);
        const held = f.leases[chosen];
        if (held && held.id !== id) throw new NetworkError('NETWORK_ADDRESS_IN_USE', this.#network, `${chosen} is already leased (to ${held.id}) in network ${this.#network}`);
      } else {
        const [lo, hi] = this.#range();
        const gw = ipToBigInt(parseIP(this.gateway).bytes);
        const size = hi - lo + 1n;
        const start = f.last !== undefined ? ipToBigInt(parseIP(f.last).bytes) + 1n : lo;
        const len = this.subnet.bytes.length;
        let found: string | undefined;
        // Walk at most the whole range once; leases are a map, so each probe is O(1).
        const limit = size < 1n << 20n ? size : 1n << 20n;
        for (let i = 0n; i < limit; i++) {
          let n = start + i;
          if (n > hi || n < lo) n = lo + ((n - lo) % size + size) % size;
          if (n === gw) continue;
          const text = formatIP(bigIntToIP(n, len));
          if (!f.leases[text]) {
            found = text;
            break;
          }
        }
        if (found === undefined) throw new NetworkError('NETWORK_SUBNET_FULL', this.#network, `no free address left in ${formatIP(this.subnet.bytes)}/${this.subnet.prefixLength} of network ${this.#network}`);
        chosen = found;
        f.last = chosen;
      }
      f.leases[chosen] = { ip: chosen, id, at: new Date().toISOString() };
      await writeJsonAtomic(this.#file, f, { durable: this.#durable });
      return chosen;
    });
  }

  /** release frees the address(es) held by `id` (and/or the address `ip`). Idempotent. */
  async release(sel: { id?: string; ip?: string }): Promise<void> {
    await withLock(this.#lock, async () => {
      const f = this.#read();
      let changed = false;
      for (const [k, l] of Object.entries(f.leases)) {
        if ((sel.id !== undefined && l.id === sel.id) || (sel.ip !== undefined && k === formatIP(parseIP(sel.ip).bytes))) {
          delete f.leases[k];
          changed = true;
        }
      }
      if (changed) await writeJsonAtomic(this.#file, f, { durable: this.#durable });
    });
  }

  /** leases lists the current leases, sorted by address. */
  leases(): Lease[] {
    return Object.values(this.#read().leases).sort((a, b) => (ipToBigInt(parseIP(a.ip).bytes) < ipToBigInt(parseIP(b.ip).bytes) ? -1 : 1));
  }
}
