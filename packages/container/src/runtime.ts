import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Store } from '@stratum/image';
import { closeImageStore, imageStore } from './images.js';
import type { RegistryClientOptions } from '@stratum/registry-client';
import type { DriverName } from '@stratum/union-fs';
import type { GcOptions, GcReport } from './gc.js';
import { Networks, type NetworkConfig } from './networks.js';
import { chooseDriver } from './rootfs.js';
import { checkDriverName } from './spec.js';
import { StateDir } from './state-dir.js';

/** RuntimeOptions: where a runtime keeps its state and what its defaults are. */
export interface RuntimeOptions {
  /** State dir root; default `$STRATUM_ROOT`, else `~/.local/share/stratum` (the image store's default root too). */
  root?: string;
  /** The default bridge network (default: name `bridge`, interface `stratum0`, 10.88.0.0/16). */
  defaultNetwork?: NetworkConfig;
  /** The image store to use (default: one opened at `storeRoot`). */
  store?: Store;
  /** The image store's root when `store` is not given (default: `root`). */
  storeRoot?: string;
  /** Pull missing images (default true), with these registry client options (default: Docker's credentials from ~/.docker/config.json). */
  pull?: boolean;
  registry?: RegistryClientOptions;
  /**
   * The storage driver of new containers' root filesystems (`dockerd --storage-driver`):
   * `'overlay'`, `'fuse-overlayfs'` or `'vfs'`. Default: the best one that works here
   * (@stratum/union-fs `selectDriver`, tried on the state dir's filesystem). A container's own
   * `driver` wins.
   */
  driver?: DriverName;
  /** Parent of the containers' cgroups, relative to the hierarchy roots (`--cgroup-parent`); default none: `stratum-<id>` at the root. */
  cgroupParent?: string;
}

/** defaultRoot: `$STRATUM_ROOT`, else `~/.local/share/stratum`. */
export function defaultRoot(): string {
  return process.env.STRATUM_ROOT ?? join(homedir(), '.local', 'share', 'stratum');
}

const runtimes = new Map<string, Runtime>();

let gcImpl: ((rt: Runtime, opts: GcOptions) => Promise<GcReport>) | undefined;
/** setGcImpl installs gc's implementation (from container.ts, avoiding an import cycle). @internal */
export function setGcImpl(fn: (rt: Runtime, opts: GcOptions) => Promise<GcReport>): void {
  gcImpl = fn;
}

/**
 * Runtime holds what containers share: the state dir (`containers/`, `layers/`, `netconf/`,
 * `networks/` under `root`), the image store (same root), and this process's handles of the
 * bridge networks (the default one is created on first use). Any number of processes may open
 * the same root at once. `[Symbol.asyncDispose]`/`close()` let go of the network handles (and
 * with them this process's loopback port proxies); containers and networks stay.
 */
export class Runtime implements AsyncDisposable {
  /** Absolute state dir root. */
  readonly root: string;
  /** The containers' records. */
  readonly state: StateDir;
  /** The bridge networks. */
  readonly networks: Networks;
  /** The options it was opened with (a detached monitor reopens the runtime with them). */
  readonly options: Readonly<RuntimeOptions>;
  #closed = false;

  private constructor(opts: RuntimeOptions) {
    checkDriverName(opts.driver, 'RuntimeOptions.driver');
    this.root = resolve(opts.root ?? defaultRoot());
    this.options = Object.freeze({ ...opts, root: this.root });
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    this.state = new StateDir(this.root);
    this.networks = new Networks(this.root, opts.defaultNetwork);
  }

  /** Runtime.open opens (creating the directories of) a state dir root. Cheap; no kernel objects are made. */
  static async open(opts: RuntimeOptions = {}): Promise<Runtime> {
    return new Runtime(opts);
  }

  /** Runtime.default returns this process's shared runtime for the default root (`$STRATUM_ROOT` or ~/.local/share/stratum). */
  static default(): Runtime {
    const root = resolve(defaultRoot());
    let rt = runtimes.get(root);
    if (!rt || rt.#closed) {
      rt = new Runtime({ root });
      runtimes.set(root, rt);
    }
    return rt;
  }

  /** store returns the image store containers are created from (opened on first use; the `store` option, else an OCI layout at `storeRoot` or `root`). */
  store(): Promise<Store> {
    return imageStore(this);
  }

  /**
   * storageDriver says which storage driver new containers get and why (`docker info`'s Storage
   * Driver): the `driver` option (checked: DriverUnavailableError when it cannot work here), else
   * the best one that works for this process on the state dir's filesystem (@stratum/union-fs
   * `selectDriver`; tried for real once per process).
   */
  storageDriver(): Promise<{ name: DriverName; reason: string }> {
    return chooseDriver(this, this.options.driver);
  }

  /** The cgroup path of a container (relative to the hierarchy roots). */
  cgroupPath(id: string): string {
    const leaf = `stratum-${id}`;
    return this.options.cgroupParent ? `${this.options.cgroupParent.replace(/^\/+|\/+$/g, '')}/${leaf}` : leaf;
  }

  /**
   * gc finds what killed processes left behind and removes it: processes of containers whose
   * monitor is gone (killed), their rootfs mounts, cgroups and bridge endpoints (veth, port
   * rules, IPAM lease), interrupted creates/removes, stale names and volume users, and `--rm`
   * containers; with `layers: true` also the cached layers no container uses. Containers with
   * a live monitor are not touched. Idempotent; safe while other processes use the same root.
   */
  async gc(opts: GcOptions = {}): Promise<GcReport> {
    if (!gcImpl) throw new TypeError('gc: @stratum/container is not fully loaded');
    return gcImpl(this, opts);
  }

  /** Runtime.gc runs {@link Runtime.gc} on the runtime of `opts` (default root when omitted). */
  static async gc(opts: RuntimeOptions & GcOptions = {}): Promise<GcReport> {
    const { layers, ...ro } = opts;
    const rt = ro.root === undefined && ro.defaultNetwork === undefined ? Runtime.default() : await Runtime.open(ro);
    return rt.gc(layers !== undefined ? { layers } : {});
  }

  /** close lets go of this process's network handles (stopping its port proxies) and closes the image store it opened. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.networks.close();
    await closeImageStore(this);
  }

  /** Same as {@link Runtime.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
