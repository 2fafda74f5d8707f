/**
 * The container verbs over @stratum/container: `run`, `create`, `start`, `ps`, `exec`, `logs`,
 * `stop`, `kill`, `rm`, `commit`, `wait`, `pause`, `unpause`, `top`, `stats`, `container inspect`.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';
import { Container, type ContainerInspect, type ContainerSpec, type ContainerStats, type ContainerSummary } from '@stratum/container';
import { parseReference } from '@stratum/oci';
import { flagBool, flagInt, flagList, flagString, type ParsedArgs } from '../args.js';
import { Context } from '../context.js';
import { CliError, NoSuchObjectError, UsageError } from '../errors.js';
import { renderInspect, renderList, renderQuiet, tabwrite, type ListFormat } from '../format.js';
import { binarySize, ellipsis, humanSizeWithPrecision, shortId, since } from '../units.js';
import { eachName, labelsString, parseFilters, parseKeyValues } from './common.js';
import { listContainers, openContainer, type ListedContainer } from './containers.js';
import { pullImage } from './image.js';
import { runtime } from './network.js';

const osSignals: Record<string, number> = osConstants.signals;

/** readEnvFile reads `--env-file`: KEY=VALUE lines, `#` comments, a bare KEY taken from our environment. */
function readEnvFile(ctx: Context, file: string): string[] {
  const out: string[] = [];
  for (const raw of readFileSync(ctx.path(file), 'utf8').split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    out.push(line);
  }
  return out;
}

/** envList resolves `-e`/`--env-file` entries: `K=V` as is; a bare `K` takes our value, or is left out when we have none (as docker). */
function envList(ctx: Context, p: ParsedArgs): string[] {
  const all = [...flagList(p, 'env-file').flatMap((f) => readEnvFile(ctx, f)), ...flagList(p, 'env')];
  const out: string[] = [];
  for (const e of all) {
    if (e.includes('=')) out.push(e);
    else if (ctx.env[e] !== undefined) out.push(`${e}=${ctx.env[e]}`);
  }
  return out;
}

/** specOf turns `run`/`create` flags and arguments into a ContainerSpec (Docker's flag semantics). */
export function specOf(ctx: Context, p: ParsedArgs): ContainerSpec {
  const cmd = ctx.command;
  const [image, ...command] = p.args;
  const entrypoint = flagString(p, 'entrypoint');
  const cpus = flagString(p, 'cpus');
  const cpuNum = cpus === undefined ? undefined : Number(cpus);
  if (cpus !== undefined && (!/^\s*\d*\.?\d+\s*$/.test(cpus) || !Number.isFinite(cpuNum))) throw new UsageError(cmd, `invalid argument ${JSON.stringify(cpus)} for "--cpus" flag: not a number`);
  const resources: NonNullable<ContainerSpec['resources']> = {};
  const memory = flagString(p, 'memory');
  if (memory !== undefined) resources.memory = memory;
  const swap = flagString(p, 'memory-swap');
  if (swap !== undefined) resources.memorySwap = swap;
  if (cpuNum !== undefined) resources.cpus = cpuNum;
  const shares = flagInt(p, 'cpu-shares', cmd);
  if (shares !== undefined) resources.cpuShares = shares;
  const cpuset = flagString(p, 'cpuset-cpus');
  if (cpuset !== undefined) resources.cpusetCpus = cpuset;
  const pids = flagInt(p, 'pids-limit', cmd);
  if (pids !== undefined) resources.pidsLimit = pids;
  const stopTimeout = flagInt(p, 'stop-timeout', cmd);
  const spec: ContainerSpec = {
    ...(flagBool(p, 'rootfs') ? { rootfs: ctx.path(image!) } : { image: image! }),
    ...(command.length > 0 ? { cmd: command } : {}),
    ...(entrypoint !== undefined ? { entrypoint: entrypoint === '' ? [] : [entrypoint] } : {}),
    env: envList(ctx, p),
    labels: parseKeyValues(flagList(p, 'label')),
    addHosts: flagList(p, 'add-host'),
    dns: flagList(p, 'dns'),
    dnsSearch: flagList(p, 'dns-search'),
    dnsOptions: flagList(p, 'dns-option'),
    ports: flagList(p, 'publish'),
    volumes: flagList(p, 'volume').map((v) => absolutizeBind(ctx, v)),
    mounts: flagList(p, 'mount'),
    volumesFrom: flagList(p, 'volumes-from'),
    tmpfs: flagList(p, 'tmpfs'),
    capAdd: flagList(p, 'cap-add'),
    capDrop: flagList(p, 'cap-drop'),
    init: flagBool(p, 'init'),
    tty: flagBool(p, 'tty'),
    interactive: flagBool(p, 'interactive'),
    readOnly: flagBool(p, 'read-only'),
    autoRemove: flagBool(p, 'rm'),
    detach: flagBool(p, 'detach'),
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
    ...(stopTimeout !== undefined ? { stopTimeout } : {}),
  };
  const str = (flag: string, key: 'name' | 'hostname' | 'domainname' | 'user' | 'workdir' | 'stopSignal'): void => {
    const v = flagString(p, flag);
    if (v !== undefined) spec[key] = v;
  };
  str('name', 'name');
  str('hostname', 'hostname');
  str('domainname', 'domainname');
  str('user', 'user');
  str('workdir', 'workdir');
  str('stop-signal', 'stopSignal');
  const network = flagString(p, 'network') ?? flagString(p, 'net');
  if (network !== undefined) spec.network = network;
  return spec;
}

