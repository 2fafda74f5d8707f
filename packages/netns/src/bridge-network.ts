/**
 * BridgeNetwork: the docker0 model. A Linux bridge with the gateway address, IPAM over a subnet,
 * veth pairs into container namespaces, outbound NAT, published ports (DNAT + a userland proxy
 * for loopback), all recorded under a state directory so that a later process can pick the
 * network up again (or delete it).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NetlinkError, NetworkError } from './errors.js';
import { createFirewall, type CommandRunner, type Firewall, type FirewallBackend, type PortRule } from './firewall.js';
import { Ipam } from './ipam.js';
import { formatIP, networkOf, parseIP, parsePrefix, bigIntToIP, ipToBigInt, formatMAC, type IPPrefix } from './ip.js';
import { validateIfname } from './links.js';
import { Netlink } from './netlink.js';
import { Netns, type NetnsRef } from './netns.js';
import { parsePortSpec, type PortSpec, type PublishedPort } from './ports.js';
import { startProxy, type PortProxy } from './proxy.js';
import { readJson, writeJsonAtomic } from './state.js';

/** BridgeNetworkOptions: options of {@link BridgeNetwork.create}. */
export interface BridgeNetworkOptions {
  /** Network name (`docker network create NAME`): names the state directory and the nft table. */
  name: string;
  /** Bridge interface name (≤ 15 bytes); default `stratum0`. */
  bridge?: string;
  /** IPv4 subnet, e.g. `10.88.0.0/16`. */
  subnet: string;
  /** Gateway address on the bridge; default the first address of the subnet. */
  gateway?: string;
  /**
   * Root of the networks' state: this network keeps `STATE_DIR/NAME/`. Default
   * `$STRATUM_ROOT/networks`, else `~/.local/share/stratum/networks`.
   */
  stateDir?: string;
  /** Masquerade traffic leaving the subnet by another interface (default true). */
  nat?: boolean;
  /** Also IPv6 on the bridge: its subnet (e.g. `fd88::/64`) and gateway (default `::1` of it). */
  ipv6?: { subnet: string; gateway?: string };
  /** MTU of the bridge and the veths (default: the kernel's, 1500). */
  mtu?: number;
  /** Which tool enforces NAT and DNAT (default `auto`: nftables, else iptables, else none). */
  firewall?: FirewallBackend | 'auto';
  /** Set net.ipv4.ip_forward=1 (and IPv6 forwarding when `ipv6`) as Docker does (default true). */
  ipForward?: boolean;
  /** Serve published ports on loopback through a proxy in this process (default true). */
  userlandProxy?: boolean;
  /** How firewall commands run (default: child processes in this process's namespace). */
  runCommand?: CommandRunner;
}

/** AttachOptions: options of {@link BridgeNetwork.attach}. */
export interface AttachOptions {
  /** A specific IPv4 address from the subnet; default the next free one. */
  ip?: string;
  /** A specific IPv6 address (with `ipv6` networks). */
  ipv6?: string;
  /** Interface name inside the namespace; default `eth0`. */
  ifname?: string;
  /** Published ports (`-p HOST:CONTAINER[/udp]`). */
  ports?: PortSpec[];
  /** MAC address; default `02:42:` + the IPv4 address, as Docker. */
  mac?: string;
  /** A name for inspect output (the container's name). */
  name?: string;
}

/** DetachOptions: options of {@link BridgeNetwork.detach}. */
export interface DetachOptions {
  /**
   * The caller has let go of the endpoint's namespace for good (its processes have exited and
   * no handle, fd or mount holds it any more): the kernel deletes the veth pair as it frees the
   * namespace, so detach leaves the pair to it instead of deleting it a second time and waiting
   * for the RCU grace periods a link deletion takes (30–40 ms per `ip link del` on some VMs).
   * The host end may then be listed for a moment after detach resolves. Wrong when anything
   * still holds the namespace: its veth would stay on the bridge after its address was freed.
   */
  namespaceReleased?: boolean;
}

/** AttachedPort: a resolved published port of an attachment. */
export type AttachedPort = Required<PublishedPort>;

