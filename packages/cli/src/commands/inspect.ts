/**
 * `stratum inspect`: any object by name or ID, tried as Docker does — container, image, network,
 * volume — or only the `--type` asked for.
 */
import { flagString, type ParsedArgs } from '../args.js';
import type { Context } from '../context.js';
import { CliError, NoSuchObjectError } from '../errors.js';
import { renderInspect } from '../format.js';
import { eachName } from './common.js';

type Kind = 'container' | 'image' | 'network' | 'volume';
const kinds: Kind[] = ['container', 'image', 'network', 'volume'];

async function lookup(ctx: Context, kind: Kind, name: string): Promise<unknown> {
  switch (kind) {
    case 'container':
      return (await import('./container.js')).inspectContainer(ctx, name);
    case 'image':
      return (await import('./image.js')).inspectImage(await ctx.store(), name);
    case 'network': {
      const { inspectNetwork, runtime } = await import('./network.js');
      return inspectNetwork(ctx, await runtime(ctx), name);
    }
    case 'volume': {
      const { volumeStore } = await import('./volume.js');
      try {
        return await (await volumeStore(ctx)).inspect(name);
      } catch (e) {
        if ((e as { code?: string }).code === 'NOT_FOUND' || (e as Error).name === 'InvalidVolumeNameError') throw new NoSuchObjectError('volume', name);
        throw e;
      }
    }
  }
}

/** inspect is `stratum inspect [-f TEMPLATE] [--type container|image|network|volume] NAME…`. */
export async function inspect(ctx: Context, p: ParsedArgs): Promise<number> {
  const type = flagString(p, 'type');
  if (type !== undefined && !kinds.includes(type as Kind)) throw new CliError('INVALID_TYPE', `"${type}" is not a valid value for --type (container, image, network, volume)`);
  const order = type !== undefined ? [type as Kind] : kinds;
  const found: unknown[] = [];
  const code = await eachName(ctx, p.args, async (name) => {
    for (const kind of order) {
      try {
        found.push(await lookup(ctx, kind, name));
        return;
      } catch (e) {
        if (!(e instanceof NoSuchObjectError)) throw e;
      }
    }
    throw new NoSuchObjectError(type ?? 'object', name);
  });
  ctx.out(renderInspect(found, flagString(p, 'format')));
  return code;
}
