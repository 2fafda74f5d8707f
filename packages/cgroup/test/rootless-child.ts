/**
 * Run by rootless.test.ts as an unprivileged user (not a test file itself): manages cgroups in
 * the delegated v2 subtree it was given, and reports what happened as JSON on stdout.
 * argv: JSON { name, controller, limits, notMine }.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cgroup, type CgroupLimits, type ControllerName } from '@stratum/cgroup';

const { name, controller, limits, notMine } = JSON.parse(process.argv[2]!) as { name: string; controller: ControllerName; limits: CgroupLimits; notMine: string };
const out: Record<string, unknown> = { uid: process.getuid!() };
const errorOf = (e: unknown): Record<string, unknown> => {
  const x = e as { name?: string; code?: string; reason?: string; owner?: number; hierarchy?: string; message?: string };
  return { name: x.name, code: x.code, reason: x.reason, owner: x.owner, hierarchy: x.hierarchy, message: x.message };
};

// 1. Leave the delegated cgroup's own level for a leaf: v2 keeps processes out of inner nodes with controllers.
// Every process there moves, not only this one: tsx's esbuild service, started before this line,
// would otherwise stay behind and make subtree_control refuse controllers (EBUSY).
const leaf = await Cgroup.create(`${name}/leaf`, {}, { controllers: [] });
const delegated = await Cgroup.open(name);
for (const pid of new Set([process.pid, ...(await delegated.procs())])) await leaf.add(pid);
out.inLeaf = readFileSync('/proc/self/cgroup', 'utf8').includes(`${name}/leaf`);

// 2. A limited child cgroup with a process in it, killed and deleted again.
const work = await Cgroup.create(`${name}/work`, limits, { controllers: [controller] });
out.limitFiles = Object.fromEntries(readFileSync(join(work.dir(controller)!, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).map((c) => [c, true]));
out.stats = await work.stats();
const child = spawn('sleep', ['30'], { stdio: 'ignore' });
const exited = new Promise<string | null>((r) => child.on('exit', (_c, s) => r(s)));
await work.add(child.pid!);
out.procs = (await work.procs()).length;
await work.kill();
out.signal = await exited;
await work.delete();
out.workGone = !existsSync(work.dirs[0]!.path);

// 3. Outside the delegated subtree, and on v1: typed errors that say why.
out.notDelegated = await Cgroup.create(notMine, {}, { controllers: [] }).then(() => 'created?!', errorOf);
out.v1 = await Cgroup.create(`${name}/v1`, {}, { controllers: ['memory'], unified: false }).then(() => 'created?!', errorOf);

process.stdout.write(JSON.stringify(out));
