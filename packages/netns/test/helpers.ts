/**
 * Test helpers: peer tools (`ip`, `nsenter`, busybox) run as child processes, unique names, and a
 * leak check scoped to what this package creates (netns, links, nft tables, /run/netns mounts,
 * child processes), so that other suites running on the same host at the same time are not
 * blamed on these tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { diffHost, LeakError, snapshotHost, type HostSnapshot, type Leak } from '@stratum/testing';

/** sh runs a command synchronously and returns stdout; throws with stderr when it fails. */
export function sh(argv: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input: opts.input ?? '', timeout: 30_000 });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/** ipJson runs `ip -j ARGS` (inside netns NAME when given) and parses the JSON. */
export function ipJson<T = Array<Record<string, unknown>>>(netns: string | undefined, args: string[]): T {
  const out = sh(['ip', ...(netns ? ['-n', netns] : []), '-j', ...args]);
  return JSON.parse(out || '[]') as T;
}

/** uid returns a short random hex suffix for names (interface names stay ≤ 15 bytes). */
export function uid(n = 3): string {
  return randomBytes(n).toString('hex');
}

/** inNetns runs argv inside a netns path (nsenter --net=PATH) and returns { code, stdout, stderr }. */
export function inNetns(path: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('nsenter', [`--net=${path}`, '--', ...argv], { encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeoutMs ?? 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** ping runs busybox ping inside a netns: true when `count` replies came back. */
export function ping(netnsPath: string, ip: string, count = 1): boolean {
  const r = inNetns(netnsPath, ['busybox', 'ping', '-c', String(count), '-W', '2', ip]);
  return r.code === 0;
}

/**
 * A TCP server started inside a netns: a small Node program that answers every connection with
 * `<prefix> <remote address>` and closes. `stop()` kills it (the test's finally calls it).
 */
export async function startTcpServer(netnsPath: string, port: number, prefix: string, host = '0.0.0.0'): Promise<{ stop(): Promise<void> }> {
  const code = `
    const net = require('net');
    const s = net.createServer((c) => { c.end('${prefix} ' + c.remoteAddress + '\\n'); });
    s.listen(${port}, '${host}', () => process.stdout.write('ready\\n'));
    process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
  `;
  const child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`server exited ${c}: ${err}`));
    });
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** A UDP echo server inside a netns, replying `<prefix> <payload>`. */
export async function startUdpServer(netnsPath: string, port: number, prefix: string): Promise<{ stop(): Promise<void> }> {
  const code = `
    const s = require('dgram').createSocket('udp4');
    s.on('message', (m, r) => s.send('${prefix} ' + m.toString(), r.port, r.address));
    s.bind(${port}, '0.0.0.0', () => process.stdout.write('ready\\n'));
    process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
  `;
  const child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('udp server did not start')), 10_000);
    child.stdout.on('data', () => {
      clearTimeout(t);
      resolve();
    });
    child.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`udp server exited ${c}`));
    });
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** tcpGet connects from inside a netns (nsenter + node) and returns what the server sent. */
export function tcpGetFrom(netnsPath: string, host: string, port: number, timeoutMs = 5000): string {
  const code = `
    const c = require('net').connect(${port}, '${host}');
    let d = ''; c.on('data', (x) => (d += x)); c.on('end', () => { process.stdout.write(d); process.exit(0); });
    c.on('error', (e) => { process.stderr.write(String(e)); process.exit(3); });
    c.setTimeout(${timeoutMs}, () => { process.stderr.write('timeout'); process.exit(4); });
  `;
  const r = inNetns(netnsPath, [process.execPath, '-e', code]);
  if (r.code !== 0) throw new Error(`tcp connect ${host}:${port} from ${netnsPath} failed: ${r.stderr}`);
  return r.stdout.trim();
}

const OURS = /stratum|^st/i;

function scoped(s: HostSnapshot): HostSnapshot {
  return {
    mounts: s.mounts.filter((m) => m.startsWith('/run/netns/')),
    netns: s.netns,
    links: s.links.filter((l) => OURS.test(l)),
    cgroups: [],
    nftTables: s.nftTables,
    processes: s.processes,
  };
}

/**
 * useNetLeakCheck: after each test, fail when a netns, link, nft table, /run/netns mount or child
 * process of ours appeared during it (with a short grace for processes to be reaped).
 */
export function useNetLeakCheck(hooks: { beforeEach(fn: () => unknown): void; afterEach(fn: () => unknown): void }): void {
  let before: HostSnapshot | undefined;
  hooks.beforeEach(() => {
    before = scoped(snapshotHost());
  });
  hooks.afterEach(async () => {
    if (!before) return;
    const b = before;
    before = undefined;
    let leaks: Leak[] = [];
    for (let i = 0; i < 40; i++) {
      leaks = diffHost(b, scoped(snapshotHost()));
      if (leaks.length === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new LeakError(leaks, 'netns test');
  });
}
