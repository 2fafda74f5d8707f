/**
 * The userland port proxy, as docker-proxy: connections to HOST_IP:HOST_PORT (in practice the
 * loopback address, which DNAT cannot serve) are relayed to CONTAINER_IP:PORT by this process.
 * TCP streams are piped both ways with half-close; UDP datagrams are relayed per client address,
 * each flow on its own socket toward the container, expiring after an idle timeout.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server, type Socket } from 'node:net';

/** ProxySpec: one proxied port. */
export interface ProxySpec {
  protocol: 'tcp' | 'udp';
  /** Address to listen on (e.g. 127.0.0.1). */
  hostIp: string;
  hostPort: number;
  targetIp: string;
  targetPort: number;
  /** UDP flows idle this long are closed (ms, default 90 s as docker-proxy). */
  udpIdleMs?: number;
}

/** PortProxy: a running proxy. `close()` stops listening and drops every relayed connection. */
export interface PortProxy extends AsyncDisposable {
  readonly spec: ProxySpec;
  close(): Promise<void>;
}

/**
 * startProxy listens on `hostIp:hostPort` and relays to the target. Rejects (EADDRINUSE …) when it
 * cannot listen, so a port clash fails the attach that asked for it.
 */
export async function startProxy(spec: ProxySpec): Promise<PortProxy> {
  return spec.protocol === 'udp' ? startUdp(spec) : startTcp(spec);
}

async function startTcp(spec: ProxySpec): Promise<PortProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    sockets.add(client);
    const upstream = connect({ host: spec.targetIp, port: spec.targetPort, allowHalfOpen: true });
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => {
      sockets.delete(client);
      if (upstream.writableEnded) upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (client.writableEnded) client.destroy();
    });
    upstream.on('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.hostPort, spec.hostIp, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      server.close(() => resolve());
    }));
  return { spec, close, [Symbol.asyncDispose]: close };
}

async function startUdp(spec: ProxySpec): Promise<PortProxy> {
  const family = spec.hostIp.includes(':') ? 'udp6' : 'udp4';
  const front: UdpSocket = createSocket(family);
  const flows = new Map<string, { sock: UdpSocket; timer: NodeJS.Timeout; pending: Buffer[] | undefined }>();
  const idle = spec.udpIdleMs ?? 90_000;
  const endFlow = (key: string): void => {
    const f = flows.get(key);
    if (!f) return;
    flows.delete(key);
    clearTimeout(f.timer);
    f.sock.close();
  };
  front.on('message', (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}|${from.port}`;
    let f = flows.get(key);
    if (!f) {
      const sock = createSocket(spec.targetIp.includes(':') ? 'udp6' : 'udp4');
      const flow = { sock, timer: setTimeout(() => endFlow(key), idle).unref(), pending: [] as Buffer[] | undefined };
      sock.on('message', (reply: Buffer) => {
        front.send(reply, from.port, from.address);
        flow.timer.refresh();
      });
      sock.on('error', () => endFlow(key));
      // A connected socket cannot send before 'connect': hold datagrams until then.
      sock.connect(spec.targetPort, spec.targetIp, () => {
        const q = flow.pending ?? [];
        flow.pending = undefined;
        for (const m of q) sock.send(m);
      });
      f = flow;
      flows.set(key, f);
    }
    f.timer.refresh();
    if (f.pending) f.pending.push(msg);
    else f.sock.send(msg);
  });
  front.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(spec.hostPort, spec.hostIp, () => {
      front.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      for (const k of [...flows.keys()]) endFlow(k);
      front.close(() => resolve());
    }));
  return { spec, close, [Symbol.asyncDispose]: close };
}
