import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { writeBundle, type ExportBundleOptions } from './bundle.js';
import { commitImage, type CommitOptions, type CommitResult } from './commit.js';
import { parseChanges } from '@stratum/image';
import { connect } from 'node:net';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cgroup, CgroupNotFoundError, type CgroupStats } from '@stratum/cgroup';
import { exportRootfs, type ExportRootfsResult } from '@stratum/image-archive';
import type { LayerChange } from '@stratum/layer';
import { enter, type Process, type StdioItem } from '@stratum/namespace';
import type { ContainerConfig } from '@stratum/oci';
import { composeCommand } from './command.js';
import { startDetached } from './detached.js';
import { mergeEnv, processEnv, type EnvInput } from './env.js';
import { ContainerNotFoundError, ContainerStateError, FeatureUnavailableError, NameConflictError, WaitTimeoutError } from './errors.js';
import { isErrno, processAlive, procStat, readJson, writeJsonAtomic } from './fsutil.js';
import { generateName, newContainerId, shortId } from './ids.js';
import { inspectOf, portBindings, summaryOf, type ContainerInspect, type ContainerSummary } from './inspect.js';
import { readJsonLog, type LogLine, type LogsOptions } from './logs.js';
import { capabilitySet, containerHostname } from './process-spec.js';
import type { ContainerRecord, HostConfigRecord, ImageRecord, StateRecord } from './record.js';
import { normalizeResources } from './resources.js';
import { ContainerRootfs, chooseDriver, driverOf, ensureInitLayer, layersOf, prepareInitLayer, recordedChange, rootfsDirs, setLowerDirsProvider, unmountRoot } from './rootfs.js';
import { Runtime, setGcImpl } from './runtime.js';
import { runGc } from './gc.js';
import { checkSpec, type ContainerSpec, type StartIO } from './spec.js';
import { monitored, setRemoveHook, startContainer, type ExitRecord } from './start.js';
import { lowersOf, resolveImage } from './images.js';
import { enterablePid, isRootless, noCgroupError, rootlessRefusal, rootlessUser } from './rootless.js';
import { slirpAvailable, slirpUnavailable } from './slirp.js';
import { resolveUserInRoot } from './user.js';
import { exportInUserns } from './userns-worker.js';
import { attachVolumes, detachVolumes, needsCopyUp, volumeSpecs } from './volumes.js';

/** ImageResolver: how an image reference becomes a config and the layer dirs (installed by the image support). @internal */
export type ImageResolver = (rt: Runtime, ref: string) => Promise<{ config: ContainerConfig; record: ImageRecord; lowers: string[] }>;
let imageResolver: ImageResolver | undefined;
/** setImageResolver installs how image references are resolved. @internal */
export function setImageResolver(r: ImageResolver): void {
  imageResolver = r;
}

/** CreateOptions: which runtime (state dir, store, networks) a container belongs to. */
export interface CreateOptions {
  /** Default: {@link Runtime.default} (`$STRATUM_ROOT` or ~/.local/share/stratum). */
  runtime?: Runtime;
}

/** RunOptions: {@link Container.run}'s options: the runtime and where the output goes. */
export interface RunOptions extends CreateOptions, StartIO {}

/** ExitResult: how a container ended (`docker wait` and State). */
export interface ExitResult {
  /** Exit code; 128 + n for death by signal n. */
  exitCode: number;
  /** Killed by the OOM killer of its memory cgroup. */
  oomKilled: boolean;
  /** Set when the start failed or the exit status is unknown. */
  error?: string;
}

/** ExecOptions: `docker exec` options. */
export interface ExecOptions {
  /** `-t`: a pseudo-terminal (stdout then carries both outputs). */
  tty?: boolean;
  /** `-e`: on top of the container's environment. */
  env?: EnvInput;
  /** `-u`: default the container's user. */
  user?: string;
  /** `-w`: default the container's working directory. */
  workdir?: string;
  /** stdio of the program (default: stdin ignored, stdout and stderr piped). Ignored with `tty`. */
  stdio?: [StdioItem, StdioItem, StdioItem];
  /** `--privileged`: every capability. */
  privileged?: boolean;
  signal?: AbortSignal;
}

/** TopResult: `docker top`: titles and one row per process. */
export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** ContainerStats: `docker stats` figures: the cgroup's counters plus the network interfaces'. */
export interface ContainerStats {
  read: string;
  cgroup: CgroupStats;
  networks: Record<string, { rx_bytes: number; rx_packets: number; tx_bytes: number; tx_packets: number }>;
}

function tombstoneDir(rt: Runtime): string {
  return join(rt.state.containers, '.exits');
}

/**
 * releaseHeld removes what a container's state says it holds (its monitor being gone): the
 * rootfs mount, the cgroup (killing what is left in it) and the network endpoint (proxies, rules,
 * veth, lease). Idempotent.
 * @internal
 */
