/**
 * Runtime.gc(): what a killed Node process leaves behind, found from the records under the state
 * dir and from the kernel, and removed: processes of containers whose monitor is gone (killed
 * through their cgroup), rootfs mounts, cgroups, bridge endpoints (veths, port rules, leases),
 * half-made or half-removed container directories, stale names, volume users that no longer
 * exist, `--rm` containers, and API sockets of slirp4netns processes that are gone.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cgroup, CgroupNotFoundError } from '@stratum/cgroup';
import { ContainerNotFoundError } from './errors.js';
import { processAlive } from './fsutil.js';
import { isContainerId } from './ids.js';
import { pruneLayerLeftovers, pruneUnusedLayers } from './images.js';
import { unmountRoot } from './rootfs.js';
import { removeTree } from './rootless.js';
import type { Runtime } from './runtime.js';
import { monitored } from './start.js';
import { volumeStore } from './volumes.js';

/** GcReport: what {@link Runtime.gc} found and removed. */
export interface GcReport {
  /** Containers whose processes ran without a monitor and were killed. */
  killed: string[];
  /** Containers whose monitor was gone and whose state was corrected (exited, resources released). */
  reconciled: string[];
  /** `--rm` containers removed. */
  removed: string[];
  /** Mount points unmounted. */
  mounts: string[];
  /** Bridge endpoints released (attachment ids). */
  endpoints: string[];
  /** Directories of interrupted creates/removes deleted. */
  leftovers: string[];
  /** Names whose container no longer exists. */
  names: string[];
  /** Volume users that no longer exist, released (`volume:container`). */
  volumeUsers: string[];
  /** Layer cache dirs no container uses, removed (with `layers: true`). */
  layers: string[];
}

/** GcOptions: what {@link Runtime.gc} also removes. */
export interface GcOptions {
  /** Also remove unpacked layers no container uses (they are unpacked again on demand). Default false. */
  layers?: boolean;
}

function mountPointsUnder(dir: string): string[] {
  const prefix = `${dir}/`;
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (p.startsWith(prefix)) out.push(p);
  }
  // Deepest first.
  return out.sort((a, b) => b.length - a.length);
}

function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** runGc is {@link Runtime.gc}'s implementation. @internal */
export async function runGc(
  rt: Runtime,
  hooks: { reconcile: (rt: Runtime, id: string) => Promise<unknown>; remove: (rt: Runtime, id: string) => Promise<void> },
  opts: GcOptions = {},
): Promise<GcReport> {
  const report: GcReport = { killed: [], reconciled: [], removed: [], mounts: [], endpoints: [], leftovers: [], names: [], volumeUsers: [], layers: [] };
  const sd = rt.state;
  const live = new Set<string>();
  for (const id of sd.ids()) {
    try {
      const rec = sd.record(id);
      const st = sd.state(id);
      const watched = monitored(id) !== undefined || processAlive(st.monitor);
      if (watched) {
        if (st.Running || st.held) live.add(id);
        continue;
      }
      if (!st.Running && !st.held) {
        if (rec.HostConfig.AutoRemove && st.Status === 'exited') {
          await hooks.remove(rt, id);
          report.removed.push(id);
        }
        continue;
      }
      if (st.Running && processAlive(st.process)) {
        // Orphaned: no monitor records its output or exit. Kill everything in its cgroup.
        if (st.held?.cgroup) {
          try {
            await (await Cgroup.open(st.held.cgroup)).kill();
          } catch (e) {
            if (!(e instanceof CgroupNotFoundError)) throw e;
          }
        }
        if (processAlive(st.process)) process.kill(st.Pid, 'SIGKILL');
        for (let i = 0; i < 200 && processAlive(st.process); i++) await new Promise((r) => setTimeout(r, 10));
        report.killed.push(id);
      }
      if (st.held?.endpoint) report.endpoints.push(st.held.endpoint.attachmentId);
      await hooks.reconcile(rt, id);
      report.reconciled.push(id);
      if (rec.HostConfig.AutoRemove) {
        await hooks.remove(rt, id);
        report.removed.push(id);
      }
    } catch (e) {
      if (e instanceof ContainerNotFoundError) continue;
      throw e;
    }
  }
  // Mounts under the containers' directories that no running container holds.
  for (const mp of mountPointsUnder(sd.containers)) {
    const id = mp.slice(sd.containers.length + 1).split('/')[0]!;
    if (live.has(id)) continue;
    unmountRoot(mp);
    report.mounts.push(mp);
  }
  // Interrupted creates and removes.
  for (const dir of sd.leftovers()) {
    await removeTree(dir);
    report.leftovers.push(dir);
  }
  report.names = await sd.pruneNames();
  report.leftovers.push(...(await pruneLayerLeftovers(rt)));
  // Endpoints on this runtime's networks whose veth is gone (their namespace died with its processes).
  for (const name of rt.networks.names()) {
    if (!existsSync(join(rt.root, 'networks', name, 'network.json'))) continue;
    const net = await rt.networks.get(name);
    for (const a of net.attachments()) {
      if (linkExists(a.hostIfname)) continue;
      await net.detach(a.id);
      if (!report.endpoints.includes(a.id)) report.endpoints.push(a.id);
    }
  }
  // Volume users that are no containers any more.
  if (existsSync(join(rt.root, 'volumes'))) {
    const vs = await volumeStore(rt);
    for (const v of await vs.list()) {
      for (const user of await vs.users(v.Name)) {
        if (isContainerId(user) && !sd.exists(user)) {
          await vs.release(v.Name, user);
          report.volumeUsers.push(`${v.Name}:${user}`);
        }
      }
    }
  }
  if (opts.layers) report.layers = await pruneUnusedLayers(rt);
  report.leftovers.push(...(await pruneSlirpSockets()));
  // Exit records of removed --rm containers, kept an hour for late `wait()`ers.
  const exits = join(sd.containers, '.exits');
  if (existsSync(exits)) {
    for (const f of readdirSync(exits)) {
      const p = join(exits, f);
      try {
        if (Date.now() - statSync(p).mtimeMs > 3600_000) rmSync(p, { force: true });
      } catch {
        // raced
      }
    }
  }
  return report;
}

/**
 * pruneSlirpSockets removes the API sockets (in the temp dir, shared by every runtime) that no
 * slirp4netns listens on any more: a monitor killed with its container leaves its socket file.
 */
async function pruneSlirpSockets(): Promise<string[]> {
  const dir = tmpdir();
  const removed: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!/^stratum-slirp-[0-9a-f]{12}-[0-9a-f]{8}\.sock$/.test(f)) continue;
    const path = join(dir, f);
    const listening = await new Promise<boolean>((resolve) => {
      const s = connect(path);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code !== 'ECONNREFUSED' && e.code !== 'ENOENT'));
    });
    if (listening) continue;
    rmSync(path, { force: true });
    removed.push(path);
  }
  return removed;
}