/** absolutizeBind makes a relative bind source (`./data:/data`) absolute against our working directory, as docker does. */
function absolutizeBind(ctx: Context, v: string): string {
  if (!v.startsWith('./') && !v.startsWith('../') && v !== '.' && !v.startsWith('.:')) return v;
  const colon = v.indexOf(':');
  return colon < 0 ? v : `${ctx.path(v.slice(0, colon))}${v.slice(colon)}`;
}

/** ensureImage pulls the image first when the store lacks it (`--pull missing`, the default) or always (`--pull always`). */
async function ensureImage(ctx: Context, image: string, pull: string): Promise<void> {
  if (!['always', 'missing', 'never'].includes(pull)) throw new UsageError(ctx.command, `invalid pull option: ${JSON.stringify(pull)}: must be one of "always", "missing" or "never"`);
  const store = await ctx.store();
  let present = true;
  try {
    await store.resolve(image);
  } catch (e) {
    if ((e as { code?: string }).code !== 'NOT_FOUND') throw e;
    present = false;
  }
  if (pull === 'never' && !present) throw new NoSuchObjectError('image', `${image} (and --pull never)`, 125);
  if (pull === 'always' || !present) {
    let ref: string;
    try {
      ref = parseReference(image).familiar;
    } catch {
      return; // not a reference (an ID prefix): let create explain
    }
    if (!present) ctx.err(`Unable to find image '${ref}' locally\n`);
    await pullImage(ctx, image, { out: { write: (t) => ctx.stderr.write(t), tty: Context.isTTY(ctx.stderr) } });
  }
}

/** startFailure rethrows a start failure with Docker's exit code: 127 command not found, 126 not executable, else 125. */
function startFailure(e: unknown): never {
  const err = e as { step?: unknown; code?: unknown; name?: unknown };
  if (err !== null && typeof err === 'object' && err.step === 'exec') {
    if (err.code === 'ENOENT') throw new CliError('COMMAND_NOT_FOUND', (e as Error).message, { exitCode: 127, cause: e });
    if (err.code === 'EACCES' || err.code === 'ENOEXEC' || err.code === 'EPERM') throw new CliError('COMMAND_NOT_EXECUTABLE', (e as Error).message, { exitCode: 126, cause: e });
  }
  throw e;
}

interface Attach {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  rows?: number;
  cols?: number;
}

/** withTerminal puts our stdin in raw mode while a `-it` container runs (restored after). */
async function withTerminal<T>(ctx: Context, raw: boolean, fn: () => Promise<T>): Promise<T> {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  const can = raw && typeof stdin.setRawMode === 'function' && stdin.isTTY === true;
  if (can) stdin.setRawMode(true);
  try {
    return await fn();
  } finally {
    if (can) stdin.setRawMode(false);
    if (raw) stdin.pause();
  }
}

/** forwardSignals sends what interrupts us (SIGINT/SIGTERM via the abort signal) to the container, as docker's sig-proxy. */
function forwardSignals(ctx: Context, kill: (sig: NodeJS.Signals) => unknown): () => void {
  const s = ctx.signal;
  if (s === undefined) return () => {};
  const on = (): void => {
    const sig = /SIGTERM/.test(String(s.reason)) ? 'SIGTERM' : 'SIGINT';
    void Promise.resolve(kill(sig)).catch(() => undefined);
  };
  s.addEventListener('abort', on, { once: true });
  return () => s.removeEventListener('abort', on);
}