/** Attachment: what {@link BridgeNetwork.attach} made: one container's endpoint on the network. */
export interface Attachment {
  /** Endpoint id (hex). */
  readonly id: string;
  readonly network: string;
  readonly name?: string;
  /** The namespace path as given/recorded (for inspect and recovery). */
  readonly netnsPath: string;
  /** Interface inside the namespace (`eth0`). */
  readonly ifname: string;
  /** Host end of the veth pair (enslaved to the bridge). */
  readonly hostIfname: string;
  /** IPv4 address (no prefix) and with prefix. */
  readonly ip: string;
  readonly cidr: string;
  readonly ipv6?: string;
  readonly cidr6?: string;
  readonly mac: string;
  readonly gateway: string;
  readonly gateway6?: string;
  readonly ports: AttachedPort[];
}

/** NetworkInspect: `docker network inspect`-shaped description of a network. */
export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge';
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Config: Array<{ Subnet: string; Gateway: string }> };
  Options: Record<string, string>;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string; Ports: AttachedPort[] }>;
  /** Which tool enforces NAT/DNAT (`nftables`, `iptables`, `none`) and where its rules are. */
  Firewall: { Backend: FirewallBackend; Location: string };
  StateDir: string;
}

interface NetworkRecord {
  name: string;
  id: string;
  created: string;
  bridge: string;
  subnet: string;
  gateway: string;
  ipv6?: { subnet: string; gateway: string };
  nat: boolean;
  mtu?: number;
  firewall: FirewallBackend;
}

/** defaultStateDir: `$STRATUM_ROOT/networks` or `~/.local/share/stratum/networks`. */
export function defaultStateDir(): string {
  return join(process.env.STRATUM_ROOT ?? join(homedir(), '.local', 'share', 'stratum'), 'networks');
}

function checkNetworkName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new TypeError(`invalid network name ${JSON.stringify(name)}: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit`);
  }
  return name;
}

function firstHost(p: IPPrefix): string {
  return formatIP(bigIntToIP(ipToBigInt(networkOf(p).bytes) + 1n, p.bytes.length));
}

function writeSysctl(path: string, value: string): void {
  writeFileSync(path, value);
}

/**
 * BridgeNetwork is one bridge network (the docker0 model). Create it with
 * {@link BridgeNetwork.create}; `[Symbol.asyncDispose]` deletes it (bridge, rules, leases, state);
 * {@link BridgeNetwork.close} only lets go of it (kernel objects and state stay for a later
 * `create` with the same name to pick up).
 */
export class BridgeNetwork implements AsyncDisposable {
  readonly name: string;
  readonly bridge: string;
  /** IPv4 subnet (network address / length). */
  readonly subnet: string;
  readonly gateway: string;
  readonly ipv6?: { subnet: string; gateway: string };
  readonly nat: boolean;
  /** This network's state directory (`STATE_DIR/NAME`). */
  readonly dir: string;
  /** The firewall backend in use. */
  readonly firewall: FirewallBackend;
  readonly #rec: NetworkRecord;
  readonly #nl: Netlink;
  readonly #fw: Firewall;
  readonly #ipam: Ipam;
  readonly #ipam6: Ipam | undefined;
  readonly #proxies = new Map<string, PortProxy[]>();
  readonly #userlandProxy: boolean;
  #attachments = new Map<string, Attachment>();
  #closed = false;

  private constructor(rec: NetworkRecord, dir: string, nl: Netlink, fw: Firewall, userlandProxy: boolean) {
    this.#rec = rec;
    this.name = rec.name;
    this.bridge = rec.bridge;
    this.subnet = rec.subnet;
    this.gateway = rec.gateway;
    if (rec.ipv6) this.ipv6 = rec.ipv6;
    this.nat = rec.nat;
    this.dir = dir;
    this.firewall = fw.backend;
    this.#nl = nl;
    this.#fw = fw;
    this.#userlandProxy = userlandProxy;
    this.#ipam = new Ipam({ subnet: rec.subnet, gateway: rec.gateway, file: join(dir, 'ipam.json'), lock: join(dir, 'ipam.lock'), network: rec.name, durable: false });
    if (rec.ipv6) this.#ipam6 = new Ipam({ subnet: rec.ipv6.subnet, gateway: rec.ipv6.gateway, file: join(dir, 'ipam6.json'), lock: join(dir, 'ipam.lock'), network: rec.name, durable: false });
  }

