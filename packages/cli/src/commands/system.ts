/** `stratum system prune`, `gc`, `info`, `version`. */
import { arch, platform, release } from 'node:os';
import { Container, type Runtime } from '@stratum/container';
import { flagBool, flagString, type ParsedArgs } from '../args.js';
import { Context } from '../context.js';
import { renderTemplate } from '../template.js';
import { cliVersion } from '../main.js';
import { humanSize } from '../units.js';
import { readAll } from './common.js';
import { listImages } from './images.js';
import { runtime } from './network.js';

async function confirm(ctx: Context, question: string): Promise<boolean> {
  ctx.out(`${question} [y/N] `);
  const answer = Context.isTTY(ctx.stdin) ? await readLine(ctx) : await readAll(ctx.stdin);
  return /^\s*y(es)?\s*$/i.test(answer.split('\n')[0] ?? '');
}

function readLine(ctx: Context): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    const on = (b: Buffer): void => {
      s += b.toString('utf8');
      if (s.includes('\n')) {
        ctx.stdin.off('data', on);
        ctx.stdin.pause();
        resolve(s);
      }
    };
    ctx.stdin.on('data', on);
    ctx.stdin.resume();
  });
}

/** pruneContainers removes every container that is not running; returns their IDs. */
async function pruneContainers(rt: Runtime): Promise<string[]> {
  const out: string[] = [];
  for (const s of await Container.list({ runtime: rt, all: true })) {
    if (s.State === 'running' || s.State === 'paused') continue;
    const c = await Container.get(s.Id, { runtime: rt });
    await c.remove();
    out.push(s.Id);
  }
  return out;
}

/** pruneNetworks removes the user-defined networks no container is attached to. */
async function pruneNetworks(rt: Runtime): Promise<string[]> {
  const out: string[] = [];
  const used = new Set<string>();
  for (const s of await Container.list({ runtime: rt, all: true })) {
    const c = await Container.get(s.Id, { runtime: rt });
    used.add(c.record.HostConfig.NetworkMode);
  }
  for (const name of rt.networks.names()) {
    if (name === rt.networks.defaultName || used.has(name)) continue;
    await rt.networks.remove(name);
    out.push(name);
  }
  return out;
}

/**
 * prune is `stratum system prune [-a] [--volumes] [-f]`: asks first (unless `-f`), then removes
 * what crashed processes left (Runtime.gc), stopped containers, unused networks, unused
 * anonymous volumes (`--volumes`), images no container uses (`-a`) and unreferenced blobs.
 */
