/**
 * Published ports (`-p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTO]`).
 */
import { parseIP } from './ip.js';

/** PublishedPort: a published port: container port `container` reachable on the host's `hostIp:host`. */
export interface PublishedPort {
  /** Host port. */
  host: number;
  /** Container port. */
  container: number;
  /** Default `tcp`. */
  protocol?: 'tcp' | 'udp';
  /** Host address to publish on; default every address (`0.0.0.0`). */
  hostIp?: string;
}

/** PortSpec: a port as given: an object or Docker's `-p` text. */
export type PortSpec = PublishedPort | string;

function port(s: string | number, what: string, input: unknown): number {
  const n = typeof s === 'number' ? s : /^\d{1,5}$/.test(s) ? Number(s) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new TypeError(`invalid published port ${JSON.stringify(input)}: ${what} must be 1-65535`);
  return n;
}

/**
 * parsePortSpec parses Docker's `-p` syntax: `8080:80`, `8080:80/udp`, `127.0.0.1:8080:80`,
 * `[::1]:8080:80/tcp`, or validates an object. Throws TypeError on malformed input.
 */
export function parsePortSpec(spec: PortSpec): Required<PublishedPort> {
  if (typeof spec === 'object' && spec !== null) {
    const protocol = spec.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') throw new TypeError(`invalid published port protocol ${JSON.stringify(protocol)} (tcp or udp)`);
    const hostIp = spec.hostIp ?? '0.0.0.0';
    parseIP(hostIp);
    return { host: port(spec.host, 'host', spec), container: port(spec.container, 'container', spec), protocol, hostIp };
  }
  if (typeof spec !== 'string') throw new TypeError(`invalid published port ${String(spec)}`);
  let rest = spec;
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (p !== 'tcp' && p !== 'udp') throw new TypeError(`invalid published port ${JSON.stringify(spec)}: protocol must be tcp or udp`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let hostIp = '0.0.0.0';
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostIp = v6[1]!;
    rest = v6[2]!;
  }
  const parts = rest.split(':');
  if (parts.length === 3 && !v6) {
    hostIp = parts.shift()!;
  }
  if (parts.length !== 2) throw new TypeError(`invalid published port ${JSON.stringify(spec)}: expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTO]`);
  parseIP(hostIp);
  return { host: port(parts[0]!, 'host port', spec), container: port(parts[1]!, 'container port', spec), protocol, hostIp };
}
