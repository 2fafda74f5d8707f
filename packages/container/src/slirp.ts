/**
 * The `slirp4netns` network (rootless podman's default): user-mode networking for a network
 * namespace this process could not give a veth (Debian `slirp4netns`). A small holder process is
 * started first in the container's user namespace (rootless) and a new network namespace; the
 * `slirp4netns` process attaches a tap device `tap0` to it (10.0.2.100/24, gateway 10.0.2.2, DNS
 * 10.0.2.3: slirp's defaults), and only once it reports the device configured does the container
 * join those namespaces — so its program starts with the network up. Published ports are
 * slirp4netns's host forwards (its API socket, `add_hostfwd`). slirp4netns gets an exit pipe from
 * the monitor: when the monitor dies, the kernel closes the pipe and slirp4netns exits, so
 * nothing of it can leak.
 */
import { spawn as cpSpawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, rmSync, constants as fsc } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { spawn, type Process } from '@stratum/namespace';
import { which } from '@stratum/union-fs';
import { FeatureUnavailableError } from './errors.js';
import { rootlessIdMaps } from './rootless.js';

/** SLIRP: slirp4netns's default addresses, which a container on this network has. */
export const SLIRP = Object.freeze({ ip: '10.0.2.100', prefixLen: 24, gateway: '10.0.2.2', dns: '10.0.2.3', device: 'tap0' });

/**
 * slirpUnavailable says why the `slirp4netns` network cannot be used by this process (undefined:
 * it can): the executable must be on PATH and /dev/net/tun readable and writable (Debian's udev
 * makes it 0666).
 */
export function slirpUnavailable(): string | undefined {
  if (which('slirp4netns') === undefined) return 'slirp4netns is not installed (Debian package slirp4netns)';
  try {
    accessSync('/dev/net/tun', fsc.R_OK | fsc.W_OK);
  } catch {
    return `/dev/net/tun is not readable and writable by uid ${process.geteuid?.() ?? '?'} (udev makes it 0666 on Debian; without udev: chmod 0666 /dev/net/tun)`;
  }
  return undefined;
}

/** slirpAvailable: whether the `slirp4netns` network can be used here (see {@link slirpUnavailable}). */
export function slirpAvailable(): boolean {
  return slirpUnavailable() === undefined;
}

/** Ports as the container records them. */
type Port = { host: number; container: number; protocol: 'tcp' | 'udp'; hostIp: string };

/**
 * SlirpNetwork is one container's slirp4netns network while it is set up and runs: the namespaces
 * to join (`user`, `net` paths of the holder, valid until {@link SlirpNetwork.joined}), and
 * `close()`, which ends slirp4netns and the holder. Idempotent close.
 */
export class SlirpNetwork {
  readonly net: string;
  readonly user: string | undefined;
  #holder: Process | undefined;
  #slirp: ChildProcess | undefined;
  #socket: string;

  private constructor(holder: Process, slirp: ChildProcess, socket: string, rootless: boolean) {
    this.#holder = holder;
    this.#slirp = slirp;
    this.#socket = socket;
    this.net = `/proc/${holder.pid}/ns/net`;
    this.user = rootless ? `/proc/${holder.pid}/ns/user` : undefined;
  }

  /**
   * SlirpNetwork.create starts the holder and slirp4netns, waits until the tap device is
   * configured and adds the host forwards of `ports`. slirp4netns's API socket goes into
   * `socketDir` (a short path: sockets are limited to 107 bytes), named after `name`. On failure
   * nothing is left.
   */
  static async create(opts: { rootless: boolean; socketDir: string; name: string; ports: readonly Port[] }): Promise<SlirpNetwork> {
    const why = slirpUnavailable();
    if (why) throw new FeatureUnavailableError('the slirp4netns network', why);
    const ids = opts.rootless ? rootlessIdMaps() : undefined;
    // The holder: the namespaces exist before the container's program does. `sleep` of the host,
    // no root filesystem of its own; killed once the container has joined.
    const holder = await spawn({
      argv: ['sleep', 'infinity'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      namespaces: { ...(ids ? { user: { uidMap: ids.uidMap, gidMap: ids.gidMap } } : {}), net: true },
      loopback: true,
      stdio: 'ignore',
      parentDeathSignal: 'SIGKILL',
    });
    const socket = join(opts.socketDir, `stratum-slirp-${opts.name}-${randomBytes(4).toString('hex')}.sock`);
    rmSync(socket, { force: true });
    let slirp: ChildProcess | undefined;
    try {
      slirp = cpSpawn(
        'slirp4netns',
        [
          '--configure',
          '--mtu=65520',
          '--disable-host-loopback',
          '--exit-fd=3',
          '--ready-fd=4',
          `--api-socket=${socket}`,
          '--netns-type=path',
          ...(opts.rootless ? [`--userns-path=/proc/${holder.pid}/ns/user`] : []),
          `/proc/${holder.pid}/ns/net`,
          SLIRP.device,
        ],
        { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
      );
      const child = slirp;
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      // fd 3 (its exit fd) stays open in this process; the kernel closes it if this process dies.
      (child.stdio[3] as Writable).on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        const ready = child.stdio[4] as Readable;
        ready.once('data', () => resolve());
        child.once('error', reject);
        child.once('exit', (code, signal) => reject(new FeatureUnavailableError('the slirp4netns network', `slirp4netns exited (${code ?? signal}) before the network was configured: ${err.trim()}`)));
      });
      (child.stdio[4] as Readable).destroy();
      const net = new SlirpNetwork(holder, child, socket, opts.rootless);
      try {
        for (const p of opts.ports) await net.#forward(p);
      } catch (e) {
        await net.close();
        throw e;
      }
      return net;
    } catch (e) {
      slirp?.kill('SIGKILL');
      await holder[Symbol.asyncDispose]().catch(() => undefined);
      rmSync(socket, { force: true });
      throw e;
    }
  }

  /** #forward asks slirp4netns for a host forward (`add_hostfwd`): host `hostIp:host` → the container's `container` port. */
  async #forward(p: Port): Promise<void> {
    const req = { execute: 'add_hostfwd', arguments: { proto: p.protocol, host_addr: p.hostIp || '0.0.0.0', host_port: p.host, guest_addr: SLIRP.ip, guest_port: p.container } };
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(this.#socket);
      let text = '';
      s.on('connect', () => s.end(JSON.stringify(req)));
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    const r = JSON.parse(reply || '{}') as { return?: unknown; error?: { desc?: string } };
    if (r.error || r.return === undefined) {
      throw new FeatureUnavailableError(`publishing port ${p.hostIp ? `${p.hostIp}:` : ''}${p.host}`, `slirp4netns refused the host forward: ${r.error?.desc ?? (reply || 'no reply')}`);
    }
  }

  /** joined ends the holder, once the container's process is in the namespaces (they live on with it). */
  async joined(): Promise<void> {
    const h = this.#holder;
    this.#holder = undefined;
    await h?.[Symbol.asyncDispose]().catch(() => undefined);
  }

  /** close ends slirp4netns (closing its exit pipe, then SIGTERM) and the holder if still there. Idempotent. */
  async close(): Promise<void> {
    await this.joined();
    const s = this.#slirp;
    this.#slirp = undefined;
    if (s && s.exitCode === null && s.signalCode === null) {
      const exited = new Promise<void>((resolve) => s.once('exit', () => resolve()));
      (s.stdio[3] as Writable).destroy();
      s.kill('SIGTERM');
      await exited;
    }
    rmSync(this.#socket, { force: true });
  }
}
