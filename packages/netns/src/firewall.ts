/**
 * NAT and published-port rules of a bridge network, through nftables (`nft -j -f FILE`, one JSON
 * transaction per change) or, where nft is missing, iptables (`iptables-restore --noflush`). Both
 * express the docker0 model:
 *
 * - outbound NAT: traffic from the subnet leaving by another interface is MASQUERADEd;
 * - published ports: traffic to a local address (PREROUTING, and OUTPUT except 127.0.0.0/8, which
 *   the userland proxy serves) on HOSTPORT is DNATed to CONTAINER_IP:PORT;
 * - hairpin: a container reaching a published port of the same bridge is masqueraded so that the
 *   answer comes back through the host;
 * - forwarding to and from the bridge is accepted (iptables only: an nftables accept cannot
 *   override another table's drop, so there is nothing useful to add there).
 *
 * The firewall is a command runner's client only: commands are built as data, so a test can run
 * them in a namespace of its own.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { NetworkError } from './errors.js';

/** CommandRunner: runs a command with optional stdin; resolves stdout, rejects with stderr on a non-zero exit. */
export type CommandRunner = (argv: string[], input?: string) => Promise<string>;

/**
 * runCommand: the default {@link CommandRunner}: a child process, no shell. A command that exits
 * without reading all of its stdin is judged by its exit status alone: the EPIPE of the write is
 * not an error (nor an uncaught exception).
 */
export const runCommand: CommandRunner = (argv, input) =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.on('error', () => undefined); // EPIPE: the exit status says what happened
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')}: exit ${code}: ${err.trim()}`))));
    child.stdin.end(input ?? '');
  });

/** PortRule: one published port as a DNAT rule. */
export interface PortRule {
  /** Attachment id owning the rule. */
  id: string;
  protocol: 'tcp' | 'udp';
  /** Host address the port is published on; undefined (or 0.0.0.0) = every local address. */
  hostIp?: string;
  hostPort: number;
  targetIp: string;
  targetPort: number;
}

/** FirewallNetwork: what a firewall backend needs to know about its network. */
export interface FirewallNetwork {
  name: string;
  bridge: string;
  subnet: string;
  subnet6?: string;
  nat: boolean;
}

/** FirewallBackend: which tool enforces the rules (`none`: no NAT and no DNAT; the userland proxy still serves loopback). */
export type FirewallBackend = 'nftables' | 'iptables' | 'none';

/** Firewall: a firewall backend for one network. */
export interface Firewall {
  readonly backend: FirewallBackend;
  /** Where the rules live: the nft table (`inet stratum_NAME`) or the iptables chain prefix. */
  readonly location: string;
  /** setup (re)creates every rule of the network atomically, including `ports`. Idempotent. */
  setup(ports: PortRule[]): Promise<void>;
  /** addPorts adds DNAT rules. */
  addPorts(ports: PortRule[]): Promise<void>;
  /** removePorts removes the rules of `ports` (all rules of their ids). Idempotent. */
  removePorts(ports: PortRule[]): Promise<void>;
  /** teardown removes every rule of the network. Idempotent. */
  teardown(): Promise<void>;
}

function which(name: string): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** detectFirewall picks nftables when `nft` is installed, else iptables, else none. */
export function detectFirewall(): FirewallBackend {
  if (which('nft')) return 'nftables';
  if (which('iptables')) return 'iptables';
  return 'none';
}

/**
 * nftTableName is the table of a network: `stratum_` + its bridge interface's name with
 * non-identifier bytes as `_`. Named after the bridge, not the network: the interface name is
 * unique on the host, while two state dirs may each have a network called `bridge`.
 */