export async function releaseHeld(rt: Runtime, held: StateRecord['held']): Promise<void> {
  if (!held) return;
  if (held.endpoint && rt.networks.has(held.endpoint.network)) {
    const net = await rt.networks.get(held.endpoint.network);
    await net.detach(held.endpoint.attachmentId);
  }
  if (held.cgroup) {
    try {
      const cg = await Cgroup.open(held.cgroup);
      await cg.kill();
      await cg.delete();
    } catch (e) {
      if (!(e instanceof CgroupNotFoundError)) throw e;
    }
  }
  if (held.rootfs) unmountRoot(held.rootfs);
}

/**
 * reconcile brings a container's state in line with the kernel when its monitor is gone: a
 * container whose processes all ended without a monitor to record it is marked exited (status
 * unknown: ExitCode 255 and an Error saying so) and what it held is released. A container whose
 * process still runs without a monitor stays running (gc() kills it).
 * @internal
 */
export async function reconcile(rt: Runtime, id: string): Promise<StateRecord> {
  const s = rt.state.state(id);
  if (!s.held && !s.Running) return s;
  if (monitored(id) || processAlive(s.monitor)) return s;
  if (s.Running && processAlive(s.process)) return s;
  return rt.state.lock(id, async () => {
    const cur = rt.state.state(id);
    if ((!cur.held && !cur.Running) || processAlive(cur.monitor) || (cur.Running && processAlive(cur.process))) return cur;
    await releaseHeld(rt, cur.held);
    return rt.state.updateLocked(id, (x) => {
      if (x.Running) {
        x.Status = 'exited';
        x.ExitCode = 255;
        x.Error = 'the monitor process exited before the container: its exit status is unknown';
        x.FinishedAt = new Date().toISOString();
      }
      x.Running = false;
      x.Paused = false;
      x.Pid = 0;
      delete x.held;
      delete x.monitor;
      delete x.process;
    });
  });
}

/**
 * removeContainer deletes a container's records and directory, after releasing what its state
 * says it holds; an autoRemove container's exit goes to `.exits/` for late waiters. With `exit`
 * (its monitor, right after releasing everything) that exit is its final state. Resolves with the
 * final state, undefined when it was gone already.
 */
async function removeContainer(rt: Runtime, id: string, removeAnonymous: boolean, exit?: ExitRecord): Promise<StateRecord | undefined> {
  let rec: ContainerRecord;
  try {
    rec = rt.state.record(id);
  } catch (e) {
    if (e instanceof ContainerNotFoundError) return undefined;
    throw e;
  }
  const final = await rt.state.lock(id, async () => {
    let st: StateRecord;
    try {
      st = rt.state.state(id);
    } catch (e) {
      if (e instanceof ContainerNotFoundError) return undefined;
      throw e;
    }
    if (exit) {
      st = { ...st, ...exit, Status: 'exited', Running: false, Paused: false, Pid: 0 };
      delete st.held;
      delete st.process;
    }
    if (st.held) await releaseHeld(rt, st.held);
    unmountRoot(rootfsDirs(rt.state.paths(id), rec).merged);
    if (rec.HostConfig.AutoRemove) {
      mkdirSync(tombstoneDir(rt), { recursive: true, mode: 0o700 });
      writeJsonAtomic(join(tombstoneDir(rt), id), { ExitCode: st.ExitCode, OOMKilled: st.OOMKilled, Error: st.Error, FinishedAt: st.FinishedAt }, { durable: false });
    }
    await rt.state.removeLocked(id, rec.Name);
    return st;
  });
  if (rec.mounts.some((m) => m.Type === 'volume')) await detachVolumes(rt, id, removeAnonymous);
  return final;
}

setRemoveHook((rt, id, exit) => removeContainer(rt, id, true, exit));
setImageResolver(resolveImage);
setLowerDirsProvider((rt, rec) => lowersOf(rt, rec));
setGcImpl((rt, opts) => runGc(rt, { reconcile, remove: async (r, id) => void (await removeContainer(r, id, true)) }, opts));

/**
 * Container is one container of a {@link Runtime}: its record under the state dir and, when this
 * process monitors it, its live process. Every method works from any process: state is read from
 * (and written atomically to) the state dir, so `Container.get(id)` in another process sees the
 * live state. `await using c = await Container.run(...)` stops and removes it at the end.
 */
export class Container implements AsyncDisposable {
  /** The runtime it belongs to. */
  readonly runtime: Runtime;
  /** 64 hex digits. */
  readonly id: string;
  readonly #record: ContainerRecord;

  private constructor(rt: Runtime, rec: ContainerRecord) {
    this.runtime = rt;
    this.id = rec.Id;
    this.#record = rec;
  }

  /** The name (without Docker's leading slash). */
  get name(): string {
    return this.#record.Name;
  }

  /** The 12-character id `docker ps` shows. */
  get shortId(): string {
    return shortId(this.id);
  }

  /** The record it was created with (Docker's Config, HostConfig …). */
  get record(): Readonly<ContainerRecord> {
    return this.#record;
  }

