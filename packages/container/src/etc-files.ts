import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateHosts, generateResolvConf, parseExtraHost } from '@stratum/netns';
import type { ContainerPaths } from './record.js';

/** EtcOptions: what goes into a container's /etc/hosts, /etc/hostname and /etc/resolv.conf. */
export interface EtcOptions {
  hostname: string;
  domainname?: string;
  /** The container's own addresses (bridge). */
  ips: string[];
  /** `--add-host` entries. */
  extraHosts: string[];
  /** What `host-gateway` stands for (the bridge gateway). */
  hostGateway?: string;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** With the host's network: the host's own /etc/hosts lines are kept (Docker copies the host's file). */
  hostNetwork?: boolean;
}

/**
 * writeEtcFiles writes the files Docker bind-mounts into every container (`HostsPath`,
 * `HostnamePath`, `ResolvConfPath`) into the container's directory: /etc/hosts with localhost,
 * the `--add-host` entries and the container's addresses under its hostname; /etc/hostname; and
 * /etc/resolv.conf from `--dns`/`--dns-search`/`--dns-option` or the host's (without loopback
 * nameservers, falling back to Google's as Docker does).
 */
export function writeEtcFiles(paths: ContainerPaths, o: EtcOptions): void {
  writeFileSync(paths.hostname, `${o.hostname}\n`, { mode: 0o644 });
  if (o.hostNetwork) {
    // The host's network: the host's own files, as Docker copies them, plus --add-host/--dns.
    const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    let hosts = read('/etc/hosts');
    if (hosts && !hosts.endsWith('\n')) hosts += '\n';
    for (const h of o.extraHosts) {
      const e = parseExtraHost(h);
      hosts += `${e.ip === 'host-gateway' ? '127.0.0.1' : e.ip}\t${e.host}\n`;
    }
    writeFileSync(paths.hosts, hosts || '127.0.0.1\tlocalhost\n', { mode: 0o644 });
    const own = !o.dns.length && !o.dnsSearch.length && !o.dnsOptions.length ? read('/etc/resolv.conf') : '';
    writeFileSync(paths.resolvConf, own || generateResolvConf(resolvOpts(o)), { mode: 0o644 });
    return;
  }
  const hosts = generateHosts({
    hostname: o.hostname,
    ...(o.domainname ? { domainname: o.domainname } : {}),
    ips: o.ips,
    extraHosts: o.extraHosts,
    ...(o.hostGateway !== undefined ? { hostGateway: o.hostGateway } : {}),
  });
  writeFileSync(paths.hosts, hosts, { mode: 0o644 });
  writeFileSync(paths.resolvConf, generateResolvConf(resolvOpts(o)), { mode: 0o644 });
}

function resolvOpts(o: EtcOptions): Parameters<typeof generateResolvConf>[0] {
  return {
    ...(o.dns.length ? { dns: o.dns } : {}),
    ...(o.dnsSearch.length ? { search: o.dnsSearch } : {}),
    ...(o.dnsOptions.length ? { options: o.dnsOptions } : {}),
  };
}
