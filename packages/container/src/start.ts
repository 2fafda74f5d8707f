/**
 * Starting a container and watching it run: this is the monitor's work (conmon's job), done by
 * whichever Node process starts the container — the caller's own, or a detached monitor process
 * for `detach: true`. It makes the kernel objects (rootfs mount, cgroup, network namespace and
 * endpoint), records them in state.json before and after, starts the process, appends its output
 * to the json-file log, and when it exits records the exit status and removes everything again.
 */
import { fchownSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { constants as osConstants, tmpdir } from 'node:os';
import { Cgroup } from '@stratum/cgroup';
import { ErrnoError, O, mkdirat, resolveInRoot } from '@stratum/native';
import { SpawnError, spawn, type Process, type SpawnSpec, type StdioItem } from '@stratum/namespace';
import { Netlink, Netns, type Attachment, type BridgeNetwork } from '@stratum/netns';
import { writeEtcFiles } from './etc-files.js';
import { ContainerStateError } from './errors.js';
import { isErrno, processAlive, processRef } from './fsutil.js';
import { JsonLogWriter, type LogStream } from './logs.js';
import { processSpecParts, containerHostname } from './process-spec.js';
import { cgroupLimits } from './resources.js';
import type { ContainerPaths, ContainerRecord, EndpointRecord, StateRecord } from './record.js';
import { ContainerRootfs, driverOf, rootfsDirs } from './rootfs.js';
import type { Runtime } from './runtime.js';
import type { StartIO } from './spec.js';
import { enterablePid, hasLimits, isRootless, rootlessIdMaps, rootlessRefusal, rootlessUser } from './rootless.js';
import { SLIRP, SlirpNetwork } from './slirp.js';
import { resolveUserInRoot } from './user.js';

/** mkdirInRoot creates `path` (and its parents) inside `root`, every component resolved in the root. Owned by uid/gid, mode 0755. */
export function mkdirInRoot(root: string, path: string, uid = 0, gid = 0): void {
  const parts = path.split('/').filter((p) => p && p !== '.');
  for (let i = 0; i < parts.length; i++) {
    const sub = `/${parts.slice(0, i + 1).join('/')}`;
    try {
      resolveInRoot(root, sub).close();
      continue;
    } catch (e) {
      if (!(e instanceof ErrnoError && e.code === 'ENOENT')) throw e;
    }
    const parent = resolveInRoot(root, `/${parts.slice(0, i).join('/')}`, { flags: O.PATH | O.DIRECTORY });
    try {
      mkdirat(parent, parts[i]!, 0o755);
      if (uid !== 0 || gid !== 0) {
        const fd = resolveInRoot(root, sub, { flags: O.RDONLY | O.DIRECTORY });
        try {
          // fchown through the fd: never a path that could be swapped meanwhile.
          fchownSync(fd.fd, uid, gid);
        } finally {
          fd.close();
        }
      }
    } catch (e) {
      if (!(e instanceof ErrnoError && e.code === 'EEXIST')) throw e;
    } finally {
      parent.close();
    }
  }
}

function makeMountTarget(root: string, m: { destination: string; type?: string; source?: string }): void {
  let file = false;
  if (m.type === 'bind' && m.source) {
    try {
      file = !statSync(m.source).isDirectory();
    } catch {
      // spawn reports a missing source
    }
  }
  if (!file) return mkdirInRoot(root, m.destination);
  mkdirInRoot(root, dirname(m.destination));
  try {
    resolveInRoot(root, m.destination, { flags: O.WRONLY | O.CREAT, mode: 0o644 }).close();
  } catch (e) {
    if (!(e instanceof ErrnoError && (e.code === 'EISDIR' || e.code === 'EEXIST'))) throw e;
  }
}

/**
 * cgroupControllers: the controllers a container's cgroup joins: memory, pids and cpu (with
 * cpuacct) for its limits and stats, cpuset when pinned. Fewer than Docker's every-controller
 * default: on v1 and hybrid hosts each hierarchy joined costs the start a synchronous RCU wait in
 * the kernel; the devices controller would hold no rules anyway, and the freezer is the unified
 * one where it exists.
 */
export function cgroupControllers(rec: ContainerRecord): Array<'memory' | 'pids' | 'cpu' | 'cpuset'> {
  return ['memory', 'pids', 'cpu', ...(rec.HostConfig.CpusetCpus ? (['cpuset'] as const) : [])];
}

/**
 * oomKilled reads whether the OOM killer killed a process of the cgroup: `oom_kill` of v1
 * memory.oom_control or v2 memory.events (the one counter, not every stat file). False when
 * unreadable.
 */
export function oomKilled(cg: Cgroup): boolean {
  const dir = cg.dir('memory');
  if (!dir) return false;
  for (const f of ['memory.events', 'memory.oom_control']) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(dir, f), 'utf8'));
      if (m) return Number(m[1]) > 0;
    } catch {
      // not this version's file
    }
  }
  return false;
}