  /**
   * BridgeNetwork.create makes the network, or picks it up when it exists (idempotent, like
   * Docker's daemon restoring `docker0`): the bridge with the gateway address, up; forwarding on;
   * the NAT rules (re)installed atomically; attachments recorded by an earlier process restored
   * (their port rules and proxies) or, when their veth is gone, released. Rejects with
   * {@link NetworkError} `NETWORK_CONFLICT` when the recorded network or an existing interface
   * disagrees with the options.
   */
  static async create(opts: BridgeNetworkOptions): Promise<BridgeNetwork> {
    if (opts === null || typeof opts !== 'object') throw new TypeError('BridgeNetwork.create: options required');
    const name = checkNetworkName(opts.name);
    const bridge = validateIfname(opts.bridge ?? 'stratum0', 'bridge name');
    const sub = parsePrefix(opts.subnet);
    if (sub.family !== 4) throw new TypeError(`BridgeNetwork: subnet ${opts.subnet} must be IPv4 (IPv6 goes in the ipv6 option)`);
    if (sub.prefixLength > 30) throw new TypeError(`BridgeNetwork: subnet ${opts.subnet} is too small (at most /30)`);
    const subnet = `${formatIP(networkOf(sub).bytes)}/${sub.prefixLength}`;
    const gateway = opts.gateway !== undefined ? formatIP(parseIP(opts.gateway).bytes) : firstHost(sub);
    let ipv6: { subnet: string; gateway: string } | undefined;
    if (opts.ipv6) {
      const s6 = parsePrefix(opts.ipv6.subnet);
      if (s6.family !== 6) throw new TypeError(`BridgeNetwork: ipv6.subnet ${opts.ipv6.subnet} must be IPv6`);
      ipv6 = { subnet: `${formatIP(networkOf(s6).bytes)}/${s6.prefixLength}`, gateway: opts.ipv6.gateway !== undefined ? formatIP(parseIP(opts.ipv6.gateway).bytes) : firstHost(s6) };
    }
    if (opts.mtu !== undefined && (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > 65535)) throw new TypeError(`BridgeNetwork: invalid mtu ${opts.mtu}`);
    const nat = opts.nat ?? true;
    const dir = join(opts.stateDir ?? defaultStateDir(), name);
    mkdirSync(join(dir, 'attachments'), { recursive: true, mode: 0o700 });

    const recordFile = join(dir, 'network.json');
    const old = readJson<NetworkRecord>(recordFile);
    if (old && (old.subnet !== subnet || old.bridge !== bridge || old.gateway !== gateway)) {
      throw new NetworkError('NETWORK_CONFLICT', name, `network ${name} exists with bridge ${old.bridge}, subnet ${old.subnet}, gateway ${old.gateway} (state in ${dir}); delete it first`);
    }
    const fw = createFirewall(opts.firewall ?? (old?.firewall as FirewallBackend | undefined) ?? 'auto', { name, bridge, subnet, ...(ipv6 ? { subnet6: ipv6.subnet } : {}), nat }, opts.runCommand);
    if (nat && fw.backend === 'none' && (opts.firewall ?? 'auto') === 'auto') {
      throw new NetworkError('NETWORK_FIREWALL', name, 'NAT needs nftables (Debian package nftables) or iptables; install one, or pass nat: false / firewall: "none"');
    }
    const rec: NetworkRecord = {
      name,
      id: old?.id ?? randomBytes(32).toString('hex'),
      created: old?.created ?? new Date().toISOString(),
      bridge,
      subnet,
      gateway,
      ...(ipv6 ? { ipv6 } : {}),
      nat,
      ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
      firewall: fw.backend,
    };
    const nl = await Netlink.open();
    const net = new BridgeNetwork(rec, dir, nl, fw, opts.userlandProxy ?? true);
    try {
      await writeJsonAtomic(recordFile, rec);
      await net.#ensureBridge(opts.mtu);
      if (opts.ipForward ?? true) {
        writeSysctl('/proc/sys/net/ipv4/ip_forward', '1');
        if (ipv6) writeSysctl('/proc/sys/net/ipv6/conf/all/forwarding', '1');
      }
      await net.#restore();
    } catch (e) {
      nl.close();
      throw e;
    }
    return net;
  }

