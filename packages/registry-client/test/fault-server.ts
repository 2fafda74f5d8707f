/**
 * A small fault-injecting HTTP server on 127.0.0.1 for hostile-registry tests: routes answer
 * chosen requests with errors, bad bodies, redirects or dropped connections; everything else is
 * proxied to an upstream (a real registry) or answered 404. Every request is recorded (method,
 * URL, headers) so tests can assert what a client sent where.
 *
 * Generic: no Stratum import, so @stratum/testing can take it as is.
 *
 * @example
 * await using fs = await startFaultServer({ upstream: registry.url });
 * fs.on('GET', /\/blobs\//, respond.proxy({ truncateAfter: 1000 }), { times: 1 });
 */
import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** One request the server received. */
export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** What a handler gets besides the request and response. */
export interface FaultContext {
  /** Reads the whole request body. */
  body(): Promise<Buffer>;
  /** Forwards this request to the upstream and its answer back, with optional faults. */
  proxy(faults?: ProxyFaults): Promise<void>;
  /** The URL's query parameters. */
  query: URLSearchParams;
  server: FaultServer;
}

/** A route handler. It must answer (or destroy the socket). */
export type FaultHandler = (req: IncomingMessage, res: ServerResponse, ctx: FaultContext) => void | Promise<void>;

/** Faults applied to a proxied answer. */
export interface ProxyFaults {
  /** Send the upstream's headers, then only this many body bytes, then drop the connection. */
  truncateAfter?: number;
  /** Replace (or, with undefined, remove) response headers. */
  headers?: Record<string, string | undefined>;
  /** Change the status code. */
  status?: number;
}

/** A route: how often it matched so far. */
export interface Route {
  readonly hits: number;
  /** Stops matching. */
  remove(): void;
}

/** A running fault server. */
export interface FaultServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  port: number;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /**
   * on routes requests whose method matches (`'*'` for any) and whose path+query matches
   * `path` (exact string, or a RegExp) to `handler`, at most `times` times (default: always);
   * later routes are tried first.
   */
  on(method: string, path: string | RegExp, handler: FaultHandler, opts?: { times?: number }): Route;
  /** Removes every route and forgets recorded requests. */
  reset(): void;
  /** Closes the server and every open connection. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** FaultServerOptions: where unrouted requests go. */
export interface FaultServerOptions {
  /** Base URL to proxy unrouted requests to (a real registry); without it they get 404. */
  upstream?: string;
  /** CA (PEM) to trust when the upstream is HTTPS. */
  upstreamCa?: string;
}

function proxyTo(upstream: URL, ca: string | undefined, req: IncomingMessage, res: ServerResponse, faults: ProxyFaults = {}): Promise<void> {
  return new Promise<void>((resolve) => {
    const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    // The Host header stays ours: the registry then builds Location URLs that come back here.
    const out = send(
      new URL(req.url ?? '/', upstream),
      { method: req.method, headers: req.headers, ...(ca ? { ca } : {}) },
      (up) => {
        const headers: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined) headers[k] = v;
        for (const [k, v] of Object.entries(faults.headers ?? {})) {
          if (v === undefined) delete headers[k.toLowerCase()];
          else headers[k.toLowerCase()] = v;
        }
        res.writeHead(faults.status ?? up.statusCode ?? 502, headers);
        if (faults.truncateAfter === undefined) {
          up.pipe(res);
          up.on('end', resolve);
          up.on('error', () => {
            res.destroy();
            resolve();
          });
          return;
        }
        let left = faults.truncateAfter;
        up.on('data', (chunk: Buffer) => {
          if (left <= 0) return;
          const part = chunk.subarray(0, left);
          left -= part.byteLength;
          res.write(part);
          if (left <= 0) {
            up.destroy();
            // Let the bytes leave before the connection drops.
            res.socket?.end(() => res.socket?.destroy());
            setTimeout(() => res.destroy(), 50);
            resolve();
          }
        });
        up.on('end', () => {
          res.end();
          resolve();
        });
        up.on('error', () => resolve());
      },
    );
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
      resolve();
    });
    req.pipe(out);
  });
}

