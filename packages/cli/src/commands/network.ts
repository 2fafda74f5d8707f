/**
 * `stratum network ls|create|rm|inspect` over @stratum/container's runtime networks: the default
 * `bridge` (stratum0, 10.88.0.0/16), user-defined bridge networks, and Docker's pseudo networks
 * `host` and `none`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '@stratum/container';
import { flagBool, flagList, flagString, type ParsedArgs } from '../args.js';
import type { Context } from '../context.js';
import { CliError, NoSuchObjectError } from '../errors.js';
import { renderInspect, renderList, renderQuiet, type ListFormat } from '../format.js';
import { eachName, parseFilters, parseKeyValues } from './common.js';

const runtimes = new WeakMap<Context, Promise<Runtime>>();

/**
 * runtime opens the container runtime of the invocation's root (once per invocation; closed
 * when the command ends). Its image store is the same root; it does not pull by itself: `run`
 * and `create` pull a missing image first, with progress output and the CLI's credentials.
 */
export function runtime(ctx: Context): Promise<Runtime> {
  let rt = runtimes.get(ctx);
  if (rt === undefined) {
    rt = Runtime.open({ root: ctx.root, pull: false });
    runtimes.set(ctx, rt);
    void rt.then((r) => ctx.defer(() => r.close()));
  }
  return rt;
}

const PSEUDO: Record<string, string> = { host: 'host', none: 'null' };

function pseudoId(name: string): string {
  return createHash('sha256').update(`stratum-network-${name}`).digest('hex');
}

/**
 * networkId reads a bridge network's ID without realizing it (no bridge is made by `ls`): the
 * id its state records once it exists, else a stable one derived from the name.
 */
function networkId(ctx: Context, name: string): string {
  try {
    const rec = JSON.parse(readFileSync(join(ctx.root, 'networks', name, 'network.json'), 'utf8')) as { id?: unknown };
    if (typeof rec.id === 'string') return rec.id;
  } catch {
    // not realized yet
  }
  return pseudoId(name);
}

const networkFormat: ListFormat = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
  headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED' },
  quietField: 'ID',
};

/** networkLs is `stratum network ls [-q] [--no-trunc] [--filter name=|driver=|id=] [--format …]`. */
export async function networkLs(ctx: Context, p: ParsedArgs): Promise<number> {
  const f = parseFilters(flagList(p, 'filter'), ['name', 'driver', 'id', 'type'], ctx.command);
  const rt = await runtime(ctx);
  const noTrunc = flagBool(p, 'no-trunc');
  const rows: Array<Record<string, unknown>> = [];
  for (const name of [...rt.networks.names(), ...Object.keys(PSEUDO)]) {
    const cfg = PSEUDO[name] === undefined ? rt.networks.config(name) : undefined;
    const id = cfg ? networkId(ctx, name) : pseudoId(name);
    rows.push({
      ID: noTrunc ? id : id.slice(0, 12),
      Name: name,
      Driver: PSEUDO[name] ?? 'bridge',
      Scope: 'local',
      IPv6: 'false',
      Internal: String(cfg !== undefined && !cfg.nat),
      Labels: '',
      CreatedAt: cfg?.created ?? '',
      Type: name === rt.networks.defaultName || PSEUDO[name] !== undefined ? 'builtin' : 'custom',
    });
  }
  const keep = rows.filter(
    (r) =>
      (f.get('name') ?? []).every((n) => String(r.Name).includes(n)) &&
      (f.get('driver') ?? []).every((d) => r.Driver === d) &&
      (f.get('id') ?? []).every((i) => String(r.ID).startsWith(i)) &&
      (f.get('type') ?? []).every((t) => r.Type === t),
  );
  keep.sort((a, b) => String(a.Name).localeCompare(String(b.Name)));
  ctx.out(flagBool(p, 'quiet') ? renderQuiet(keep, 'ID') : renderList(keep, networkFormat, flagString(p, 'format')));
  return 0;
}

/**
 * networkCreate is `stratum network create [--subnet CIDR] [--gateway IP] [-o
 * com.docker.network.bridge.name=IF] [--internal] NAME`: a bridge network; prints its ID.
 */