  async #ensureBridge(mtu: number | undefined): Promise<void> {
    const links = this.#nl.links;
    let br = await links.find(this.bridge);
    if (br && br.kind !== 'bridge') throw new NetworkError('NETWORK_CONFLICT', this.name, `${this.bridge} exists and is a ${br.kind ?? 'physical'} interface, not a bridge`);
    if (!br) {
      try {
        await links.add({ kind: 'bridge', name: this.bridge, ...(mtu !== undefined ? { mtu } : {}) });
      } catch (e) {
        if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e; // raced with another creator
      }
      br = await links.get(this.bridge);
    }
    const want = [`${this.gateway}/${this.subnet.split('/')[1]}`];
    if (this.ipv6) want.push(`${this.ipv6.gateway}/${this.ipv6.subnet.split('/')[1]}`);
    const have = new Set((await this.#nl.addresses.list({ link: br.index })).map((a) => a.cidr));
    for (const cidr of want) {
      if (!have.has(cidr)) await this.#nl.addresses.add(br.index, cidr, { replace: true, ...(cidr.includes(':') ? { noDad: true } : {}) });
    }
    if (!br.up) await links.setUp(br.index);
  }

  /** Reads recorded attachments: live ones get rules and proxies back, dead ones are released. */
  async #restore(): Promise<void> {
    const dir = join(this.dir, 'attachments');
    const live: Attachment[] = [];
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      const a = readJson<Attachment>(join(dir, f), { volatile: true });
      if (!a) {
        // Torn by a power loss: its endpoint went with the reboot.
        rmSync(join(dir, f), { force: true });
        continue;
      }
      if (await this.#nl.links.find(a.hostIfname)) live.push(a);
      else await this.#forget(a);
    }
    await this.#fw.setup(live.flatMap((a) => this.#rules(a)));
    for (const a of live) {
      this.#attachments.set(a.id, a);
      try {
        await this.#startProxies(a);
      } catch (e) {
        // Another live process that attached the endpoint still serves its loopback ports.
        if ((e as { code?: string }).code !== 'EADDRINUSE') throw e;
      }
    }
  }