/** startFaultServer listens on 127.0.0.1 with a free port. */
export async function startFaultServer(opts: FaultServerOptions = {}): Promise<FaultServer> {
  const upstream = opts.upstream ? new URL(opts.upstream) : undefined;
  interface RouteEntry {
    method: string;
    path: string | RegExp;
    handler: FaultHandler;
    times: number;
    hits: number;
    removed: boolean;
  }
  let routes: RouteEntry[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let self: FaultServer;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', url, headers: req.headers });
    const pathname = url.split('?')[0]!;
    const route = [...routes].reverse().find(
      (r) => !r.removed && r.hits < r.times && (r.method === '*' || r.method === req.method) && (typeof r.path === 'string' ? r.path === pathname || r.path === url : r.path.test(url)),
    );
    let bodyPromise: Promise<Buffer> | undefined;
    const ctx: FaultContext = {
      body: () =>
        (bodyPromise ??= new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => resolve(Buffer.concat(chunks)));
          req.on('error', reject);
        })),
      proxy: (faults) => {
        if (!upstream) {
          res.writeHead(404).end();
          return Promise.resolve();
        }
        return proxyTo(upstream, opts.upstreamCa, req, res, faults);
      },
      query: new URL(url, 'http://x').searchParams,
      get server() {
        return self;
      },
    };
    const run = async (): Promise<void> => {
      if (route) {
        route.hits++;
        await route.handler(req, res, ctx);
      } else if (upstream) {
        await proxyTo(upstream, opts.upstreamCa, req, res);
      } else {
        req.resume();
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'NOT_FOUND', message: 'no route' }] }));
      }
    };
    run().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  self = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    requests,
    on(method, path, handler, o = {}) {
      const entry: RouteEntry = { method: method.toUpperCase(), path, handler, times: o.times ?? Infinity, hits: 0, removed: false };
      routes.push(entry);
      return {
        get hits() {
          return entry.hits;
        },
        remove() {
          entry.removed = true;
        },
      };
    },
    reset() {
      routes = [];
      requests.length = 0;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return self;
}

/** Ready-made handlers. */
export const respond = {
  /** A JSON answer. */
  json(status: number, body: unknown, headers: Record<string, string> = {}): FaultHandler {
    return (req, res) => {
      req.resume();
      const data = Buffer.from(JSON.stringify(body));
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(data.byteLength), ...headers }).end(req.method === 'HEAD' ? undefined : data);
    };
  },
  /** An error in the distribution spec's format: `{"errors":[{code,message,detail}]}`. */
  ociError(status: number, code: string, message = code.toLowerCase(), headers: Record<string, string> = {}): FaultHandler {
    return respond.json(status, { errors: [{ code, message, detail: { injected: true } }] }, headers);
  },
  /**
   * Raw bytes. `contentLength` overrides the declared length (a lie); `truncateAfter` sends
   * only that many bytes, then drops the connection; without a length the body is chunked.
   */
  bytes(status: number, body: Uint8Array | string, o: { headers?: Record<string, string>; contentLength?: number | null; truncateAfter?: number } = {}): FaultHandler {
    return (req, res) => {
      req.resume();
      const data = Buffer.from(body);
      const headers: Record<string, string> = { ...o.headers };
      if (o.contentLength !== null) headers['content-length'] = String(o.contentLength ?? data.byteLength);
      res.writeHead(status, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      if (o.truncateAfter !== undefined) {
        res.socket?.write(''); // headers out
        res.write(data.subarray(0, o.truncateAfter), () => {
          res.socket?.destroy();
        });
        return;
      }
      if (o.contentLength !== undefined && o.contentLength !== null && o.contentLength !== data.byteLength) {
        // A lying length: write the bytes raw and end the connection, as a broken server would.
        res.write(data.subarray(0, Math.min(data.byteLength, o.contentLength)), () => {
          if (data.byteLength > o.contentLength!) res.socket?.write(data.subarray(o.contentLength!));
          res.socket?.end();
          setTimeout(() => res.socket?.destroy(), 50);
        });
        return;
      }
      res.end(data);
    };
  },
  /** A redirect. */
  redirect(location: string, status = 307): FaultHandler {
    return (req, res) => {
      req.resume();
      res.writeHead(status, { location, 'content-length': '0' }).end();
    };
  },
  /** A bare status with headers and no body. */
  status(status: number, headers: Record<string, string> = {}): FaultHandler {
    return (req, res) => {
      req.resume();
      res.writeHead(status, { 'content-length': '0', ...headers }).end();
    };
  },
  /** Drops the connection without answering. */
  destroy(): FaultHandler {
    return (req) => {
      req.socket.destroy();
    };
  },
  /** Forwards to the upstream, with faults. */
  proxy(faults: ProxyFaults = {}): FaultHandler {
    return (_req, _res, ctx) => ctx.proxy(faults);
  },
};