  /**
   * Container.create makes a container without starting it, like `docker create`: validates the
   * spec (TypeError naming the field), resolves the image (pulling it when missing, where a
   * registry answers), composes the command (Docker's CMD/ENTRYPOINT rules), merges env and
   * labels, claims the name (NameConflictError), attaches its volumes (copying the image's
   * content into new ones) and writes its records atomically. On failure nothing is left.
   */
  static async create(spec: ContainerSpec, opts: CreateOptions = {}): Promise<Container> {
    const s = checkSpec(spec);
    const rt = opts.runtime ?? Runtime.default();
    const network = resolveNetwork(rt, s);
    const res = normalizeResources(s.resources);
    if (isRootless()) {
      // What a rootless start could never give is refused before anything is made.
      const refusal = rootlessRefusal({ network, HostConfig: res }, rt.options.cgroupParent);
      if (refusal) throw refusal;
    }
    const id = newContainerId();
    const driver = await chooseDriver(rt, s.driver ?? rt.options.driver);
    let config: ContainerConfig = {};
    let image: ImageRecord | undefined;
    let layerDirs: string[] = [];
    if (s.image !== undefined) {
      if (!imageResolver) throw new FeatureUnavailableError('images', 'no image store support is loaded');
      const r = await imageResolver(rt, s.image);
      config = r.config;
      image = r.record;
      layerDirs = r.lowers;
    }
    const command = composeCommand(config, { ...(s.entrypoint !== undefined ? { entrypoint: s.entrypoint } : {}), ...(s.cmd !== undefined ? { cmd: s.cmd } : {}) });
    const hostConfig: HostConfigRecord = {
      Binds: s.volumes.length ? s.volumes : null,
      NetworkMode: network.mode === 'bridge' ? network.name! : network.mode === 'container' ? `container:${network.container}` : network.mode,
      PortBindings: portBindings(network.ports),
      AutoRemove: s.autoRemove ?? false,
      VolumesFrom: s.volumesFrom.length ? s.volumesFrom : null,
      CapAdd: s.capAdd.length ? s.capAdd : null,
      CapDrop: s.capDrop.length ? s.capDrop : null,
      Dns: s.dns,
      DnsOptions: s.dnsOptions,
      DnsSearch: s.dnsSearch,
      ExtraHosts: s.addHosts.length ? s.addHosts : null,
      GroupAdd: s.groupAdd.length ? s.groupAdd : null,
      ReadonlyRootfs: s.readOnly ?? false,
      Tmpfs: Object.keys(s.tmpfs).length ? s.tmpfs : null,
      Init: s.init ?? false,
      Privileged: false,
      ...res,
    };
    const exposed: Record<string, Record<string, never>> = { ...(config.ExposedPorts ?? {}) };
    for (const p of network.ports) exposed[`${p.container}/${p.protocol}`] = {};
    const rec: ContainerRecord = {
      version: 1,
      Id: id,
      Name: s.name ?? generateName(),
      Created: new Date().toISOString(),
      Path: command.argv[0]!,
      Args: command.argv.slice(1),
      Config: {
        Hostname: s.hostname ?? '',
        Domainname: s.domainname ?? '',
        User: s.user ?? config.User ?? '',
        AttachStdin: false,
        AttachStdout: !s.detach,
        AttachStderr: !s.detach,
        ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
        Tty: s.tty ?? false,
        OpenStdin: s.interactive ?? false,
        StdinOnce: false,
        Env: mergeEnv(config.Env, s.env),
        Cmd: command.cmd,
        Image: s.image ?? s.rootfs ?? '',
        Volumes: config.Volumes ?? null,
        WorkingDir: s.workdir ?? config.WorkingDir ?? '',
        Entrypoint: command.entrypoint,
        OnBuild: config.OnBuild ?? null,
        Labels: { ...(config.Labels ?? {}), ...s.labels },
        ...(s.stopSignal ?? config.StopSignal ? { StopSignal: s.stopSignal ?? config.StopSignal } : {}),
        ...(s.stopTimeout !== undefined ? { StopTimeout: s.stopTimeout } : {}),
      } as ContainerRecord['Config'],
      HostConfig: hostConfig,
      ...(image ? { image } : {}),
      ...(s.rootfs !== undefined ? { rootfs: s.rootfs } : {}),
      ...(image ? { initLayer: await ensureInitLayer(rt, image.diffIDs, layerDirs) } : {}),
      driver: driver.name,
      network,
      detach: s.detach ?? false,
      mounts: [],
    };
    const specs = volumeSpecs(rt, s, config.Volumes);
    const lowersBelowInit = s.rootfs !== undefined ? [s.rootfs] : layerDirs;
    let attached = false;
    const prepare = async (dir: string, r: ContainerRecord): Promise<void> => {
      const init = r.initLayer ?? join(dir, 'init');
      if (r.initLayer === undefined) prepareInitLayer(init, lowersBelowInit);
      if (specs.length === 0) return;
      // Copy-up reads the image's content at each volume's path: a read-only root filesystem in
      // a scratch dir (the container's own is made at start), removed right after.
      let scratch: ContainerRootfs | undefined;
      try {
        if (needsCopyUp(specs)) scratch = await ContainerRootfs.prepare(rt, r, { dir: join(dir, 'copy-up'), init }, { readonly: true });
        attached = true;
        r.mounts = await attachVolumes(rt, id, specs, scratch?.path);
      } finally {
        await scratch?.remove();
      }
    };
    for (let retry = 0; ; retry++) {
      try {
        await rt.state.create(rec, prepare);
        break;
      } catch (e) {
        if (attached) await detachVolumes(rt, id, true).catch(() => undefined);
        attached = false;
        if (e instanceof NameConflictError && s.name === undefined && retry < 5) {
          rec.Name = generateName(retry + 1);
          continue;
        }
        throw e;
      }
    }
    return new Container(rt, rec);
  }