  #rules(a: Attachment): PortRule[] {
    return a.ports.map((p) => ({ id: a.id, protocol: p.protocol, hostIp: p.hostIp, hostPort: p.host, targetIp: a.ip, targetPort: p.container }));
  }

  async #startProxies(a: Attachment): Promise<void> {
    if (!this.#userlandProxy) return;
    const started: PortProxy[] = [];
    try {
      for (const p of a.ports) {
        // Loopback is what DNAT cannot reach (without route_localnet): the proxy serves it.
        const v4 = p.hostIp === '0.0.0.0' ? '127.0.0.1' : p.hostIp;
        if (!v4.startsWith('127.')) continue;
        started.push(await startProxy({ protocol: p.protocol, hostIp: v4, hostPort: p.host, targetIp: a.ip, targetPort: p.container }));
      }
    } catch (e) {
      await Promise.all(started.map((s) => s.close()));
      throw e;
    }
    this.#proxies.set(a.id, started);
  }

  async #stopProxies(id: string): Promise<void> {
    const ps = this.#proxies.get(id) ?? [];
    this.#proxies.delete(id);
    await Promise.all(ps.map((p) => p.close()));
  }

  async #forget(a: Attachment): Promise<void> {
    await this.#ipam.release({ id: a.id });
    await this.#ipam6?.release({ id: a.id });
    rmSync(join(this.dir, 'attachments', `${a.id}.json`), { force: true });
  }

  #check(): void {
    if (this.#closed) throw new NetworkError('NETWORK_CLOSED', this.name, `network ${this.name}: this handle is closed`);
  }

  /**
   * attach connects a network namespace, like Docker connecting a container: a veth pair with the
   * host end on the bridge and the other end created directly in `netns` as `eth0` (with a MAC
   * derived from the address), the address from IPAM, `lo` and `eth0` up, a default route via the
   * gateway; then the published ports' DNAT rules and loopback proxies. On failure everything done
   * so far is undone. Rejects with {@link NetworkError} (`NETWORK_ADDRESS_IN_USE`,
   * `NETWORK_SUBNET_FULL` …), NetlinkError (`EEXIST` when the namespace already has the
   * interface) or the proxy's listen error (`EADDRINUSE`).
   */
  async attach(netns: NetnsRef, opts: AttachOptions = {}): Promise<Attachment> {
    this.#check();
    const ifname = validateIfname(opts.ifname ?? 'eth0');
    const ports = (opts.ports ?? []).map(parsePortSpec);
    const ns = netns instanceof Netns ? netns : typeof netns === 'string' ? await Netns.open(netns) : undefined;
    const nsPath = netns instanceof Netns ? netns.path : typeof netns === 'string' ? ns!.path : `/proc/${process.pid}/fd/${netns}`;
    const nsRef: NetnsRef = ns ?? netns;
    const id = randomBytes(16).toString('hex');
    const hostIfname = `stv${id.slice(0, 10)}`;
    const undo: Array<() => Promise<void>> = [];
    try {
      const ip = await this.#ipam.allocate(id, opts.ip);
      undo.push(() => this.#ipam.release({ id }));
      let ip6: string | undefined;
      if (this.#ipam6) {
        ip6 = await this.#ipam6.allocate(id, opts.ipv6);
        undo.push(async () => this.#ipam6!.release({ id }));
      }
      const len = this.subnet.split('/')[1]!;
      const mac = opts.mac ?? formatMAC(Uint8Array.from([0x02, 0x42, ...parseIP(ip).bytes]));
      const mtu = this.#rec.mtu;
      await this.#nl.links.add({
        kind: 'veth',
        name: hostIfname,
        master: this.bridge,
        up: true,
        ...(mtu !== undefined ? { mtu } : {}),
        peer: { name: ifname, netns: nsRef, mac, ...(mtu !== undefined ? { mtu } : {}) },
      });
      undo.push(() => this.#nl.links.delete(hostIfname).catch(() => undefined));
      {
        using inside = await Netlink.open({ netns: nsRef });
        await inside.links.setUp('lo');
        await inside.addresses.add(ifname, `${ip}/${len}`);
        if (ip6) await inside.addresses.add(ifname, `${ip6}/${this.ipv6!.subnet.split('/')[1]}`, { noDad: true });
        await inside.links.setUp(ifname);
        await inside.routes.add({ dst: 'default', gateway: this.gateway });
        if (ip6) await inside.routes.add({ dst: 'default', gateway: this.ipv6!.gateway });
      }
      const a: Attachment = {
        id,
        network: this.name,
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        netnsPath: nsPath,
        ifname,
        hostIfname,
        ip,
        cidr: `${ip}/${len}`,
        ...(ip6 ? { ipv6: ip6, cidr6: `${ip6}/${this.ipv6!.subnet.split('/')[1]}`, gateway6: this.ipv6!.gateway } : {}),
        mac,
        gateway: this.gateway,
        ports,
      };
      if (ports.length) {
        await this.#fw.addPorts(this.#rules(a));
        undo.push(() => this.#fw.removePorts(this.#rules(a)));
        await this.#startProxies(a);
        undo.push(() => this.#stopProxies(id));
      }
      await writeJsonAtomic(join(this.dir, 'attachments', `${id}.json`), a, { durable: false });
      this.#attachments.set(id, a);
      return a;
    } catch (e) {
      for (const u of undo.reverse()) await u().catch(() => undefined);
      throw e;
    } finally {
      if (ns && !(netns instanceof Netns)) ns.close();
    }
  }

  /**
   * detach undoes {@link BridgeNetwork.attach}: stops the proxies, removes the port rules,
   * deletes the veth pair (both ends) and frees the addresses. Idempotent: a namespace that is
   * already gone (taking its veth with it) is fine. With `namespaceReleased` the veth pair is
   * left to the kernel's teardown of the namespace (see {@link DetachOptions}).
   */
  async detach(attachment: Attachment | string, opts: DetachOptions = {}): Promise<void> {
    this.#check();
    const id = typeof attachment === 'string' ? attachment : attachment.id;
    const a = this.#attachments.get(id) ?? readJson<Attachment>(join(this.dir, 'attachments', `${id}.json`), { volatile: true }) ?? (typeof attachment === 'object' ? attachment : undefined);
    if (!a) return;
    await this.#stopProxies(id);
    await this.#fw.removePorts(this.#rules(a));
    if (!opts.namespaceReleased) {
      try {
        await this.#nl.links.delete(a.hostIfname);
      } catch (e) {
        if (!(e instanceof NetlinkError && e.code === 'ENODEV')) throw e;
      }
    }
    await this.#forget(a);
    this.#attachments.delete(id);
  }

  /** attachments lists the endpoints this handle knows (restored ones included). */
  attachments(): Attachment[] {
    return [...this.#attachments.values()];
  }

  /** leases lists IPAM's current IPv4 leases. */
  leases(): Array<{ ip: string; id: string }> {
    return this.#ipam.leases().map((l) => ({ ip: l.ip, id: l.id }));
  }

  /** inspect describes the network like `docker network inspect NAME` (plus the firewall in use). */
  inspect(): NetworkInspect {
    const containers: NetworkInspect['Containers'] = {};
    for (const a of this.#attachments.values()) {
      containers[a.id] = { Name: a.name ?? a.netnsPath, EndpointID: a.id, MacAddress: a.mac, IPv4Address: a.cidr, IPv6Address: a.cidr6 ?? '', Ports: a.ports };
    }
    const config = [{ Subnet: this.subnet, Gateway: this.gateway }];
    if (this.ipv6) config.push({ Subnet: this.ipv6.subnet, Gateway: this.ipv6.gateway });
    return {
      Name: this.name,
      Id: this.#rec.id,
      Created: this.#rec.created,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: this.ipv6 !== undefined,
      IPAM: { Driver: 'default', Config: config },
      Options: {
        'com.docker.network.bridge.name': this.bridge,
        'com.docker.network.bridge.enable_ip_masquerade': String(this.nat),
        ...(this.#rec.mtu !== undefined ? { 'com.docker.network.driver.mtu': String(this.#rec.mtu) } : {}),
      },
      Containers: containers,
      Firewall: { Backend: this.#fw.backend, Location: this.#fw.location },
      StateDir: this.dir,
    };
  }

  /**
   * delete removes the network: every attachment (veths, rules, proxies, leases), the firewall
   * rules, the bridge and the state directory, like `docker network rm` (which refuses while
   * containers are connected; this detaches them). Idempotent per handle.
   */
  async delete(): Promise<void> {
    if (this.#closed) return;
    const ids = new Set([...this.#attachments.keys()]);
    for (const f of readdirSync(join(this.dir, 'attachments')).filter((x) => x.endsWith('.json'))) ids.add(f.slice(0, -5));
    for (const id of ids) await this.detach(id);
    await this.#fw.teardown();
    try {
      await this.#nl.links.delete(this.bridge);
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'ENODEV')) throw e;
    }
    rmSync(this.dir, { recursive: true, force: true });
    await this.close();
  }

  /** close stops the proxies and lets go of the handle; the network stays (kernel objects and state). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#proxies.keys()].map((id) => this.#stopProxies(id)));
    this.#nl.close();
  }

  /** Deletes the network: for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete();
  }
}