async function createOrRun(ctx: Context, p: ParsedArgs, start: boolean): Promise<number> {
  const spec = specOf(ctx, p);
  const tty = spec.tty === true;
  const interactive = spec.interactive === true;
  if (start && tty && interactive && !Context.isTTY(ctx.stdin)) throw new CliError('NOT_A_TTY', 'the input device is not a TTY: drop -t, or run from a terminal');
  if (spec.image !== undefined) await ensureImage(ctx, spec.image, flagString(p, 'pull') ?? 'missing');
  const rt = await runtime(ctx);
  if (!start) {
    const c = await Container.create(spec, { runtime: rt });
    ctx.out(`${c.id}\n`);
    return 0;
  }
  if (spec.detach === true) {
    const c = await Container.run(spec, { runtime: rt }).catch(startFailure);
    ctx.out(`${c.id}\n`);
    return 0;
  }
  const out = ctx.stdout as Writable & { rows?: number; columns?: number };
  const io: Attach = { stdout: ctx.stdout, stderr: ctx.stderr, ...(interactive ? { stdin: ctx.stdin } : {}), ...(tty && out.rows ? { rows: out.rows } : {}), ...(tty && out.columns ? { cols: out.columns } : {}) };
  return withTerminal(ctx, tty && interactive, async () => {
    const c = await Container.run(spec, { runtime: rt, ...io }).catch(startFailure);
    const stop = forwardSignals(ctx, (sig) => c.kill(sig));
    try {
      const r = await c.wait();
      return r.exitCode;
    } finally {
      stop();
    }
  });
}

/** run is `stratum run [OPTIONS] IMAGE [COMMAND] [ARG…]`: exits with the container's code (`-d`: prints its ID). */
export function run(ctx: Context, p: ParsedArgs): Promise<number> {
  return createOrRun(ctx, p, true);
}

/** create is `stratum create [OPTIONS] IMAGE [COMMAND] [ARG…]`: prints the new container's ID. */
export function create(ctx: Context, p: ParsedArgs): Promise<number> {
  return createOrRun(ctx, p, false);
}

/** start is `stratum start [-a] [-i] CONTAINER…`: prints each name; with `-a` attaches to one and exits with its code. */
export async function start(ctx: Context, p: ParsedArgs): Promise<number> {
  const attach = flagBool(p, 'attach') || flagBool(p, 'interactive');
  if (attach && p.args.length > 1) throw new UsageError(ctx.command, 'you cannot start and attach multiple containers at once');
  if (attach) {
    const c = await openContainer(ctx, p.args[0]!, 125);
    const tty = c.record.Config.Tty === true;
    const interactive = flagBool(p, 'interactive');
    return withTerminal(ctx, tty && interactive, async () => {
      await c.start({ stdout: ctx.stdout, stderr: ctx.stderr, ...(interactive ? { stdin: ctx.stdin } : {}) }).catch(startFailure);
      const stop = forwardSignals(ctx, (sig) => c.kill(sig));
      try {
        return (await c.wait()).exitCode;
      } finally {
        stop();
      }
    });
  }
  return eachName(ctx, p.args, async (name) => {
    const c = await openContainer(ctx, name);
    await c.start().catch(startFailure);
    ctx.out(`${name}\n`);
  });
}

const psFormat: ListFormat = {
  table: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
  headers: { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Status: 'STATUS', Ports: 'PORTS', Names: 'NAMES', Size: 'SIZE', Labels: 'LABELS', Mounts: 'MOUNTS', Networks: 'NETWORKS', State: 'STATE', LocalVolumes: 'LOCAL VOLUMES' },
  quietField: 'ID',
};

/** portsOf renders docker ps's PORTS column from a summary: `0.0.0.0:8080->80/tcp, 53/udp`. */
export function portsOf(s: ContainerSummary): string {
  return s.Ports.map((p) => (p.PublicPort !== undefined ? `${p.IP || '0.0.0.0'}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`))
    .sort()
    .join(', ');
}