  /**
   * Container.run creates and starts a container (`docker run`); see {@link Container.create} and
   * {@link Container.start}. With `autoRemove` it is removed when it exits, and killed if this
   * process dies first.
   */
  static async run(spec: ContainerSpec, opts: RunOptions = {}): Promise<Container> {
    const c = await Container.create(spec, opts);
    try {
      await c.start(opts);
    } catch (e) {
      if (spec.autoRemove) await removeContainer(c.runtime, c.id, true).catch(() => undefined);
      throw e;
    }
    return c;
  }

  /** Container.get finds a container by name, id or unique id prefix (ContainerNotFoundError otherwise). */
  static async get(ref: string, opts: CreateOptions = {}): Promise<Container> {
    const rt = opts.runtime ?? Runtime.default();
    const id = rt.state.resolve(ref);
    return new Container(rt, rt.state.record(id));
  }

  /**
   * Container.list lists containers like `docker ps` (running ones) or `docker ps -a` (`all`),
   * newest first, as Docker's API summaries (Id, Names, Image, Command, Created, State, Status,
   * Ports …).
   */
  static async list(opts: CreateOptions & { all?: boolean } = {}): Promise<ContainerSummary[]> {
    const rt = opts.runtime ?? Runtime.default();
    const out: ContainerSummary[] = [];
    for (const id of rt.state.ids()) {
      let rec: ContainerRecord;
      let st: StateRecord;
      try {
        rec = rt.state.record(id);
        st = await reconcile(rt, id);
      } catch (e) {
        if (e instanceof ContainerNotFoundError) continue; // removed meanwhile
        throw e;
      }
      if (!opts.all && !st.Running) continue;
      out.push(summaryOf(rec, st));
    }
    return out.sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
  }

  /**
   * start starts a created or stopped container (`docker start`; a restart keeps the container's
   * filesystem changes) and resolves once its program runs. The monitor is this process, or with
   * `detach: true` a detached monitor process. Start failures reject with the failing step
   * (SpawnError …) and are recorded in State.Error.
   */
  async start(io: StartIO = {}): Promise<void> {
    const st = await reconcile(this.runtime, this.id);
    if (st.Running) throw new ContainerStateError(this.id, 'start', st.Status, 'it is already running');
    if (this.#record.detach) {
      await startDetached(this.runtime, this.id, join(this.runtime.state.paths(this.id).dir, 'monitor.log'));
      return;
    }
    await startContainer(this.runtime, this.id, io);
  }

  /** state returns the current State (reconciled with the kernel when its monitor is gone). */
  async state(): Promise<StateRecord> {
    return reconcile(this.runtime, this.id);
  }