export async function prune(ctx: Context, p: ParsedArgs): Promise<number> {
  const all = flagBool(p, 'all');
  const volumes = flagBool(p, 'volumes');
  if (!flagBool(p, 'force')) {
    const what = ['all stopped containers', 'all networks not used by at least one container', ...(volumes ? ['all anonymous volumes not used by at least one container'] : []), all ? 'all images without at least one container associated to them' : 'all unreferenced image data'];
    ctx.out(`WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join('')}\n`);
    if (!(await confirm(ctx, 'Are you sure you want to continue?'))) {
      ctx.out('\n');
      return 0;
    }
  }
  const rt = await runtime(ctx);
  await rt.gc();
  const containers = await pruneContainers(rt);
  if (containers.length > 0) ctx.out(`Deleted Containers:\n${containers.map((c) => `${c}\n`).join('')}\n`);
  const networks = await pruneNetworks(rt);
  if (networks.length > 0) ctx.out(`Deleted Networks:\n${networks.map((n) => `${n}\n`).join('')}\n`);
  let reclaimed = 0;
  if (volumes) {
    const { volumeStore } = await import('./volume.js');
    const r = await (await volumeStore(ctx)).prune();
    reclaimed += r.SpaceReclaimed;
    if (r.VolumesDeleted.length > 0) ctx.out(`Deleted Volumes:\n${r.VolumesDeleted.map((v) => `${v}\n`).join('')}\n`);
  }
  const store = await ctx.store();
  const untagged: string[] = [];
  if (all) {
    const inUse = new Set<string>();
    for (const s of await Container.list({ runtime: rt, all: true })) inUse.add(s.ImageID);
    for (const img of await listImages(store)) {
      if (inUse.has(img.id)) continue;
      if (await store.untag(img.ref)) untagged.push(img.ref);
    }
  }
  const gc = await store.gc();
  reclaimed += gc.bytes;
  if (untagged.length > 0 || gc.removed.length > 0) ctx.out(`Deleted Images:\n${[...untagged.map((u) => `untagged: ${u}`), ...gc.removed.map((d) => `deleted: ${d}`)].map((l) => `${l}\n`).join('')}\n`);
  ctx.out(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
  return 0;
}

/**
 * gc is `stratum gc`: Runtime.gc() — finds what killed stratum processes left behind (mounts,
 * cgroups, veths, netns, nft rules, IPAM leases, orphaned processes, `--rm` containers) and
 * removes it; prints what it did.
 */
export async function gc(ctx: Context): Promise<number> {
  const rt = await runtime(ctx);
  const report = await rt.gc();
  let any = false;
  for (const [key, items] of Object.entries(report) as Array<[string, unknown]>) {
    if (!Array.isArray(items) || items.length === 0) continue;
    any = true;
    ctx.out(`${key}: ${items.join(' ')}\n`);
  }
  if (!any) ctx.out('nothing to clean up\n');
  return 0;
}

/** info is `stratum info [-f TEMPLATE]`: the state dir, counts of containers and images, the host. */
export async function info(ctx: Context, p: ParsedArgs): Promise<number> {
  const rt = await runtime(ctx);
  const containers = await Container.list({ runtime: rt, all: true });
  const images = await listImages(await ctx.store());
  const data = {
    Containers: containers.length,
    ContainersRunning: containers.filter((c) => c.State === 'running').length,
    ContainersPaused: containers.filter((c) => c.State === 'paused').length,
    ContainersStopped: containers.filter((c) => c.State !== 'running' && c.State !== 'paused').length,
    Images: new Set(images.map((i) => i.id)).size,
    Driver: (await rt.storageDriver()).name,
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    KernelVersion: release(),
    OperatingSystem: platform(),
    Architecture: arch(),
    StratumRootDir: ctx.root,
    Networks: rt.networks.names(),
    ServerVersion: cliVersion(),
  };
  const format = flagString(p, 'format');
  if (format !== undefined) {
    ctx.out(`${renderTemplate(format, data)}\n`);
    return 0;
  }
  ctx.out(
    [
      `Containers: ${data.Containers}`,
      ` Running: ${data.ContainersRunning}`,
      ` Paused: ${data.ContainersPaused}`,
      ` Stopped: ${data.ContainersStopped}`,
      `Images: ${data.Images}`,
      `Storage Driver: ${data.Driver}`,
      `Logging Driver: ${data.LoggingDriver}`,
      `Cgroup Driver: ${data.CgroupDriver}`,
      `Networks: ${data.Networks.join(' ')}`,
      `Kernel Version: ${data.KernelVersion}`,
      `Architecture: ${data.Architecture}`,
      `Stratum Root Dir: ${data.StratumRootDir}`,
      '',
    ].join('\n'),
  );
  return 0;
}

/** version is `stratum version [-f TEMPLATE]`. */
export async function version(ctx: Context, p: ParsedArgs): Promise<number> {
  const data = { Client: { Version: cliVersion(), NodeVersion: process.version, Os: platform(), Arch: arch() } };
  const format = flagString(p, 'format');
  if (format !== undefined) ctx.out(`${renderTemplate(format, data)}\n`);
  else ctx.out(`Client:\n Version:      ${data.Client.Version}\n Node version: ${data.Client.NodeVersion}\n OS/Arch:      ${data.Client.Os}/${data.Client.Arch}\n`);
  return 0;
}