function containerRow({ summary: s, inspect: c }: ListedContainer, noTrunc: boolean, now: number): Record<string, unknown> {
  // Docker's COMMAND: path and args joined by spaces (no inner quoting), quoted as a whole.
  const command = [c.Path, ...c.Args].join(' ');
  return {
    ID: noTrunc ? c.Id : shortId(c.Id),
    Image: s.Image,
    Command: JSON.stringify(noTrunc ? command : ellipsis(command, 20)),
    CreatedAt: c.Created,
    RunningFor: since(c.Created, now),
    Status: s.Status,
    State: s.State,
    Ports: portsOf(s),
    Names: s.Names.map((n) => n.replace(/^\//, '')).join(','),
    Size: 'N/A',
    Labels: labelsString(s.Labels),
    Label: (k: string) => s.Labels?.[k] ?? '',
    Mounts: c.Mounts.map((m) => m.Name ?? m.Source).join(','),
    LocalVolumes: String(c.Mounts.filter((m) => m.Type === 'volume').length),
    Networks: Object.keys(c.NetworkSettings.Networks ?? {}).join(','),
  };
}

/** ps is `stratum ps [-a] [-q] [-n N] [-l] [--no-trunc] [--filter …] [--format …]`. */
export async function ps(ctx: Context, p: ParsedArgs): Promise<number> {
  const f = parseFilters(flagList(p, 'filter'), ['status', 'name', 'id', 'label', 'exited', 'ancestor', 'network', 'volume'], ctx.command);
  const last = flagBool(p, 'latest') ? 1 : (flagInt(p, 'last', ctx.command) ?? -1);
  let list = await listContainers(ctx, { all: flagBool(p, 'all') || last > 0 || f.has('status') || f.has('exited') });
  const labelOk = (c: ContainerInspect, l: string): boolean => {
    const eq = l.indexOf('=');
    const labels = c.Config.Labels ?? {};
    return eq < 0 ? Object.hasOwn(labels, l) : labels[l.slice(0, eq)] === l.slice(eq + 1);
  };
  const any = <T>(values: T[] | undefined, ok: (v: T) => boolean): boolean => values === undefined || values.some(ok);
  list = list.filter(
    ({ inspect: c }) =>
      any(f.get('status'), (s) => c.State.Status === s) &&
      any(f.get('name'), (n) => c.Name.replace(/^\//, '').includes(n)) &&
      any(f.get('id'), (i) => c.Id.startsWith(i)) &&
      (f.get('label') ?? []).every((l) => labelOk(c, l)) &&
      any(f.get('exited'), (x) => !c.State.Running && c.State.Status === 'exited' && String(c.State.ExitCode) === x) &&
      any(f.get('ancestor'), (a) => c.Image.replace(/^sha256:/, '').startsWith(a.replace(/^sha256:/, '')) || sameImage(c.Config.Image ?? '', a)) &&
      any(f.get('network'), (n) => Object.hasOwn(c.NetworkSettings.Networks ?? {}, n)) &&
      any(f.get('volume'), (v) => c.Mounts.some((m) => m.Name === v || m.Destination === v)),
  );
  if (last > 0) list = list.slice(0, last);
  const noTrunc = flagBool(p, 'no-trunc');
  const now = Date.now();
  const rows = list.map((c) => containerRow(c, noTrunc, now));
  const fmt = flagBool(p, 'size') && flagString(p, 'format') === undefined ? { ...psFormat, table: `${psFormat.table}\t{{.Size}}` } : psFormat;
  ctx.out(flagBool(p, 'quiet') ? renderQuiet(rows, 'ID') : renderList(rows, fmt, flagString(p, 'format')));
  return 0;
}

function sameImage(a: string, b: string): boolean {
  try {
    return parseReference(a).toString() === parseReference(b).toString();
  } catch {
    return a === b;
  }
}

/** exec is `stratum exec [-d] [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG…]`: exits with the command's code. */
export async function exec(ctx: Context, p: ParsedArgs): Promise<number> {
  const [name, ...argv] = p.args;
  const c = await openContainer(ctx, name!, 125);
  const tty = flagBool(p, 'tty');
  const interactive = flagBool(p, 'interactive');
  const detach = flagBool(p, 'detach');
  if (tty && interactive && !detach && !Context.isTTY(ctx.stdin)) throw new CliError('NOT_A_TTY', 'the input device is not a TTY: drop -t, or run from a terminal');
  const user = flagString(p, 'user');
  const workdir = flagString(p, 'workdir');
  const opts = {
    tty,
    env: envList(ctx, p),
    privileged: flagBool(p, 'privileged'),
    ...(user !== undefined ? { user } : {}),
    ...(workdir !== undefined ? { workdir } : {}),
    stdio: [interactive && !detach ? 'pipe' : 'ignore', detach ? 'ignore' : 'pipe', detach ? 'ignore' : 'pipe'] as ['pipe' | 'ignore', 'pipe' | 'ignore', 'pipe' | 'ignore'],
  };
  return withTerminal(ctx, tty && interactive && !detach, async () => {
    const proc = await c.exec(argv, opts).catch(startFailure);
    if (detach) return 0;
    const stop = forwardSignals(ctx, (sig) => proc.kill(sig));
    try {
      const pumps: Array<Promise<void>> = [];
      const copy = (from: Readable | null, to: Writable): void => {
        if (from === null) return;
        pumps.push(
          new Promise<void>((resolve) => {
            from.on('data', (d: Buffer) => to.write(d));
            from.on('end', resolve);
            from.on('close', resolve);
            from.on('error', () => resolve());
          }),
        );
      };
      copy(proc.stdout, ctx.stdout);
      copy(proc.stderr, ctx.stderr);
      if (interactive && proc.stdin !== null) {
        ctx.stdin.pipe(proc.stdin);
        proc.stdin.on('error', () => undefined);
      }
      const status = await proc.wait();
      await Promise.all(pumps);
      if (interactive && proc.stdin !== null) ctx.stdin.unpipe(proc.stdin);
      return status.code ?? 128 + signalNumber(status.signal);
    } finally {
      stop();
    }
  });
}

function signalNumber(sig: NodeJS.Signals | null): number {
  return sig === null ? 0 : (osSignals[sig] ?? 0);
}

/** parseSince reads `--since`/`--until`: an RFC 3339 time, Unix seconds, or a duration back from now (`42m`, `1h30m`, `10s`). */
export function parseSince(v: string, now = Date.now()): Date {
  if (/^\d+(\.\d+)?$/.test(v)) return new Date(Number(v) * 1000);
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length > 0 && parts.map((m) => m[0]).join('') === v) return new Date(now - parts.reduce((n, m) => n + Number(m[1]) * units[m[2]!]!, 0));
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CliError('INVALID_TIME', `invalid time ${JSON.stringify(v)}: give RFC 3339 (2013-01-02T13:23:37Z), Unix seconds, or a duration like 42m`);
  return new Date(t);
}

/** logs is `stratum logs [-f] [-t] [-n N] [--since T] [--until T] CONTAINER`: stdout lines to stdout, stderr lines to stderr. */
export async function logs(ctx: Context, p: ParsedArgs): Promise<number> {
  const c = await openContainer(ctx, p.args[0]!, 1);
  const tailRaw = flagString(p, 'tail') ?? 'all';
  if (tailRaw !== 'all' && !/^\d+$/.test(tailRaw)) throw new UsageError(ctx.command, `invalid argument ${JSON.stringify(tailRaw)} for "--tail" flag: a number or "all"`);
  const sinceV = flagString(p, 'since');
  const untilV = flagString(p, 'until');
  for await (const line of c.logs({
    follow: flagBool(p, 'follow'),
    timestamps: flagBool(p, 'timestamps'),
    ...(tailRaw !== 'all' ? { tail: Number(tailRaw) } : {}),
    ...(sinceV !== undefined ? { since: parseSince(sinceV) } : {}),
    ...(untilV !== undefined ? { until: parseSince(untilV) } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  })) {
    (line.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(line.text);
  }
  // `-f` ends quietly when aborted: an interrupted follow is still an interruption (exit 130).
  ctx.signal?.throwIfAborted();
  return 0;
}

/** stop is `stratum stop [-t SECONDS] [-s SIGNAL] CONTAINER…`: prints each name as given. */
export async function stop(ctx: Context, p: ParsedArgs): Promise<number> {
  const timeout = flagInt(p, 'time', ctx.command);
  const signal = flagString(p, 'signal');
  return eachName(ctx, p.args, async (name) => {
    const c = await openContainer(ctx, name);
    await c.stop({ ...(timeout !== undefined ? { timeout } : {}), ...(signal !== undefined ? { signal: signalName(signal) } : {}) });
    ctx.out(`${name}\n`);
  });
}

/** signalName accepts `KILL`, `SIGKILL`, `9`, `sigterm`. */
export function signalName(s: string): NodeJS.Signals {
  if (/^\d+$/.test(s)) {
    const entry = Object.entries(osSignals).find(([, n]) => n === Number(s));
    if (entry === undefined) throw new CliError('INVALID_SIGNAL', `invalid signal: ${s}`);
    return entry[0] as NodeJS.Signals;
  }
  const up = s.toUpperCase();
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  if (!(name in osSignals)) throw new CliError('INVALID_SIGNAL', `invalid signal: ${s}`);
  return name as NodeJS.Signals;
}

/** kill is `stratum kill [-s SIGNAL] CONTAINER…` (default SIGKILL). */
export async function kill(ctx: Context, p: ParsedArgs): Promise<number> {
  const sig = signalName(flagString(p, 'signal') ?? 'KILL');
  return eachName(ctx, p.args, async (name) => {
    const c = await openContainer(ctx, name);
    await c.kill(sig);
    ctx.out(`${name}\n`);
  });
}

/** rm is `stratum rm [-f] [-v] CONTAINER…`. */
export async function rm(ctx: Context, p: ParsedArgs): Promise<number> {
  const force = flagBool(p, 'force');
  const volumes = flagBool(p, 'volumes');
  return eachName(ctx, p.args, async (name) => {
    const c = await openContainer(ctx, name);
    await c.remove({ force, volumes });
    ctx.out(`${name}\n`);
  });
}

/**
 * commit is `stratum commit [-a AUTHOR] [-m MESSAGE] [-c CHANGE]… [-p=false] CONTAINER
 * [REPOSITORY[:TAG]]`: the container's changes as a new image layer; prints the image ID.
 */
export async function commit(ctx: Context, p: ParsedArgs): Promise<number> {
  const c = await openContainer(ctx, p.args[0]!, 125);
  const pause = flagBool(p, 'pause');
  const author = flagString(p, 'author');
  const message = flagString(p, 'message');
  const ref = p.args[1];
  const result = await c.commit({
    ...(ref !== undefined ? { ref } : {}),
    ...(author !== undefined ? { author } : {}),
    ...(message !== undefined ? { message } : {}),
    changes: flagList(p, 'change'),
    pause,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  ctx.out(`${result.id}\n`);
  return 0;
}

/** wait is `stratum wait CONTAINER…`: prints each exit code once it has exited. */
export async function wait(ctx: Context, p: ParsedArgs): Promise<number> {
  return eachName(ctx, p.args, async (name) => {
    const c = await openContainer(ctx, name);
    const r = await c.wait(ctx.signal ? { signal: ctx.signal } : {});
    ctx.out(`${r.exitCode}\n`);
  });
}

/** pause is `stratum pause CONTAINER…` (the cgroup freezer). */
export async function pause(ctx: Context, p: ParsedArgs): Promise<number> {
  return eachName(ctx, p.args, async (name) => {
    await (await openContainer(ctx, name)).pause();
    ctx.out(`${name}\n`);
  });
}

/** unpause is `stratum unpause CONTAINER…`. */
export async function unpause(ctx: Context, p: ParsedArgs): Promise<number> {
  return eachName(ctx, p.args, async (name) => {
    await (await openContainer(ctx, name)).unpause();
    ctx.out(`${name}\n`);
  });
}

/** top is `stratum top CONTAINER`: the container's processes (UID PID PPID STIME TIME CMD). */
export async function top(ctx: Context, p: ParsedArgs): Promise<number> {
  const t = await (await openContainer(ctx, p.args[0]!, 125)).top();
  ctx.out(tabwrite([t.Titles, ...t.Processes].map((r) => `${r.join('\t')}\n`).join('')));
  return 0;
}

/** statsFormat: `docker stats`' default table and column headers. */
const statsFormat: ListFormat = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}',
  headers: { ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' },
  quietField: 'ID',
};

/** How far apart the two samples of a CPU percentage are (`docker stats` samples every second). */
const STATS_INTERVAL_MS = 1000;

/** statsRow is one `docker stats` row: CPU % from two samples `ms` apart (none: 0), memory against its limit (the host's when unlimited). */
export function statsRow(c: { id: string; name: string; ref: string }, now: ContainerStats | undefined, before: ContainerStats | undefined, noTrunc: boolean): Record<string, string> {
  const mem = now?.cgroup.memory;
  const limit = mem === undefined || mem.limit === 'max' ? totalmem() : mem.limit;
  const used = mem?.current ?? 0;
  let cpu = 0;
  if (now?.cgroup.cpu && before?.cgroup.cpu) {
    const wallUsec = (Date.parse(now.read) - Date.parse(before.read)) * 1000;
    if (wallUsec > 0) cpu = ((now.cgroup.cpu.usageUsec - before.cgroup.cpu.usageUsec) / wallUsec) * 100;
  }
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(now?.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let rd = 0;
  let wr = 0;
  for (const d of Object.values(now?.cgroup.io ?? {})) {
    rd += d.rbytes;
    wr += d.wbytes;
  }
  return {
    ID: noTrunc ? c.id : c.id.slice(0, 12),
    Container: c.ref,
    Name: c.name,
    CPUPerc: `${Math.max(0, cpu).toFixed(2)}%`,
    MemUsage: `${binarySize(used)} / ${binarySize(limit)}`,
    MemPerc: `${(limit > 0 ? (used / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: `${humanSizeWithPrecision(rx, 3)} / ${humanSizeWithPrecision(tx, 3)}`,
    BlockIO: `${humanSizeWithPrecision(rd, 3)} / ${humanSizeWithPrecision(wr, 3)}`,
    PIDs: String(now?.cgroup.pids?.current ?? 0),
  };
}

/**
 * stats is `stratum stats [-a] [--no-stream] [--no-trunc] [--format …] [CONTAINER…]`: what the
 * containers use — CPU % (over one second), memory against its limit, network and block I/O,
 * processes — as `docker stats` prints it. Without names, the running containers (`-a`: all,
 * a stopped one with zeros). Without `--no-stream` the table is printed again every second
 * (the screen cleared first on a terminal) until interrupted.
 */
export async function stats(ctx: Context, p: ParsedArgs): Promise<number> {
  const noTrunc = flagBool(p, 'no-trunc');
  const format = flagString(p, 'format');
  // `.Container` is the name or ID as given (docker's), else the short ID.
  const targets: Array<{ c: Container; ref: string }> = [];
  let code = 0;
  if (p.args.length > 0) {
    code = await eachName(ctx, p.args, async (name) => {
      targets.push({ c: await openContainer(ctx, name), ref: name });
    });
    if (targets.length === 0) return code;
  } else {
    const rt = await runtime(ctx);
    for (const s of await Container.list({ runtime: rt, all: flagBool(p, 'all') })) {
      try {
        const c = await Container.get(s.Id, { runtime: rt });
        targets.push({ c, ref: noTrunc ? c.id : c.shortId });
      } catch (e) {
        if ((e as Error).name !== 'ContainerNotFoundError') throw e; // removed meanwhile
      }
    }
  }
  // A container that is not running (or stops between samples) has no figures: zeros, as docker shows.
  const sample = async (): Promise<Array<ContainerStats | undefined>> => Promise.all(targets.map(({ c }) => c.stats().catch(() => undefined)));
  const render = (now: Array<ContainerStats | undefined>, before: Array<ContainerStats | undefined>): string =>
    renderList(
      targets.map(({ c, ref }, i) => statsRow({ id: c.id, name: c.name, ref }, now[i], before[i], noTrunc)),
      statsFormat,
      format,
    );
  const clear = !flagBool(p, 'no-stream') && Context.isTTY(ctx.stdout);
  let before = await sample();
  for (;;) {
    await sleep(STATS_INTERVAL_MS, undefined, ctx.signal ? { signal: ctx.signal } : undefined);
    const now = await sample();
    ctx.out(`${clear ? '\x1b[2J\x1b[H' : ''}${render(now, before)}`);
    if (flagBool(p, 'no-stream')) return code;
    before = now;
  }
}

/** inspectContainer returns a container's `docker container inspect` document. */
export async function inspectContainer(ctx: Context, name: string): Promise<ContainerInspect> {
  return (await openContainer(ctx, name)).inspect();
}

/** containerInspect is `stratum container inspect [-f TEMPLATE] CONTAINER…`. */
export async function containerInspect(ctx: Context, p: ParsedArgs): Promise<number> {
  const found: unknown[] = [];
  const code = await eachName(ctx, p.args, async (name) => {
    found.push(await inspectContainer(ctx, name));
  });
  ctx.out(renderInspect(found, flagString(p, 'format')));
  return code;
}