  /** inspect returns the `docker container inspect` document (State, Config, HostConfig, NetworkSettings.IPAddress, Mounts …). */
  async inspect(): Promise<ContainerInspect> {
    const st = await this.state();
    const p = this.runtime.state.paths(this.id);
    const layers = await layersOf(this.runtime, this.#record, p);
    return inspectOf(this.#record, st, p, layers, this.runtime.options.cgroupParent ?? '');
  }

  /** The live process when this process monitors the container. */
  get process(): Process | undefined {
    return monitored(this.id)?.process;
  }

  /**
   * wait resolves once the container has exited (`docker wait`), with its exit code. A
   * container that is not running resolves at once with its last exit. With `autoRemove` the exit
   * is still reported after the removal.
   */
  async wait(opts: { signal?: AbortSignal } = {}): Promise<ExitResult> {
    const live = monitored(this.id);
    if (live) {
      const signal = opts.signal;
      if (!signal) return resultOf(await live.done);
      signal.throwIfAborted();
      let onAbort = (): void => undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return resultOf(await Promise.race([live.done, aborted]));
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
    let wait = 5;
    for (;;) {
      let st: StateRecord;
      try {
        st = await this.state();
      } catch (e) {
        if (!(e instanceof ContainerNotFoundError)) throw e;
        const t = readJson<{ ExitCode: number; OOMKilled: boolean; Error: string }>(join(tombstoneDir(this.runtime), this.id));
        if (t) return { exitCode: t.ExitCode, oomKilled: t.OOMKilled, ...(t.Error ? { error: t.Error } : {}) };
        throw e;
      }
      const removing = this.#record.HostConfig.AutoRemove && processAlive(st.monitor);
      if (!st.Running && !st.held && !removing) return resultOf(st);
      opts.signal?.throwIfAborted();
      await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : undefined);
      wait = Math.min(wait * 2, 100);
    }
  }

  /**
   * kill sends a signal to the container's first process (`docker kill -s`; default SIGKILL).
   * With `init: true` the init forwards it to the program. A paused container is thawed so that
   * the signal is delivered. ContainerStateError when it is not running.
   */
  async kill(signal: NodeJS.Signals | number = 'SIGKILL'): Promise<void> {
    const st = await this.state();
    if (!st.Running) throw new ContainerStateError(this.id, 'kill', st.Status);
    const live = monitored(this.id);
    if (live) live.process.kill(signal);
    else if (processAlive(st.process)) {
      try {
        process.kill(st.Pid, signal);
      } catch (e) {
        if (!isErrno(e, 'ESRCH')) throw e;
      }
    }
    if (st.Paused) await this.unpause().catch(() => undefined);
  }

  /**
   * stop sends the stop signal (the image's StopSignal, else SIGTERM), waits up to `timeout`
   * seconds (default the container's StopTimeout, else 10), then SIGKILLs, and resolves once it
   * has exited and its resources are released (`docker stop -t`). Idempotent.
   */
  async stop(opts: { timeout?: number; signal?: NodeJS.Signals } = {}): Promise<ExitResult> {
    const st = await this.state();
    if (!st.Running) return this.wait();
    const sig = (opts.signal ?? this.#record.Config.StopSignal ?? 'SIGTERM') as NodeJS.Signals;
    const timeout = opts.timeout ?? this.#record.Config.StopTimeout ?? 10;
    try {
      await this.kill(sig);
    } catch (e) {
      if (!(e instanceof ContainerStateError)) throw e;
    }
    if (timeout >= 0) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeout * 1000);
      try {
        return await this.wait({ signal: ac.signal });
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      } finally {
        clearTimeout(timer);
      }
      await this.kill('SIGKILL').catch((e: unknown) => {
        if (!(e instanceof ContainerStateError)) throw e;
      });
    }
    return this.wait();
  }

  /** pause freezes every process of the container (`docker pause`, the cgroup freezer). */
  async pause(): Promise<void> {
    await this.runtime.state.lock(this.id, async () => {
      const st = this.runtime.state.state(this.id);
      if (!st.Running || st.Paused) throw new ContainerStateError(this.id, 'pause', st.Status);
      if (!st.held?.cgroup) throw noCgroupError('pause');
      await (await Cgroup.open(st.held.cgroup)).freeze({ timeout: 10_000 });
      this.runtime.state.updateLocked(this.id, (s) => {
        s.Paused = true;
        s.Status = 'paused';
      });
    });
  }

  /** unpause thaws a paused container (`docker unpause`). */
  async unpause(): Promise<void> {
    await this.runtime.state.lock(this.id, async () => {
      const st = this.runtime.state.state(this.id);
      if (!st.Paused) throw new ContainerStateError(this.id, 'unpause', st.Status, 'it is not paused');
      if (!st.held?.cgroup) throw noCgroupError('unpause');
      await (await Cgroup.open(st.held.cgroup)).thaw({ timeout: 10_000 });
      this.runtime.state.updateLocked(this.id, (s) => {
        s.Paused = false;
        s.Status = s.Running ? 'running' : s.Status;
      });
    });
  }

  /**
   * remove deletes the container (`docker rm`): its directory, name, log, upper dir, and its use
   * of volumes (`volumes: true` = `rm -v`: its anonymous volumes are removed too). A running
   * container is refused with ContainerStateError unless `force` (`rm -f`: SIGKILL first).
   * Idempotent for a container already gone.
   */
  async remove(opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    let st: StateRecord;
    try {
      st = await this.state();
    } catch (e) {
      if (e instanceof ContainerNotFoundError) return;
      throw e;
    }
    if (st.Running) {
      if (!opts.force) throw new ContainerStateError(this.id, 'remove', st.Status, 'stop it first or use force');
      await this.kill('SIGKILL').catch((e: unknown) => {
        if (!(e instanceof ContainerStateError)) throw e;
      });
    }
    try {
      if (st.Running || st.held) await this.wait();
    } catch (e) {
      if (e instanceof ContainerNotFoundError) return; // removed by its monitor (autoRemove)
      throw e;
    }
    await removeContainer(this.runtime, this.id, opts.volumes ?? false);
  }

  /**
   * exec runs a program inside the running container (`docker exec`): its namespaces, root,
   * cgroups and capabilities, the container's environment (plus `env`), user and working
   * directory unless overridden. Resolves once the program runs; its Process gives the stdio
   * streams and `wait()`. ContainerStateError when the container is not running (or paused).
   */
  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<Process> {
    if (!Array.isArray(argv) || argv.length === 0) throw new TypeError('exec: argv must be a non-empty array of strings');
    const st = await this.state();
    if (!st.Running || !processAlive(st.process)) throw new ContainerStateError(this.id, 'exec in', st.Status);
    if (st.Paused) throw new ContainerStateError(this.id, 'exec in', 'paused', 'unpause it first');
    const rec = this.#record;
    const paths = this.runtime.state.paths(this.id);
    const user = resolveUserInRoot(rootfsDirs(paths, rec).merged, opts.user ?? rec.Config.User, rec.HostConfig.GroupAdd ?? []);
    const env = processEnv(mergeEnv(rec.Config.Env, opts.env), { hostname: containerHostname(rec), tty: opts.tty ?? false, home: user.home });
    return enter(isRootless() ? enterablePid(st.Pid, rec.HostConfig.Init) : st.Pid, {
      argv,
      env,
      cwd: opts.workdir ?? (rec.Config.WorkingDir || '/'),
      user: isRootless() ? rootlessUser(user) : { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      capabilities: opts.privileged ? capabilitySet(['ALL'], null) : capabilitySet(rec.HostConfig.CapAdd, rec.HostConfig.CapDrop),
      stdio: opts.tty ? { tty: true } : (opts.stdio ?? ['ignore', 'pipe', 'pipe']),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  /**
   * logs reads the container's json-file log (`docker logs`): lines of stdout and/or stderr,
   * since/until a time, the last `tail` lines, with timestamps; `follow` keeps yielding as the
   * container writes until it has exited and everything is read (or `signal` aborts).
   */
  logs(opts: LogsOptions = {}): AsyncIterable<LogLine> {
    const path = this.runtime.state.paths(this.id).log;
    const done = (): boolean => {
      try {
        const s = this.runtime.state.state(this.id);
        return !s.Running && !s.held;
      } catch {
        return true;
      }
    };
    return readJsonLog(path, { ...opts, done });
  }

  /**
   * waitForLog resolves with the first log line (stdout or stderr, already written or to come)
   * matching `pattern`. Rejects with WaitTimeoutError after `timeout` ms (default 30 s) and with
   * ContainerStateError when the container exits without printing it.
   */
  async waitForLog(pattern: RegExp | string, opts: { timeout?: number; stream?: 'stdout' | 'stderr' } = {}): Promise<LogLine> {
    const timeout = opts.timeout ?? 30_000;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeout);
    try {
      for await (const line of this.logs({ follow: true, signal: ac.signal, ...(opts.stream === 'stdout' ? { stderr: false } : opts.stream === 'stderr' ? { stdout: false } : {}) })) {
        if (typeof pattern === 'string' ? line.text.includes(pattern) : pattern.test(line.text)) return line;
      }
    } finally {
      clearTimeout(timer);
    }
    if (ac.signal.aborted) throw new WaitTimeoutError(this.id, `a log line matching ${String(pattern)}`, timeout);
    const st = await this.state();
    throw new ContainerStateError(this.id, `see ${String(pattern)} in the log of`, st.Status, `it exited with ${st.ExitCode}`);
  }

  /**
   * waitForPort resolves once a TCP connection to the container's `port` succeeds: at its bridge
   * address, or on 127.0.0.1 with the host network. Rejects with WaitTimeoutError after `timeout`
   * ms (default 30 s), ContainerStateError when the container exits first.
   */
  async waitForPort(port: number, opts: { timeout?: number } = {}): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError('waitForPort: port must be 1-65535');
    const timeout = opts.timeout ?? 30_000;
    const deadline = Date.now() + timeout;
    let wait = 10;
    for (;;) {
      const st = await this.state();
      if (!st.Running) throw new ContainerStateError(this.id, `wait for port ${port} of`, st.Status);
      const mode = this.#record.network.mode;
      // slirp4netns: its address is inside the user-mode network; a published port is reached on
      // the host, where slirp4netns accepts every connection before it knows whether the container
      // does: the container's own socket table says when something listens.
      const fwd = mode === 'slirp4netns' ? st.held?.endpoint?.ports.find((p) => p.container === port && p.protocol === 'tcp') : undefined;
      const host = mode === 'host' ? '127.0.0.1' : mode === 'slirp4netns' ? (fwd ? fwd.hostIp || '127.0.0.1' : undefined) : st.held?.endpoint?.ip;
      if (!host) throw new FeatureUnavailableError('waitForPort', `container ${this.shortId} has no address reachable from the host (network ${this.#record.HostConfig.NetworkMode})`);
      const ready = fwd
        ? listensOn(isRootless() ? enterablePid(st.Pid, this.#record.HostConfig.Init) : st.Pid, port) && (await canConnect(host, fwd.host, Math.min(1000, Math.max(50, deadline - Date.now()))))
        : await canConnect(host, port, Math.min(1000, Math.max(50, deadline - Date.now())));
      if (ready) return;
      if (Date.now() >= deadline) throw new WaitTimeoutError(this.id, `port ${port}`, timeout);
      await sleep(wait);
      wait = Math.min(wait * 2, 200);
    }
  }

  /** top lists the container's processes (`docker top`): UID, PID, PPID, STIME, TIME, CMD from /proc. */
  async top(): Promise<TopResult> {
    const st = await this.state();
    if (!st.Running) throw new ContainerStateError(this.id, 'list the processes of', st.Status);
    if (!st.held?.cgroup) throw noCgroupError('top');
    const cg = await Cgroup.open(st.held.cgroup);
    const tick = 100;
    const boot = Date.now() / 1000 - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const rows: string[][] = [];
    for (const pid of await cg.procs({ recursive: true })) {
      const f = procStat(pid);
      if (!f) continue;
      let uid = '?';
      let cmd = '';
      try {
        uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      } catch {
        continue; // exited meanwhile
      }
      const cpu = Math.floor((Number(f[11]) + Number(f[12])) / tick);
      const started = new Date((boot + Number(f[19]) / tick) * 1000);
      const hms = `${String(Math.floor(cpu / 3600)).padStart(2, '0')}:${String(Math.floor(cpu / 60) % 60).padStart(2, '0')}:${String(cpu % 60).padStart(2, '0')}`;
      rows.push([uid, String(pid), f[1]!, started.toTimeString().slice(0, 5), hms, cmd]);
    }
    return { Titles: ['UID', 'PID', 'PPID', 'STIME', 'TIME', 'CMD'], Processes: rows.sort((a, b) => Number(a[1]) - Number(b[1])) };
  }

  /** stats reads what the container uses (`docker stats --no-stream`): its cgroup's counters and its network interfaces' bytes and packets. */
  async stats(): Promise<ContainerStats> {
    const st = await this.state();
    if (!st.Running) throw new ContainerStateError(this.id, 'read the stats of', st.Status);
    if (!st.held?.cgroup) throw noCgroupError('stats');
    const cgroup = await (await Cgroup.open(st.held.cgroup)).stats();
    const networks: ContainerStats['networks'] = {};
    if (this.#record.network.mode !== 'host') {
      try {
        for (const line of readFileSync(`/proc/${st.Pid}/net/dev`, 'utf8').split('\n').slice(2)) {
          const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
          if (!m || m[1] === 'lo') continue;
          const f = m[2]!.trim().split(/\s+/).map(Number);
          networks[m[1]!] = { rx_bytes: f[0]!, rx_packets: f[1]!, tx_bytes: f[8]!, tx_packets: f[9]! };
        }
      } catch {
        // exited meanwhile
      }
    }
    return { read: new Date().toISOString(), cgroup, networks };
  }

  /**
   * commit makes an image of the container (`docker commit -p -a -m -c`): pauses it (unless
   * `pause: false`), turns its changes into a layer on top of its image, takes its config with
   * `changes` applied (`CMD ["/bin/httpd","-f"]`…), writes the image to the store and tags it
   * with `ref`. Invalid `changes` are rejected (InvalidChangeError) before anything is written.
   */
  async commit(opts: CommitOptions = {}): Promise<CommitResult> {
    if (opts.changes !== undefined) parseChanges(opts.changes);
    const store = await this.runtime.store();
    const st = await this.state();
    // The default pause needs the cgroup freezer: a container without a cgroup (rootless without
    // limits) is committed running, as with `pause: false`; an explicit `pause: true` is refused.
    const pause = (opts.pause ?? Boolean(st.held?.cgroup)) && st.Running && !st.Paused;
    if (pause) await this.pause();
    try {
      // The layer is written to the store before the root filesystem is let go.
      const { image, layer } = await this.#withRootfs(async (fs) => commitImage(store, this.#record, await fs.diff(), opts));
      const descriptor = await store.write(image, opts.ref, opts.signal ? { signal: opts.signal } : {});
      return { id: await image.configDigest(), descriptor, layer };
    } finally {
      if (pause) await this.unpause().catch(() => undefined);
    }
  }

  /**
   * export writes the container's filesystem as one plain tar (`docker export`), running or
   * stopped: its image layers with its changes merged, as the container sees its root without
   * its volumes, binds and /etc files (the init layer's empty /etc/hosts, /proc … are there, as in
   * Docker's). `output` is a file path (written atomically) or a Writable; through
   * @stratum/image-archive's `exportRootfs`. A stopped container's root is mounted (or, with vfs,
   * read in place) for the export, under its lock, so that a start waits.
   */
  async export(output: string | Writable, opts: { signal?: AbortSignal } = {}): Promise<ExportRootfsResult> {
    if (typeof output !== 'string' && !(output !== null && typeof output === 'object' && typeof (output as Writable).write === 'function')) {
      throw new TypeError('export: output must be a file path or a Writable');
    }
    // Rootless, read inside a user namespace with the container's maps: the tar records its ids.
    if (isRootless()) return this.#withRootfs((fs) => exportInUserns(fs.path, output, opts.signal));
    return this.#withRootfs((fs) => exportRootfs(fs.path, output, opts.signal ? { signal: opts.signal } : {}));
  }

  /**
   * exportBundle writes an OCI runtime bundle of the container into `dir` (empty or missing):
   * `config.json` (its process, user, env, mounts, namespaces with an unconfigured network
   * namespace, masked/read-only paths, capabilities, cgroup limits) and `rootfs/`, a copy of its
   * filesystem with its /etc files — what `runc run`/`crun run` start as is.
   */
  async exportBundle(dir: string, opts: ExportBundleOptions = {}): Promise<void> {
    if (typeof dir !== 'string' || dir === '') throw new TypeError('exportBundle: dir must be a path');
    await this.#withRootfs(async (fs) => writeBundle(this.#record, this.runtime.state.paths(this.id), fs.path, resolvePath(dir), opts));
  }

  /**
   * #withRootfs runs `fn` with the container's root filesystem: while it runs, the one its monitor
   * mounted (this process's handle, or the driver's layout when the monitor is another process);
   * when it is not running, prepared by its driver for the call and released after, holding the
   * container's lock so that no start mounts it meanwhile.
   */
  async #withRootfs<T>(fn: (fs: { path: string; diff(): Promise<LayerChange> }) => Promise<T>): Promise<T> {
    const rt = this.runtime;
    const rec = this.#record;
    const paths = rt.state.paths(this.id);
    const driver = driverOf(rec);
    const recorded = (): { path: string; diff(): Promise<LayerChange> } => {
      const dirs = rootfsDirs(paths, rec);
      return { path: dirs.merged, diff: async () => recordedChange(this.id, driver, dirs) };
    };
    let st = await this.state();
    if (!st.Running && st.held) {
      await this.wait(); // exiting: its monitor is releasing it
      st = await this.state();
    }
    if (st.Running) return fn(monitored(this.id)?.rootfs ?? recorded());
    return rt.state.lock(this.id, async () => {
      if (rt.state.state(this.id).Running) return fn(recorded()); // started before we got the lock
      const fs = await ContainerRootfs.prepare(rt, rec, paths);
      try {
        return await fn(fs);
      } finally {
        await fs.release();
      }
    });
  }

  /** Stops (with the default timeout) and removes the container, with its anonymous volumes: for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.stop();
    } catch (e) {
      if (!(e instanceof ContainerNotFoundError)) throw e;
    }
    await this.remove({ force: true, volumes: true });
  }
}

function resultOf(st: StateRecord): ExitResult {
  return { exitCode: st.ExitCode, oomKilled: st.OOMKilled, ...(st.Error ? { error: st.Error } : {}) };
}

/** listensOn: whether a TCP socket listens on `port` in the network namespace of process `pid` (its /proc/PID/net/tcp and tcp6). */
function listensOn(pid: number, port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const f of ['tcp', 'tcp6']) {
    try {
      for (const line of readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').slice(1)) {
        const [, local, , state] = line.trim().split(/\s+/);
        if (state === '0A' && local?.endsWith(hex)) return true;
      }
    } catch {
      // gone, or no IPv6
    }
  }
  return false;
}

function canConnect(host: string, port: number, timeout: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeout, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function resolveNetwork(rt: Runtime, s: ReturnType<typeof checkSpec>): ContainerRecord['network'] {
  // Rootless, the default is rootless podman's, slirp4netns (user-mode networking), where it is
  // installed, else 'none' (only loopback): a bridge needs root (see rootless.ts).
  let n = s.network;
  if (n === undefined && isRootless()) {
    n = slirpAvailable() ? 'slirp4netns' : 'none';
    if (n === 'none' && s.ports.length) throw new FeatureUnavailableError('publishing ports without root', `a rootless container publishes ports through the slirp4netns network, which is unavailable: ${slirpUnavailable()}`);
  }
  n ??= 'bridge';
  if (typeof n === 'object') {
    const ref = typeof n.container === 'string' ? n.container : n.container.id;
    return { mode: 'container', container: rt.state.resolve(ref), ports: [] };
  }
  if (n === 'host' || n === 'none') return { mode: n as 'host' | 'none', ports: [] };
  if (n === 'slirp4netns') return { mode: 'slirp4netns', ports: s.ports };
  if (n.startsWith('container:')) return { mode: 'container', container: rt.state.resolve(n.slice('container:'.length)), ports: [] };
  const name = n === 'bridge' ? rt.networks.defaultName : n;
  rt.networks.config(name); // NetworkNotFoundError for an unknown one
  return { mode: 'bridge', name, ports: s.ports };
}

