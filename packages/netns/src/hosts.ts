/**
 * /etc/hosts and /etc/resolv.conf for a container, made the way Docker makes them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseIP } from './ip.js';

/** HostEntry: an extra /etc/hosts entry (`--add-host NAME:IP`). */
export interface HostEntry {
  host: string;
  ip: string;
}

/** HostsOptions: options of {@link generateHosts}. */
export interface HostsOptions {
  /** The container's hostname (and domain name, appended as `host.domain`). */
  hostname?: string;
  domainname?: string;
  /** The container's own addresses (its bridge IPv4/IPv6); each line gets the hostname. */
  ips?: string[];
  /** More names for the container's addresses (network aliases). */
  aliases?: string[];
  /** `--add-host` entries: `{ host, ip }` or `"host:ip"` (`host:[v6]` or `host:v6` too). */
  extraHosts?: Array<HostEntry | string>;
  /** What `host-gateway` in an extra host stands for (Docker: the bridge gateway). */
  hostGateway?: string;
  /** Write the IPv6 localhost lines (default true). */
  ipv6?: boolean;
}

/**
 * parseExtraHost parses a `--add-host` value `NAME:IP`: the first `:` separates (an IPv6 address
 * may keep its own colons, with or without brackets); `host-gateway` is left for the caller.
 * Throws TypeError when the value is malformed.
 */
export function parseExtraHost(s: string): HostEntry {
  const i = typeof s === 'string' ? s.indexOf(':') : -1;
  if (i <= 0 || i === s.length - 1) throw new TypeError(`invalid extra host ${JSON.stringify(s)}: expected NAME:IP`);
  const host = s.slice(0, i);
  let ip = s.slice(i + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== 'host-gateway') parseIP(ip);
  if (/\s/.test(host)) throw new TypeError(`invalid extra host name ${JSON.stringify(host)}`);
  return { host, ip };
}

/**
 * generateHosts returns the content of a container's /etc/hosts, like Docker's: the localhost
 * lines, then the `--add-host` entries, then the container's own addresses with its hostname.
 * Pure.
 */
export function generateHosts(opts: HostsOptions = {}): string {
  const lines = ['127.0.0.1\tlocalhost'];
  if (opts.ipv6 ?? true) {
    lines.push('::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters');
  }
  for (const e of opts.extraHosts ?? []) {
    const entry = typeof e === 'string' ? parseExtraHost(e) : e;
    let ip = entry.ip;
    if (ip === 'host-gateway') {
      if (opts.hostGateway === undefined) throw new TypeError(`extra host ${entry.host}: host-gateway needs the hostGateway option`);
      ip = opts.hostGateway;
    }
    parseIP(ip);
    lines.push(`${ip}\t${entry.host}`);
  }
  if (opts.hostname !== undefined && opts.ips?.length) {
    const names = [opts.domainname ? `${opts.hostname}.${opts.domainname} ${opts.hostname}` : opts.hostname, ...(opts.aliases ?? [])].join(' ');
    for (const ip of opts.ips) lines.push(`${ip}\t${names}`);
  }
  return `${lines.join('\n')}\n`;
}

/** ResolvConfOptions: options of {@link generateResolvConf}. */
export interface ResolvConfOptions {
  /** Nameservers to use (`--dns`); default: the host's, without loopback ones. */
  dns?: string[];
  /** Search domains (`--dns-search`); default: the host's. */
  search?: string[];
  /** Resolver options (`--dns-option`); default: the host's. */
  options?: string[];
  /**
   * The host's resolv.conf content; default: /etc/resolv.conf, or systemd-resolved's upstream
   * file when /etc/resolv.conf only names the 127.0.0.53 stub (as Docker does).
   */
  hostResolvConf?: string;
  /** Keep IPv6 nameservers (default false, as a container without IPv6 cannot reach them). */
  ipv6?: boolean;
}

/** ResolvConf: the parsed parts of a resolv.conf. */
export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** parseResolvConf reads `nameserver`, `search`/`domain` and `options` lines. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0].replace(/%.*/, ''));
    else if ((key === 'search' || key === 'domain') && rest.length) out.search = rest;
    else if (key === 'options' && rest.length) out.options.push(...rest);
  }
  return out;
}

function isLoopback(ip: string): boolean {
  try {
    const a = parseIP(ip);
    return a.family === 4 ? a.bytes[0] === 127 : a.bytes.every((b, i) => b === (i === 15 ? 1 : 0));
  } catch {
    return false;
  }
}

function hostResolvConf(): string {
  const etc = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
  const parsed = parseResolvConf(etc);
  const stubOnly = parsed.nameservers.length > 0 && parsed.nameservers.every((n) => n === '127.0.0.53');
  const upstream = '/run/systemd/resolve/resolv.conf';
  return stubOnly && existsSync(upstream) ? readFileSync(upstream, 'utf8') : etc;
}

/** DEFAULT_DNS: Docker's fallback when the host has no usable nameserver. */
export const DEFAULT_DNS = ['8.8.8.8', '8.8.4.4'];
/** DEFAULT_DNS6: Docker's IPv6 fallback nameservers. */
export const DEFAULT_DNS6 = ['2001:4860:4860::8888', '2001:4860:4860::8844'];

/**
 * generateResolvConf returns a container's /etc/resolv.conf: the given `dns`, or the host's
 * nameservers with loopback ones (127.0.0.0/8, ::1 — unreachable from another netns) filtered out
 * like Docker does, falling back to Google's public DNS when none is left; search domains and
 * options from the host unless given.
 */
export function generateResolvConf(opts: ResolvConfOptions = {}): string {
  const host = parseResolvConf(opts.hostResolvConf ?? hostResolvConf());
  let servers: string[];
  if (opts.dns?.length) {
    for (const d of opts.dns) parseIP(d);
    servers = opts.dns;
  } else {
    servers = host.nameservers.filter((n) => !isLoopback(n) && (opts.ipv6 || !n.includes(':')));
    if (servers.length === 0) servers = opts.ipv6 ? [...DEFAULT_DNS, ...DEFAULT_DNS6] : [...DEFAULT_DNS];
  }
  const search = opts.search ?? host.search;
  const options = opts.options ?? host.options;
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
