/** `stratum volume ls|create|rm|inspect` over @stratum/volume's VolumeStore. */
import { join } from 'node:path';
import { VolumeStore, type VolumeFilters, type VolumeInfo } from '@stratum/volume';
import { flagBool, flagList, flagString, type ParsedArgs } from '../args.js';
import type { Context } from '../context.js';
import { NoSuchObjectError } from '../errors.js';
import { renderInspect, renderList, renderQuiet, type ListFormat } from '../format.js';
import { boolFilter, eachName, isNotFound, labelsString, parseFilters, parseKeyValues } from './common.js';

/** volumeStore opens the volume store of the invocation's root (`<root>/volumes`). */
export function volumeStore(ctx: Context): Promise<VolumeStore> {
  return VolumeStore.open(join(ctx.root, 'volumes'));
}

const volumeFormat: ListFormat = {
  table: 'table {{.Driver}}\t{{.Name}}',
  headers: { Driver: 'DRIVER', Name: 'VOLUME NAME', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE', CreatedAt: 'CREATED AT' },
  quietField: 'Name',
};

/** volumeRow: the fields `volume ls --format` offers (Docker's volume context). */
function volumeRow(v: VolumeInfo, users: number): object {
  return {
    Name: v.Name,
    Driver: v.Driver,
    Scope: v.Scope,
    Mountpoint: v.Mountpoint,
    Labels: labelsString(v.Labels),
    Label: (key: string) => v.Labels[key] ?? '',
    Links: String(users),
    Size: 'N/A',
    CreatedAt: v.CreatedAt,
  };
}

/** volumeLs is `stratum volume ls [-q] [--filter …] [--format …]`. */
export async function volumeLs(ctx: Context, p: ParsedArgs): Promise<number> {
  const f = parseFilters(flagList(p, 'filter'), ['name', 'driver', 'label', 'dangling'], ctx.command);
  const filters: VolumeFilters = {};
  if (f.has('name')) filters.name = f.get('name')!;
  if (f.has('driver')) filters.driver = f.get('driver')!;
  if (f.has('label')) filters.label = f.get('label')!;
  const dangling = boolFilter(f.get('dangling'), 'dangling');
  if (dangling !== undefined) filters.dangling = dangling;
  const store = await volumeStore(ctx);
  const list = (await store.list({ filters })).sort((a, b) => a.Name.localeCompare(b.Name));
  const rows = await Promise.all(list.map(async (v) => volumeRow(v, (await store.users(v.Name)).length)));
  ctx.out(flagBool(p, 'quiet') ? renderQuiet(rows, 'Name') : renderList(rows, volumeFormat, flagString(p, 'format')));
  return 0;
}

/** volumeCreate is `stratum volume create [--label k=v] [-o k=v] [NAME]`: prints the name. */
export async function volumeCreate(ctx: Context, p: ParsedArgs): Promise<number> {
  const store = await volumeStore(ctx);
  const name = p.args[0] ?? flagString(p, 'name');
  const info = await store.create(name, { labels: parseKeyValues(flagList(p, 'label')), driver: flagString(p, 'driver') ?? 'local', options: parseKeyValues(flagList(p, 'opt')) });
  ctx.out(`${info.Name}\n`);
  return 0;
}

/** volumeRm is `stratum volume rm [-f] NAME…`: prints each name removed. */
export async function volumeRm(ctx: Context, p: ParsedArgs): Promise<number> {
  const store = await volumeStore(ctx);
  const force = flagBool(p, 'force');
  return eachName(ctx, p.args, async (name) => {
    const removed = await store.remove(name, { force });
    if (!removed && !force) throw new NoSuchObjectError('volume', name);
    ctx.out(`${name}\n`);
  });
}

/** volumeInspect is `stratum volume inspect [-f TEMPLATE] NAME…`. */
export async function volumeInspect(ctx: Context, p: ParsedArgs): Promise<number> {
  const store = await volumeStore(ctx);
  const found: unknown[] = [];
  const code = await eachName(ctx, p.args, async (name) => {
    try {
      found.push(await store.inspect(name));
    } catch (e) {
      if (isNotFound(e)) throw new NoSuchObjectError('volume', name);
      throw e;
    }
  });
  ctx.out(renderInspect(found, flagString(p, 'format')));
  return code;
}