/** Held: the kernel objects one run of a container holds, released in reverse order. */
class Held {
  rootfs?: ContainerRootfs;
  cgroup?: Cgroup;
  netns?: Netns;
  network?: BridgeNetwork;
  attachment?: Attachment;
  slirp?: SlirpNetwork;

  /**
   * release lets go of everything, three independent chains run together (the namespace and the
   * endpoint mostly wait on the kernel's RCU grace periods, which the others fill). With
   * `removeRootfs` the root filesystem's directories go too (a container about to be removed):
   * that work is done while the endpoint's deletion waits, not after it.
   */
  async release(opts: { removeRootfs?: boolean; namespaceReleased?: boolean } = {}): Promise<void> {
    const errors: unknown[] = [];
    const step = async (fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    // Three independent chains, run together. The namespace goes first in its chain: with the
    // last process gone, closing it lets the kernel delete the veth pair itself; detach then
    // finds it gone (or deletes what is left), releases the lease and removes the port rules.
    const ns = this.netns;
    const [net, a] = [this.network, this.attachment];
    const slirp = this.slirp;
    this.slirp = undefined;
    const cg = this.cgroup;
    const r = this.rootfs;
    this.netns = undefined;
    this.attachment = undefined;
    this.cgroup = undefined;
    this.rootfs = undefined;
    await Promise.all([
      step(async () => {
        ns?.close();
        // Nothing else holding the namespace, the kernel deletes the veth pair as it frees it:
        // deleting it ourselves would only wait for the same RCU grace periods. The address is
        // not handed out again soon (next-fit allocation).
        if (net && a) await net.detach(a, { namespaceReleased: opts.namespaceReleased === true });
        await slirp?.close();
      }),
      step(async () => {
        if (!cg) return;
        await cg.kill();
        await cg.delete();
      }),
      step(() => (opts.removeRootfs ? r?.remove() : r?.release())),
    ]);
    if (errors.length) throw errors[0];
  }
}

/** NetworkSetup: what the network mode gave a starting container. */
interface NetworkSetup {
  /** The namespace to join (undefined: the host's). */
  net: NonNullable<SpawnSpec['namespaces']>['net'] | undefined;
  ips: string[];
  gateway: string | undefined;
  endpoint: EndpointRecord | undefined;
  /** Rootless with `container:` or slirp4netns: the user namespace to join first (the network namespace belongs to it). */
  user?: string;
  /** The DNS server when the network has its own (slirp4netns) and none was given. */
  dns?: string[];
  /** Whose /etc files to bind (another container's with `container:`). */
  etc: Pick<ContainerPaths, 'hosts' | 'hostname' | 'resolvConf'>;
  hostname: string;
}

/**
 * setupNetwork realizes the container's network mode: a new namespace attached to a bridge
 * network (or with only `lo` for `none`), the host's, or another running container's. What it
 * makes is put into `held` as soon as it exists, so a failure anywhere releases it.
 */
async function setupNetwork(rt: Runtime, rec: ContainerRecord, held: Held, rootless: boolean): Promise<NetworkSetup> {
  const sd = rt.state;
  const out: NetworkSetup = { net: undefined, ips: [], gateway: undefined, endpoint: undefined, etc: sd.paths(rec.Id), hostname: containerHostname(rec) };
  const mode = rec.network.mode;
  if (rootless && mode === 'none') {
    // A new namespace made by the helper inside the container's user namespace, its lo brought
    // up there (`loopback`): this process cannot enter it to do so.
    out.net = true;
  } else if (mode === 'slirp4netns') {
    const slirp = await SlirpNetwork.create({ rootless, socketDir: tmpdir(), name: rec.Id.slice(0, 12), ports: rec.network.ports });
    held.slirp = slirp;
    out.net = slirp.net;
    if (slirp.user) out.user = slirp.user;
    out.ips = [SLIRP.ip];
    out.gateway = SLIRP.gateway;
    out.dns = [SLIRP.dns];
    out.endpoint = { network: 'slirp4netns', attachmentId: '', ip: SLIRP.ip, prefixLen: SLIRP.prefixLen, gateway: SLIRP.gateway, mac: '', hostIfname: '', ports: rec.network.ports };
  } else if (mode === 'bridge' || mode === 'none') {
    held.netns = await Netns.create();
    out.net = held.netns;
    if (mode === 'bridge') {
      const net = await rt.networks.get(rec.network.name);
      held.network = net;
      const a = await net.attach(held.netns, { ports: rec.network.ports, name: rec.Name });
      held.attachment = a;
      out.ips = [a.ip];
      out.gateway = a.gateway;
      out.endpoint = { network: net.name, attachmentId: a.id, ip: a.ip, prefixLen: Number(a.cidr.split('/')[1]), gateway: a.gateway, mac: a.mac, hostIfname: a.hostIfname, ports: a.ports };
    } else {
      using nl = await Netlink.open({ netns: held.netns });
      await nl.links.setUp('lo');
    }
  } else if (mode === 'container') {
    const other = rec.network.container!;
    const os = sd.state(other);
    if (!os.Running || !processAlive(os.process)) throw new ContainerStateError(other, 'join the network namespace of', os.Status, `needed by container ${rec.Id.slice(0, 12)}`);
    const orec = sd.record(other);
    const pid = rootless ? enterablePid(os.Pid, orec.HostConfig.Init) : os.Pid;
    out.net = `/proc/${pid}/ns/net`;
    if (rootless) out.user = `/proc/${pid}/ns/user`;
    out.etc = sd.paths(other);
    out.hostname = containerHostname(orec);
  }
  return out;
}

/** Running: a container this process monitors. */
export interface Running {
  readonly id: string;
  readonly process: Process;
  /** Its root filesystem as this process mounted it. */
  readonly rootfs: ContainerRootfs;
  /** Resolves with the final state once the container has exited and everything is released (and removed with autoRemove). */
  readonly done: Promise<StateRecord>;
}

const running = new Map<string, Running>();

/** monitored returns the container this process monitors, if it does. @internal */
export function monitored(id: string): Running | undefined {
  return running.get(id);
}

/** exitCodeOf turns an exit status into Docker's ExitCode (128 + n for a signal). */
export function exitCodeOf(st: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (st.code !== null) return st.code;
  const n = st.signal ? ((osConstants.signals as Record<string, number>)[st.signal] ?? 0) : 0;
  return 128 + n;
}

function startErrorCode(e: unknown): number {
  if (e instanceof SpawnError && e.step === 'exec') return e.code === 'ENOENT' ? 127 : e.code === 'EACCES' ? 126 : 128;
  return 128;
}

/** ExitRecord: how a container ended, as its State and the `--rm` tombstone keep it. */
export type ExitRecord = Pick<StateRecord, 'ExitCode' | 'OOMKilled' | 'Error' | 'FinishedAt'>;

/**
 * RemoveHook: how a finished autoRemove container is removed (set by container.ts); with `exit`,
 * that is its final state (not recorded before). Resolves with the final state. @internal
 */
export type RemoveHook = (rt: Runtime, id: string, exit?: ExitRecord) => Promise<StateRecord | undefined>;
let removeHook: RemoveHook | undefined;
/** setRemoveHook installs how a finished autoRemove container is removed. @internal */
export function setRemoveHook(h: RemoveHook): void {
  removeHook = h;
}

/**
 * startContainer starts a created or exited container in this process, which becomes its
 * monitor. Resolves once the program has been exec'd (or rejects with the failing step, nothing
 * left behind and State.Error recorded). ContainerStateError when it already runs.
 */
export async function startContainer(rt: Runtime, id: string, io: StartIO = {}): Promise<Running> {
  const sd = rt.state;
  const paths = sd.paths(id);
  const rootless = isRootless();
  return sd.lock(id, async () => {
    const rec = sd.record(id);
    if (rootless) {
      // Refused before anything is made (a container created by root, or with other options).
      const refusal = rootlessRefusal(rec, rt.options.cgroupParent);
      if (refusal) throw refusal;
    }
    const before = sd.state(id);
    if (before.Running && processAlive(before.process)) throw new ContainerStateError(id, 'start', before.Status, 'it is already running');
    const held = new Held();
    let p: Process | undefined;
    let networkPending: Promise<NetworkSetup> | undefined;
    try {
      const driver = driverOf(rec);
      const root = rootfsDirs(paths, rec).merged;
      // Rootless without limits: no cgroup at all (as rootless podman with cgroupfs); with limits
      // (only where rootlessRefusal found a delegated v2 subtree) the same as root.
      const cgroupPath = rootless && !hasLimits(rec.HostConfig) ? undefined : rt.cgroupPath(id);
      // Intent first: a crash from here on leaves nothing gc() cannot find.
      // (Not fsynced: the page cache outlives a killed process, and the kernel objects it guards
      // do not outlive a reboot.)
      sd.updateLocked(
        id,
        (s) => {
          s.held = { rootfs: root, driver, ...(cgroupPath !== undefined ? { cgroup: cgroupPath } : {}) };
          s.monitor = processRef(process.pid)!;
        },
        { durable: false },
      );
      // The network (namespace, veth, address, routes: mostly waiting on the kernel and the thread
      // pool) is set up while this thread mounts the root and makes the cgroup.
      const setup = setupNetwork(rt, rec, held, rootless);
      networkPending = setup;
      // Handled below (awaited, or awaited in the catch): not an unhandled rejection meanwhile.
      setup.catch(() => undefined);
      // Rootless, nothing is mounted in the host's namespace: the helper's rootfs bind (and its
      // read-only remount) happen inside the container's mount namespace.
      const fs = await ContainerRootfs.prepare(rt, rec, paths, { bound: !rootless });
      held.rootfs = fs;
      if (cgroupPath !== undefined) held.cgroup = Cgroup.createSync(cgroupPath, cgroupLimits(rec.HostConfig), { controllers: cgroupControllers(rec) });
      const { net, ips, gateway, endpoint, etc, hostname, user: joinUser, dns } = await setup;
      networkPending = undefined;
      const mode = rec.network.mode;
      const ids = rootless ? rootlessIdMaps() : undefined;
      const userns = joinUser ?? (ids ? { uidMap: ids.uidMap, gidMap: ids.gidMap } : undefined);
      const namespaces: SpawnSpec['namespaces'] = { ...(userns ? { user: userns } : {}), pid: true, mount: true, ipc: true, ...(net !== undefined ? { net } : {}) };
      if (mode !== 'host') namespaces.uts = true;
      if (mode !== 'container') {
        writeEtcFiles(paths, {
          hostname,
          ...(rec.Config.Domainname ? { domainname: rec.Config.Domainname } : {}),
          ips,
          extraHosts: rec.HostConfig.ExtraHosts ?? [],
          ...(gateway !== undefined ? { hostGateway: gateway } : {}),
          dns: rec.HostConfig.Dns.length || !dns ? rec.HostConfig.Dns : dns,
          dnsSearch: rec.HostConfig.DnsSearch,
          dnsOptions: rec.HostConfig.DnsOptions,
          hostNetwork: mode === 'host',
        });
      }
      const user = resolveUserInRoot(root, rec.Config.User, rec.HostConfig.GroupAdd ?? []);
      if (rec.Config.WorkingDir) mkdirInRoot(root, rec.Config.WorkingDir);
      if (rec.HostConfig.ReadonlyRootfs) {
        // The mount points of volumes, binds and tmpfs are made while the root is still writable
        // (runc remounts the root read-only after its mounts for the same reason).
        for (const m of rec.mounts) makeMountTarget(root, m.spawn);
        // Rootless, the helper remounts it read-only inside (spawn's readonlyRootfs).
        if (!rootless) fs.makeReadOnly();
      }
      const parts = processSpecParts(rec, etc, user);
      // sysfs can only be mounted by the owner of the network namespace: with the host's, a
      // rootless container gets the host's /sys bound read-only (as rootless podman).
      const mounts = rootless && mode === 'host' ? parts.mounts.map((m) => (m.type === 'sysfs' ? { destination: m.destination, type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m)) : parts.mounts;
      const tty = rec.Config.Tty === true;
      const stdio: SpawnSpec['stdio'] = tty
        ? { tty: true, rows: io.rows ?? 24, cols: io.cols ?? 80 }
        : [(rec.Config.OpenStdin ? 'pipe' : 'ignore') as StdioItem, 'pipe', 'pipe'];
      const log = new JsonLogWriter(paths.log);
      try {
        p = await spawn({
          argv: parts.argv,
          env: parts.env,
          cwd: parts.cwd,
          namespaces,
          ...(namespaces.uts ? { hostname: parts.hostname } : {}),
          ...(namespaces.uts && rec.Config.Domainname ? { domainname: rec.Config.Domainname } : {}),
          rootfs: root,
          ...(rootless && rec.HostConfig.ReadonlyRootfs ? { readonlyRootfs: true } : {}),
          ...(rootless && net === true ? { loopback: true } : {}),
          mounts,
          maskedPaths: parts.maskedPaths,
          readonlyPaths: parts.readonlyPaths,
          user: ids ? rootlessUser(user, ids) : { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
          capabilities: parts.capabilities,
          ...(held.cgroup ? { cgroup: held.cgroup } : {}),
          init: rec.HostConfig.Init,
          stdio,
          ...(rec.HostConfig.AutoRemove ? { parentDeathSignal: 'SIGKILL' as const } : {}),
        });
      } catch (e) {
        await log.close();
        throw e;
      }
      const proc = p;
      // In the namespaces now: the slirp4netns holder can go.
      await held.slirp?.joined();
      const ref = processRef(proc.pid);
      const startedAt = new Date().toISOString();
      sd.updateLocked(id, (s) => {
        s.Status = 'running';
        s.Running = true;
        s.Paused = false;
        s.OOMKilled = false;
        s.Dead = false;
        s.Pid = proc.pid;
        s.ExitCode = 0;
        s.Error = '';
        s.StartedAt = startedAt;
        s.FinishedAt = '0001-01-01T00:00:00Z';
        if (ref) s.process = ref;
        s.monitor = processRef(process.pid)!;
        s.held = { rootfs: root, driver, ...(cgroupPath !== undefined ? { cgroup: cgroupPath } : {}), ...(endpoint ? { endpoint } : {}) };
      }, { durable: false });
      const pumps = pump(proc, log, io, tty);
      const r: Running = { id, process: proc, rootfs: fs, done: finish(rt, rec, proc, held, log, pumps) };
      running.set(id, r);
      void r.done.finally(() => {
        if (running.get(id) === r) running.delete(id);
      });
      return r;
    } catch (e) {
      if (p) {
        await p[Symbol.asyncDispose]().catch(() => undefined);
      }
      await networkPending?.catch(() => undefined);
      await held.release().catch(() => undefined);
      try {
        sd.updateLocked(id, (s) => {
          s.Error = e instanceof Error ? e.message : String(e);
          s.ExitCode = startErrorCode(e);
          delete s.held;
          delete s.monitor;
          delete s.process;
          s.Running = false;
          s.Pid = 0;
        });
      } catch {
        // the original error matters more
      }
      throw e;
    }
  });
}

function pump(p: Process, log: JsonLogWriter, io: StartIO, tty: boolean): Promise<void> {
  const ends: Array<Promise<void>> = [];
  const wire = (src: NodeJS.ReadableStream | null, stream: LogStream, copy: NodeJS.WritableStream | undefined): void => {
    if (!src) return;
    ends.push(
      new Promise<void>((resolve) => {
        src.on('data', (d: Buffer) => {
          log.write(stream, d);
          copy?.write(d);
        });
        src.once('end', resolve);
        src.once('close', resolve);
        src.once('error', () => resolve());
      }),
    );
  };
  wire(p.stdout, 'stdout', io.stdout);
  if (!tty) wire(p.stderr, 'stderr', io.stderr);
  if (io.stdin && p.stdin) {
    io.stdin.pipe(p.stdin);
    p.stdin.on('error', () => undefined);
  }
  return Promise.all(ends).then(() => undefined);
}

/**
 * networkJoined: whether a running container shares `id`'s network namespace
 * (`network: { container: id }`): it keeps the namespace, and so the veth pair, alive.
 */
function networkJoined(rt: Runtime, id: string): boolean {
  const sd = rt.state;
  for (const other of sd.ids()) {
    if (other === id) continue;
    try {
      const r = sd.record(other);
      if (r.network.mode !== 'container' || r.network.container !== id) continue;
      const st = sd.state(other);
      if (st.Running && processAlive(st.process)) return true;
    } catch {
      // removed meanwhile
    }
  }
  return false;
}

async function finish(rt: Runtime, rec: ContainerRecord, p: Process, held: Held, log: JsonLogWriter, pumps: Promise<void>): Promise<StateRecord> {
  const id = rec.Id;
  const st = await p.wait();
  // Read before the cgroup goes. The resources are released while the output still in the pipes
  // is drained into the log (the pipes end when the last holder exits: in a pid namespace, the
  // init, gone by now).
  const oom = held.cgroup ? oomKilled(held.cgroup) : false;
  let releaseError = '';
  await Promise.all([
    Promise.race([pumps, new Promise((r) => setTimeout(r, 2000).unref())]).then(() => log.close()),
    held.release({ removeRootfs: rec.HostConfig.AutoRemove, namespaceReleased: !networkJoined(rt, id) }).catch((e: unknown) => {
      releaseError = e instanceof Error ? e.message : String(e);
    }),
  ]);
  const exit: ExitRecord = { ExitCode: exitCodeOf(st), OOMKilled: oom, Error: releaseError, FinishedAt: new Date().toISOString() };
  if (rec.HostConfig.AutoRemove && removeHook && !releaseError) {
    // `docker run --rm` with everything released: removed at once, the exit kept in .exits/ for
    // late waiters; no exited record in between (waiters elsewhere see the monitor alive, then
    // the removal). A removal that fails leaves the record below, for gc().
    const removed = await removeHook(rt, id, exit).catch(() => undefined);
    if (removed) return removed;
  }
  let final: StateRecord;
  try {
    // An autoRemove container's exit record lives only until the removal right after (which
    // leaves the exit in .exits/): no fsync for it.
    final = await rt.state.update(id, (s) => {
      s.Status = 'exited';
      s.Running = false;
      s.Paused = false;
      s.Pid = 0;
      s.ExitCode = exit.ExitCode;
      s.OOMKilled = exit.OOMKilled;
      s.FinishedAt = exit.FinishedAt;
      // What could not be released stays recorded: the next reconcile or gc() tries again.
      if (releaseError) s.Error = releaseError;
      else delete s.held;
      delete s.process;
      // An autoRemove container keeps naming its monitor until removed, so that waiters in other
      // processes wait for the removal (`docker run --rm`) unless the monitor dies first.
      if (!rec.HostConfig.AutoRemove) delete s.monitor;
    }, { durable: !rec.HostConfig.AutoRemove });
  } catch (e) {
    if (!isErrno(e, 'ENOENT') && !(e instanceof Error && (e as { code?: string }).code === 'CONTAINER_NOT_FOUND')) throw e;
    // removed meanwhile (remove --force from another process)
    return { Status: 'exited', ExitCode: exit.ExitCode } as StateRecord;
  }
  if (rec.HostConfig.AutoRemove && removeHook) await removeHook(rt, id).catch(() => undefined);
  return final;
}