export async function networkCreate(ctx: Context, p: ParsedArgs): Promise<number> {
  const name = p.args[0]!;
  const driver = flagString(p, 'driver') ?? 'bridge';
  if (driver !== 'bridge') throw new CliError('UNSUPPORTED_DRIVER', `network driver ${JSON.stringify(driver)} is not supported (only bridge)`);
  if (PSEUDO[name] !== undefined) throw new CliError('NETWORK_EXISTS', `network with name ${name} already exists (a pre-defined network)`);
  let bridge: string | undefined;
  for (const [k, v] of Object.entries(parseKeyValues(flagList(p, 'opt')))) {
    if (k === 'com.docker.network.bridge.name') bridge = v;
    else throw new CliError('UNSUPPORTED_OPTION', `network option ${JSON.stringify(k)} is not supported (only com.docker.network.bridge.name)`);
  }
  const subnet = flagString(p, 'subnet');
  const gateway = flagString(p, 'gateway');
  const rt = await runtime(ctx);
  const net = await rt.networks.create({
    name,
    ...(bridge !== undefined ? { bridge } : {}),
    ...(subnet !== undefined ? { subnet } : {}),
    ...(gateway !== undefined ? { gateway } : {}),
    ...(flagBool(p, 'internal') ? { nat: false } : {}),
  });
  ctx.out(`${net.inspect().Id}\n`);
  return 0;
}

/** networkRm is `stratum network rm [-f] NETWORK…`: prints each name removed. */
export async function networkRm(ctx: Context, p: ParsedArgs): Promise<number> {
  const rt = await runtime(ctx);
  const force = flagBool(p, 'force');
  return eachName(ctx, p.args, async (input) => {
    const name = resolveName(ctx, rt, input);
    if (name === undefined) {
      if (force) return;
      throw new NoSuchObjectError('network', input);
    }
    if (PSEUDO[name] !== undefined || name === rt.networks.defaultName) throw new CliError('PREDEFINED_NETWORK', `${name} is a pre-defined network and cannot be removed`);
    await rt.networks.remove(name);
    ctx.out(`${input}\n`);
  });
}

/** resolveName finds a network by name, full ID or unique ID prefix. */
function resolveName(ctx: Context, rt: Runtime, input: string): string | undefined {
  const names = [...rt.networks.names(), ...Object.keys(PSEUDO)];
  if (names.includes(input)) return input;
  if (!/^[0-9a-f]{1,64}$/.test(input)) return undefined;
  const hits = names.filter((n) => (PSEUDO[n] !== undefined ? pseudoId(n) : networkId(ctx, n)).startsWith(input));
  if (hits.length > 1) throw new CliError('AMBIGUOUS_ID', `network ID prefix ${input} is ambiguous: it matches ${hits.join(', ')}`);
  return hits[0];
}

/**
 * inspectNetwork returns `docker network inspect`'s object for a name or ID (a bridge network
 * is picked up — made, if it never was — to report its endpoints).
 */
export async function inspectNetwork(ctx: Context, rt: Runtime, input: string): Promise<unknown> {
  const name = resolveName(ctx, rt, input);
  if (name === undefined) throw new NoSuchObjectError('network', input);
  if (PSEUDO[name] !== undefined) {
    return { Name: name, Id: pseudoId(name), Created: '', Scope: 'local', Driver: PSEUDO[name], EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Containers: {}, Options: {}, Labels: {} };
  }
  return { Internal: !rt.networks.config(name).nat, Labels: {}, ...(await rt.networks.inspect(name)) };
}

/** networkInspect is `stratum network inspect [-f TEMPLATE] NETWORK…`. */
export async function networkInspect(ctx: Context, p: ParsedArgs): Promise<number> {
  const rt = await runtime(ctx);
  const found: unknown[] = [];
  const code = await eachName(ctx, p.args, async (n) => {
    found.push(await inspectNetwork(ctx, rt, n));
  });
  ctx.out(renderInspect(found, flagString(p, 'format')));
  return code;
}
