/**
 * Context: what a running command gets — its output streams, the global options (`--root`,
 * `--insecure-registry`, `--config`, `--debug`), and the components it needs, opened lazily and
 * closed when the command ends.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Store } from '@stratum/image';
import type { RegistryClient } from '@stratum/registry-client';
import type { ProgressOutput } from './progress.js';

/** MainIO: the process-like environment `main` runs in (defaults: this process's). */
export interface MainIO {
  stdout?: Writable;
  stderr?: Writable;
  stdin?: Readable;
  /** Environment: `STRATUM_ROOT`, `HOME`, `DOCKER_CONFIG`, `STRATUM_INSECURE_REGISTRIES`… */
  env?: Record<string, string | undefined>;
  /** Directory relative paths (`-o out.tar`, `-v ./data:/data`) are resolved against. */
  cwd?: string;
  /** Aborts long work (pull, push, save, load); the bin wires SIGINT/SIGTERM to it. */
  signal?: AbortSignal;
}

/** GlobalOptions: the options before the command (`stratum --root DIR pull …`). */
export interface GlobalOptions {
  root?: string;
  insecureRegistries: string[];
  configDir?: string;
  debug: boolean;
}

type Cleanup = () => unknown;

/**
 * Context is the per-invocation state a command runs with. `store()` and `registry()` open
 * their component on first use; everything opened is closed by {@link Context.close}, which
 * `main` calls when the command ends (also on error).
 */
export class Context {
  /** The command path being run (`image ls`). */
  readonly command: string;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable;
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  /** The state directory: content store, containers, networks, volumes (absolute). */
  readonly root: string;
  /** Registries allowed plain HTTP / unverified TLS (Docker's insecure-registries). */
  readonly insecureRegistries: string[];
  /** Directory of Docker's client config (`config.json` with `auths`). */
  readonly configDir: string;
  readonly debug: boolean;
  readonly signal: AbortSignal | undefined;
  readonly #cleanups: Cleanup[] = [];
  #store: Promise<Store> | undefined;

  constructor(command: string, io: Required<Omit<MainIO, 'signal'>> & { signal?: AbortSignal }, global: GlobalOptions) {
    this.command = command;
    this.stdout = io.stdout;
    this.stderr = io.stderr;
    this.stdin = io.stdin;
    this.env = io.env;
    this.cwd = io.cwd;
    this.signal = io.signal;
    this.debug = global.debug;
    const home = io.env.HOME ?? homedir();
    this.root = resolve(io.cwd, global.root ?? (io.env.STRATUM_ROOT || join(home, '.local', 'share', 'stratum')));
    this.configDir = resolve(io.cwd, global.configDir ?? (io.env.DOCKER_CONFIG || join(home, '.docker')));
    const fromEnv = (io.env.STRATUM_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    this.insecureRegistries = [...global.insecureRegistries, ...fromEnv];
  }

  /** out writes to stdout. */
  out(text: string): void {
    this.stdout.write(text);
  }

  /** err writes to stderr. */
  err(text: string): void {
    this.stderr.write(text);
  }

  /** path resolves a user-given path against the invocation's working directory. */
  path(p: string): string {
    return isAbsolute(p) ? p : resolve(this.cwd, p);
  }

  /** isTTY: whether a stream is a terminal (progress bars, `-t`). */
  static isTTY(s: Readable | Writable): boolean {
    return (s as { isTTY?: boolean }).isTTY === true;
  }

  /** progress is the output for progress display: stdout, bars when it is a terminal. */
  progress(): ProgressOutput {
    const tty = Context.isTTY(this.stdout);
    const columns = (this.stdout as { columns?: number }).columns;
    return { write: (t) => this.stdout.write(t), tty, ...(columns !== undefined ? { columns } : {}) };
  }

  /** defer registers cleanup to run (last first) when the command ends. */
  defer(fn: Cleanup): void {
    this.#cleanups.push(fn);
  }

  /** store opens the content store under the root (once per invocation; closed at the end). */
  store(): Promise<Store> {
    this.#store ??= import('@stratum/image').then(async ({ Store }) => {
      const store = await Store.open(this.root);
      this.defer(() => store.close());
      return store;
    });
    return this.#store;
  }

  /**
   * registry makes a registry client with the credentials `docker login` stored (config.json
   * under {@link Context.configDir}, podman's auth.json, credential helpers) and the insecure
   * registries: those given, plus every loopback registry among `refs`' hosts — Docker's daemon
   * treats 127.0.0.0/8 as insecure by default too.
   */
  async registry(hosts: string[] = []): Promise<RegistryClient> {
    const { RegistryClient, dockerConfigAuth } = await import('@stratum/registry-client');
    const insecure = new Set(this.insecureRegistries);
    for (const h of hosts) if (isLoopbackHost(h)) insecure.add(h);
    const client = new RegistryClient({
      auth: dockerConfigAuth({ env: this.env as NodeJS.ProcessEnv, configFile: join(this.configDir, 'config.json') }),
      insecure: [...insecure],
    });
    this.defer(() => client.close());
    return client;
  }

  /** close runs the deferred cleanups (errors there are reported on stderr, not thrown). */
  async close(): Promise<void> {
    while (this.#cleanups.length > 0) {
      const fn = this.#cleanups.pop()!;
      try {
        await fn();
      } catch (e) {
        if (this.debug) this.err(`stratum: cleanup: ${(e as Error).stack ?? String(e)}\n`);
      }
    }
  }
}

/** isLoopbackHost: `localhost[:port]`, `127.x.y.z[:port]`, `[::1][:port]`. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
