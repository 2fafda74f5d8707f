/**
 * The bridge networks a runtime knows: the default one (`bridge`, interface `stratum0`,
 * 10.88.0.0/16, made on first use like docker0) and user-defined ones (`docker network create`),
 * recorded under `<root>/netconf/<name>.json` and realized by @stratum/netns's BridgeNetwork
 * (whose own state lives in `<root>/networks/<name>/`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BridgeNetwork, type NetworkInspect } from '@stratum/netns';
import { ContainerError } from './errors.js';
import { readJson, withLock, writeJsonAtomic } from './fsutil.js';

/** NetworkConfig: a bridge network's settings (`docker network create --subnet … NAME`). */
export interface NetworkConfig {
  name: string;
  /** Bridge interface (≤ 15 bytes); default `stratum-` + 7 hex of the name's hash (the default network: `stratum0`). */
  bridge?: string;
  /** IPv4 subnet; default the next free 10.89.N.0/24 … for user networks. */
  subnet?: string;
  gateway?: string;
  /** Outbound NAT (default true). */
  nat?: boolean;
}

/** NetworkNotFoundError: no network of this name (`docker network inspect X`: no such network). */
export class NetworkNotFoundError extends ContainerError {
  readonly network: string;
  constructor(name: string) {
    super('NETWORK_NOT_FOUND', `network ${name} not found`);
    this.network = name;
  }
}

/** NetworkExistsError: `network create` of a name already taken. */
export class NetworkExistsError extends ContainerError {
  readonly network: string;
  constructor(name: string) {
    super('NETWORK_EXISTS', `network with name ${name} already exists`);
    this.network = name;
  }
}

/** NetworkInUseError: `network rm` while containers are attached. */
export class NetworkInUseError extends ContainerError {
  readonly network: string;
  readonly endpoints: string[];
  constructor(name: string, endpoints: string[]) {
    super('NETWORK_IN_USE', `network ${name} has active endpoints (${endpoints.join(', ')})`);
    this.network = name;
    this.endpoints = endpoints;
  }
}

/** DEFAULT_NETWORK: the default bridge network's settings. */
export const DEFAULT_NETWORK: Readonly<Required<Omit<NetworkConfig, 'gateway'>>> = Object.freeze({ name: 'bridge', bridge: 'stratum0', subnet: '10.88.0.0/16', nat: true });

interface Stored extends Required<Omit<NetworkConfig, 'gateway'>> {
  gateway?: string;
  created: string;
}

/** Networks manages a runtime's bridge networks and keeps one open handle per network in this process. */
export class Networks {
  readonly #dir: string;
  readonly #stateDir: string;
  readonly #default: Stored;
  readonly #open = new Map<string, Promise<BridgeNetwork>>();

  constructor(root: string, defaults: NetworkConfig | undefined) {
    this.#dir = join(root, 'netconf');
    this.#stateDir = join(root, 'networks');
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    this.#default = { ...DEFAULT_NETWORK, ...(defaults ?? {}), created: '' } as Stored;
  }

  /** The default network's name. */
  get defaultName(): string {
    return this.#default.name;
  }

  #file(name: string): string {
    return join(this.#dir, `${name}.json`);
  }

  /** config returns a network's recorded settings (the default network's even before first use). */
  config(name: string): Stored {
    const s = readJson<Stored>(this.#file(name));
    if (s) return s;
    if (name === this.#default.name) return this.#default;
    throw new NetworkNotFoundError(name);
  }

  /** names lists the networks: the default one and the recorded ones. */
  names(): string[] {
    const out = new Set([this.#default.name]);
    for (const f of readdirSync(this.#dir)) if (f.endsWith('.json')) out.add(f.slice(0, -5));
    return [...out].sort();
  }

  /** has is true for the default network and every recorded one. */
  has(name: string): boolean {
    return name === this.#default.name || readJson(this.#file(name)) !== undefined;
  }

  /**
   * create records and makes a user-defined bridge network (`docker network create`):
   * NetworkExistsError when the name is taken. The subnet defaults to the first 10.89.N.0/24 no
   * recorded network uses.
   */
  async create(cfg: NetworkConfig): Promise<BridgeNetwork> {
    if (cfg === null || typeof cfg !== 'object' || typeof cfg.name !== 'string') throw new TypeError('network config needs a name');
    return withLock(join(this.#dir, '.lock'), async () => {
      if (this.has(cfg.name)) throw new NetworkExistsError(cfg.name);
      const used = new Set(this.names().map((n) => this.config(n).subnet));
      let subnet = cfg.subnet;
      for (let i = 0; subnet === undefined && i < 256; i++) if (!used.has(`10.89.${i}.0/24`)) subnet = `10.89.${i}.0/24`;
      if (subnet === undefined) throw new TypeError('no free subnet in 10.89.0.0/16: give one');
      const bridge = cfg.bridge ?? `stratum-${createHash('sha256').update(cfg.name).digest('hex').slice(0, 7)}`;
      const rec: Stored = { name: cfg.name, bridge, subnet, nat: cfg.nat ?? true, created: new Date().toISOString(), ...(cfg.gateway ? { gateway: cfg.gateway } : {}) };
      const net = await this.#make(rec);
      writeJsonAtomic(this.#file(cfg.name), rec);
      this.#open.set(cfg.name, Promise.resolve(net));
      return net;
    });
  }

  #make(rec: Stored): Promise<BridgeNetwork> {
    return BridgeNetwork.create({ name: rec.name, bridge: rec.bridge, subnet: rec.subnet, ...(rec.gateway ? { gateway: rec.gateway } : {}), nat: rec.nat, stateDir: this.#stateDir });
  }

  /**
   * get returns this process's handle of a network, creating the default one on first use
   * (recording it, like docker0 appearing with the daemon). NetworkNotFoundError for an unknown
   * name.
   */
  get(name: string = this.#default.name): Promise<BridgeNetwork> {
    let p = this.#open.get(name);
    if (!p) {
      const rec = this.config(name);
      p = this.#make(rec).then((net) => {
        if (name === this.#default.name && readJson(this.#file(name)) === undefined) writeJsonAtomic(this.#file(name), { ...rec, created: new Date().toISOString() });
        return net;
      });
      this.#open.set(name, p);
      p.catch(() => this.#open.delete(name));
    }
    return p;
  }

  /** inspect describes a network like `docker network inspect`. */
  async inspect(name: string): Promise<NetworkInspect> {
    return (await this.get(name)).inspect();
  }

  /**
   * remove deletes a network (bridge, rules, state, record), like `docker network rm`;
   * NetworkInUseError while endpoints are attached unless `force`.
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (!this.has(name)) throw new NetworkNotFoundError(name);
    const net = await this.get(name);
    const live = net.attachments();
    if (live.length && !opts.force) throw new NetworkInUseError(name, live.map((a) => a.name ?? a.id));
    await net.delete();
    this.#open.delete(name);
    rmSync(this.#file(name), { force: true });
  }

  /** close lets go of every handle (stops this process's port proxies); networks stay. */
  async close(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    for (const p of all) {
      let net: BridgeNetwork;
      try {
        net = await p;
      } catch {
        continue; // it never opened
      }
      await net.close();
    }
  }
}