export function nftTableName(bridge: string): string {
  return `stratum_${bridge.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function prefixOf(cidr: string): { addr: string; len: number } {
  const [addr, len] = cidr.split('/');
  return { addr: addr!, len: Number(len) };
}

const anyHost = (ip: string | undefined): boolean => ip === undefined || ip === '0.0.0.0' || ip === '';

/** NftablesFirewall: firewall through nftables: one `inet` table per network, changed in JSON transactions. */
export class NftablesFirewall implements Firewall {
  readonly backend = 'nftables' as const;
  readonly location: string;
  readonly #net: FirewallNetwork;
  readonly #run: CommandRunner;
  readonly #table: string;

  constructor(net: FirewallNetwork, run: CommandRunner = runCommand) {
    this.#net = net;
    this.#run = run;
    this.#table = nftTableName(net.bridge);
    this.location = `inet ${this.#table}`;
  }

  async #apply(commands: unknown[]): Promise<void> {
    // `nft -f -` cannot read Node's stdio (a socketpair: opening /dev/stdin fails with ENXIO), so
    // the transaction goes through a private temp file.
    const file = join(tmpdir(), `stratum-nft-${process.pid}-${randomBytes(6).toString('hex')}.json`);
    writeFileSync(file, JSON.stringify({ nftables: commands }), { mode: 0o600, flag: 'wx' });
    try {
      await this.#run(['nft', '-j', '-f', file]);
    } catch (e) {
      throw new NetworkError('NETWORK_FIREWALL', this.#net.name, `nft failed for network ${this.#net.name}: ${(e as Error).message}`, { cause: e });
    } finally {
      rmSync(file, { force: true });
    }
  }

  #t(): { family: 'inet'; table: string } {
    return { family: 'inet', table: this.#table };
  }

  /** The base ruleset as nft JSON commands (exported for tests through {@link NftablesFirewall.commands}). */
  commands(ports: PortRule[]): unknown[] {
    const t = this.#t();
    const name = { family: 'inet', name: this.#table };
    const br = this.#net.bridge;
    const meta = (key: string, op: string, right: unknown): unknown => ({ match: { op, left: { meta: { key } }, right } });
    const cmds: unknown[] = [
      // add + delete + add: replaces an existing table in the same transaction.
      { add: { table: name } },
      { delete: { table: name } },
      { add: { table: name } },
      { add: { chain: { ...t, name: 'prerouting', type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } } },
      { add: { chain: { ...t, name: 'output', type: 'nat', hook: 'output', prio: -100, policy: 'accept' } } },
      { add: { chain: { ...t, name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } } },
      { add: { chain: { ...t, name: 'ports' } } },
      { add: { rule: { ...t, chain: 'prerouting', expr: [{ match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } }, { jump: { target: 'ports' } }] } } },
      {
        add: {
          rule: {
            ...t,
            chain: 'output',
            expr: [
              { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr: '127.0.0.0', len: 8 } } } },
              { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
              { jump: { target: 'ports' } },
            ],
          },
        },
      },
      // Hairpin: container → published port of a container on the same bridge.
      { add: { rule: { ...t, chain: 'postrouting', expr: [meta('iifname', '==', br), meta('oifname', '==', br), { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } }, { masquerade: null }] } } },
    ];
    if (this.#net.nat) {
      cmds.push({ add: { rule: { ...t, chain: 'postrouting', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: prefixOf(this.#net.subnet) } } }, meta('oifname', '!=', br), { masquerade: null }] } } });
      if (this.#net.subnet6) {
        cmds.push({ add: { rule: { ...t, chain: 'postrouting', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip6', field: 'saddr' } }, right: { prefix: prefixOf(this.#net.subnet6) } } }, meta('oifname', '!=', br), { masquerade: null }] } } });
      }
    }
    cmds.push(...this.#portCommands(ports));
    return cmds;
  }

  #portCommands(ports: PortRule[]): unknown[] {
    const t = this.#t();
    return ports.map((p) => ({
      add: {
        rule: {
          ...t,
          chain: 'ports',
          comment: `stratum:${p.id}`,
          expr: [
            ...(anyHost(p.hostIp) ? [] : [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: p.hostIp } }]),
            { match: { op: '==', left: { payload: { protocol: p.protocol, field: 'dport' } }, right: p.hostPort } },
            { dnat: { family: 'ip', addr: p.targetIp, port: p.targetPort } },
          ],
        },
      },
    }));
  }

  async setup(ports: PortRule[]): Promise<void> {
    await this.#apply(this.commands(ports));
  }

  async addPorts(ports: PortRule[]): Promise<void> {
    if (ports.length) await this.#apply(this.#portCommands(ports));
  }

  async removePorts(ports: PortRule[]): Promise<void> {
    const ids = new Set(ports.map((p) => `stratum:${p.id}`));
    if (ids.size === 0) return;
    let listed: { nftables?: Array<{ rule?: { handle: number; comment?: string } }> };
    try {
      listed = JSON.parse(await this.#run(['nft', '-j', 'list', 'chain', 'inet', this.#table, 'ports'])) as typeof listed;
    } catch {
      return; // no table: nothing to remove
    }
    const handles = (listed.nftables ?? []).flatMap((x) => (x.rule && x.rule.comment !== undefined && ids.has(x.rule.comment) ? [x.rule.handle] : []));
    if (handles.length) await this.#apply(handles.map((handle) => ({ delete: { rule: { ...this.#t(), chain: 'ports', handle } } })));
  }

  async teardown(): Promise<void> {
    const name = { family: 'inet', name: this.#table };
    await this.#apply([{ add: { table: name } }, { delete: { table: name } }]);
  }
}

/**
 * IptablesFirewall: firewall through iptables (legacy or nft-backed): per-network chains in the nat table,
 * jumped to from PREROUTING/OUTPUT, and rules in POSTROUTING and FORWARD tagged with a comment.
 */
export class IptablesFirewall implements Firewall {
  readonly backend = 'iptables' as const;
  readonly location: string;
  readonly #net: FirewallNetwork;
  readonly #run: CommandRunner;
  readonly #chain: string;
  readonly #tag: string;

  constructor(net: FirewallNetwork, run: CommandRunner = runCommand) {
    this.#net = net;
    this.#run = run;
    // Chain names are limited to 28 characters: a hash keeps them unique and short.
    // Keyed by the bridge, unique on the host (network names are only unique per state dir).
    this.#chain = `STRATUM-${createHash('sha256').update(net.bridge).digest('hex').slice(0, 10)}`;
    this.#tag = `stratum:${net.bridge}`.slice(0, 255);
    this.location = `nat/${this.#chain}`;
  }

  /** The rules outside our own chain, as (table, chain, rule-spec) triples. */
  #hooks(): Array<[string, string, string[]]> {
    const br = this.#net.bridge;
    const c = ['-m', 'comment', '--comment', this.#tag];
    const out: Array<[string, string, string[]]> = [
      ['nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', ...c, '-j', this.#chain]],
      ['nat', 'OUTPUT', ['!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', ...c, '-j', this.#chain]],
      ['nat', 'POSTROUTING', ['-s', this.#net.subnet, '-o', br, '-m', 'conntrack', '--ctstate', 'DNAT', ...c, '-j', 'MASQUERADE']],
      ['filter', 'FORWARD', ['-o', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', ...c, '-j', 'ACCEPT']],
      ['filter', 'FORWARD', ['-o', br, '-m', 'conntrack', '--ctstate', 'DNAT', ...c, '-j', 'ACCEPT']],
      ['filter', 'FORWARD', ['-i', br, ...c, '-j', 'ACCEPT']],
    ];
    if (this.#net.nat) out.push(['nat', 'POSTROUTING', ['-s', this.#net.subnet, '!', '-o', br, ...c, '-j', 'MASQUERADE']]);
    return out;
  }

  #portSpec(p: PortRule): string[] {
    return [
      ...(anyHost(p.hostIp) ? [] : ['-d', `${p.hostIp}/32`]),
      '-p',
      p.protocol,
      '-m',
      p.protocol,
      '--dport',
      String(p.hostPort),
      '-m',
      'comment',
      '--comment',
      `stratum:${p.id}`,
      '-j',
      'DNAT',
      '--to-destination',
      `${p.targetIp}:${p.targetPort}`,
    ];
  }

  /** The iptables-restore script that creates everything (exported for tests). */
  script(ports: PortRule[]): string {
    const quote = (a: string): string => (/^[A-Za-z0-9_.:/,!+-]+$/.test(a) ? a : `"${a.replace(/["\\]/g, '\\$&')}"`);
    const lines: string[] = ['*nat', `:${this.#chain} - [0:0]`];
    for (const [table, chain, spec] of this.#hooks()) if (table === 'nat') lines.push(`-A ${chain} ${spec.map(quote).join(' ')}`);
    for (const p of ports) lines.push(`-A ${this.#chain} ${this.#portSpec(p).map(quote).join(' ')}`);
    lines.push('COMMIT', '*filter');
    for (const [table, chain, spec] of this.#hooks()) if (table === 'filter') lines.push(`-I ${chain} ${spec.map(quote).join(' ')}`);
    lines.push('COMMIT', '');
    return lines.join('\n');
  }

  async #ipt(args: string[], tolerate = false): Promise<void> {
    try {
      await this.#run(['iptables', '-w', ...args]);
    } catch (e) {
      if (!tolerate) throw new NetworkError('NETWORK_FIREWALL', this.#net.name, `iptables failed for network ${this.#net.name}: ${(e as Error).message}`, { cause: e });
    }
  }

  async setup(ports: PortRule[]): Promise<void> {
    await this.teardown();
    try {
      await this.#run(['iptables-restore', '--noflush', '-w'], this.script(ports));
    } catch (e) {
      throw new NetworkError('NETWORK_FIREWALL', this.#net.name, `iptables-restore failed for network ${this.#net.name}: ${(e as Error).message}`, { cause: e });
    }
  }

  async addPorts(ports: PortRule[]): Promise<void> {
    for (const p of ports) await this.#ipt(['-t', 'nat', '-A', this.#chain, ...this.#portSpec(p)]);
  }

  async removePorts(ports: PortRule[]): Promise<void> {
    for (const p of ports) await this.#ipt(['-t', 'nat', '-D', this.#chain, ...this.#portSpec(p)], true);
  }

  async teardown(): Promise<void> {
    // Every hook rule may be missing (a half-made setup): delete each, tolerating absence.
    for (const [table, chain, spec] of this.#hooks()) await this.#ipt(['-t', table, '-D', chain, ...spec], true);
    await this.#ipt(['-t', 'nat', '-F', this.#chain], true);
    await this.#ipt(['-t', 'nat', '-X', this.#chain], true);
  }
}

/** NoFirewall: no firewall: no NAT, no DNAT (published ports answer only on loopback through the proxy). */
export class NoFirewall implements Firewall {
  readonly backend = 'none' as const;
  readonly location = '';
  async setup(): Promise<void> {}
  async addPorts(): Promise<void> {}
  async removePorts(): Promise<void> {}
  async teardown(): Promise<void> {}
}

/** createFirewall returns the backend asked for (`auto`: {@link detectFirewall}). */
export function createFirewall(kind: FirewallBackend | 'auto', net: FirewallNetwork, run?: CommandRunner): Firewall {
  const k = kind === 'auto' ? detectFirewall() : kind;
  switch (k) {
    case 'nftables':
      return new NftablesFirewall(net, run);
    case 'iptables':
      return new IptablesFirewall(net, run);
    case 'none':
      return new NoFirewall();
    default:
      throw new TypeError(`unknown firewall backend ${JSON.stringify(kind)} (auto, nftables, iptables, none)`);
  }
}
