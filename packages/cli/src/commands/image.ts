/** The image verbs: `images`, `pull`, `push`, `rmi`, `tag`, `history`, `image inspect`. */
import type { Store } from '@stratum/image';
import { parseReference, type Descriptor, type Reference } from '@stratum/oci';
import { flagBool, flagList, flagString, type ParsedArgs } from '../args.js';
import type { Context } from '../context.js';
import { CliError, NoSuchObjectError, UsageError } from '../errors.js';
import { renderInspect, renderList, renderQuiet, type ListFormat } from '../format.js';
import { PullProgress, PushProgress, type ProgressOutput } from '../progress.js';
import { ellipsis, humanSize, shortId, since } from '../units.js';
import { boolFilter, eachName, labelsString, parseFilters } from './common.js';
import { familiar, findImage, listImages, repoTag, sameRef, type StoredImage } from './images.js';

const imageFormat: ListFormat = {
  table: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
  headers: { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'VIRTUAL SIZE' },
  quietField: 'ID',
};

/** imageRow: the fields `images --format` offers (Docker's image context). */
function imageRow(s: StoredImage, noTrunc: boolean, now: number): Record<string, unknown> {
  const { repository, tag } = repoTag(s);
  return {
    Repository: repository,
    Tag: tag,
    ID: noTrunc ? s.id : shortId(s.id),
    Digest: s.descriptor.digest,
    CreatedSince: since(s.config?.created, now),
    CreatedAt: s.config?.created !== undefined ? goTime(s.config.created) : '',
    Size: humanSize(s.size),
    VirtualSize: humanSize(s.size),
    SharedSize: 'N/A',
    UniqueSize: 'N/A',
    Containers: 'N/A',
    Labels: labelsString(s.config?.config?.Labels),
    Label: (k: string) => s.config?.config?.Labels?.[k] ?? '',
  };
}

/** goTime prints a time as Go's default `time.Time` String does (docker's CreatedAt column). */
function goTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

/** globMatch: Docker's reference filter patterns: `*` matches within one path component, `?` one character. */
function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  return re.test(value);
}

/** referenceMatches matches a pattern (`busybox`, `busybox:1*`, `team/*`) against a stored image's familiar or full name. */
function referenceMatches(s: StoredImage, pattern: string): boolean {
  if (s.reference === undefined) return globMatch(pattern, s.ref);
  const colon = pattern.lastIndexOf(':');
  const hasTag = colon > pattern.lastIndexOf('/');
  const repoPat = hasTag ? pattern.slice(0, colon) : pattern;
  const tagPat = hasTag ? pattern.slice(colon + 1) : undefined;
  const repoOk = globMatch(repoPat, s.reference.familiarName) || globMatch(repoPat, s.reference.name);
  return repoOk && (tagPat === undefined || globMatch(tagPat, s.reference.tag ?? ''));
}

/** images is `stratum images [-a] [--digests] [--no-trunc] [-q] [--filter …] [--format …] [REPOSITORY[:TAG]]`. */
export async function images(ctx: Context, p: ParsedArgs): Promise<number> {
  const store = await ctx.store();
  const filters = parseFilters(flagList(p, 'filter'), ['reference', 'dangling', 'label', 'before', 'since'], ctx.command);
  let list = await listImages(store);
  if (p.args[0] !== undefined) list = list.filter((s) => referenceMatches(s, p.args[0]!));
  for (const pat of filters.get('reference') ?? []) list = list.filter((s) => referenceMatches(s, pat));
  // A layout store keeps only tagged images: nothing is dangling.
  if (boolFilter(filters.get('dangling'), 'dangling') === true) list = [];
  for (const l of filters.get('label') ?? []) {
    const eq = l.indexOf('=');
    list = list.filter((s) => {
      const labels = s.config?.config?.Labels ?? {};
      return eq < 0 ? Object.hasOwn(labels, l) : labels[l.slice(0, eq)] === l.slice(eq + 1);
    });
  }
  for (const key of ['before', 'since'] as const) {
    for (const ref of filters.get(key) ?? []) {
      const pivot = (await findImage(store, ref)).matches[0]!;
      const t = Date.parse(pivot.config?.created ?? '');
      list = list.filter((s) => {
        const c = Date.parse(s.config?.created ?? '');
        return key === 'before' ? c < t : c > t;
      });
    }
  }
  const noTrunc = flagBool(p, 'no-trunc');
  const now = Date.now();
  const rows = list.map((s) => imageRow(s, noTrunc, now));
  if (flagBool(p, 'quiet')) {
    ctx.out(renderQuiet(rows, 'ID', true));
    return 0;
  }
  const fmt = flagBool(p, 'digests') && flagString(p, 'format') === undefined ? { ...imageFormat, table: 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}' } : imageFormat;
  ctx.out(renderList(rows, fmt, flagString(p, 'format')));
  return 0;
}

/**
 * pullImage pulls `input` into the invocation's store with Docker's output on `out` (header,
 * per-layer progress, `Digest:` and `Status:` lines; nothing when `quiet`) and returns the
 * normalized reference. Used by `pull` and by `run`/`create` for a missing image.
 */
export async function pullImage(ctx: Context, input: string, opts: { quiet?: boolean; platform?: string; out: ProgressOutput }): Promise<Reference> {
  const ref = parseReference(input);
  const store = await ctx.store();
  const { out } = opts;
  const quiet = opts.quiet === true;
  if (!quiet && ref.tag === 'latest' && !/:[^/]*$/.test(input.split('@')[0]!)) out.write('Using default tag: latest\n');
  if (!quiet) out.write(`${ref.tag ?? ref.digest!}: Pulling from ${ref.repository}\n`);
  let before: string | undefined;
  try {
    before = ref.tag !== undefined ? (await store.resolve(ref.toString())).digest : undefined;
  } catch {
    before = undefined;
  }
  const progress = new PullProgress(out);
  const client = await ctx.registry([ref.registry]);
  const result = await client.pull(ref, {
    store,
    ...(opts.platform !== undefined ? { platform: opts.platform } : {}),
    ...(quiet ? {} : { onProgress: progress.onProgress }),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (!quiet) {
    const upToDate = result.downloaded.length === 0 && before === result.descriptor.digest;
    out.write(`Digest: ${result.index?.digest ?? result.descriptor.digest}\n`);
    out.write(`Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${ref.familiar}\n`);
  }
  return ref;
}

/** pull is `stratum pull [-q] [--platform P] NAME[:TAG|@DIGEST]`, with Docker's output. */
export async function pull(ctx: Context, p: ParsedArgs): Promise<number> {
  const platform = flagString(p, 'platform');
  const ref = await pullImage(ctx, p.args[0]!, { quiet: flagBool(p, 'quiet'), ...(platform !== undefined ? { platform } : {}), out: ctx.progress() });
  ctx.out(`${ref.toString()}\n`);
  return 0;
}

/** push is `stratum push [-a] [-q] NAME[:TAG]`: the local image of that name to its registry. */
export async function push(ctx: Context, p: ParsedArgs): Promise<number> {
  const input = p.args[0]!;
  const allTags = flagBool(p, 'all-tags');
  const ref = allTags ? parseReference(input, { defaultTag: false }) : parseReference(input);
  if (ref.digest !== undefined) throw new UsageError(ctx.command, `cannot push a digest reference: ${input}`);
  if (allTags && ref.tag !== undefined) throw new UsageError(ctx.command, `tag can't be used with --all-tags/-a`);
  const store = await ctx.store();
  let targets: Reference[];
  if (allTags) {
    targets = (await store.list())
      .map((e) => {
        try {
          return parseReference(e.ref);
        } catch {
          return undefined;
        }
      })
      .filter((r): r is Reference => r !== undefined && r.name === ref.name && r.tag !== undefined);
    if (targets.length === 0) throw new NoSuchObjectError('image', `${ref.familiarName} (no tags of this repository in the store)`, 125);
  } else {
    targets = [ref];
  }
  const quiet = flagBool(p, 'quiet');
  const out = ctx.progress();
  const client = await ctx.registry([ref.registry]);
  if (!quiet) out.write(`The push refers to repository [${ref.name === ref.familiarName ? ref.name : ref.familiarName}]\n`);
  for (const target of targets) {
    let desc: Descriptor;
    try {
      desc = await store.resolve(target.toString());
    } catch (e) {
      if ((e as { code?: string }).code === 'NOT_FOUND') throw new CliError('NO_SUCH_IMAGE', `an image does not exist locally with the tag: ${target.familiar}`);
      throw e;
    }
    const isIndex = /index|manifest\.list/.test(desc.mediaType);
    const source = isIndex ? await store.index(target.toString()) : await store.image(target.toString());
    const progress = new PushProgress(out);
    const result = await client.push(source, target, { ...(quiet ? {} : { onProgress: progress.onProgress }), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    if (quiet) ctx.out(`${target.toString()}\n`);
    else out.write(`${target.tag}: digest: ${result.descriptor.digest} size: ${result.descriptor.size}\n`);
  }
  return 0;
}

/** tag is `stratum tag SOURCE TARGET`: TARGET names the same image (atomic, idempotent). */
export async function tag(ctx: Context, p: ParsedArgs): Promise<number> {
  const store = await ctx.store();
  const { matches } = await findImage(store, p.args[0]!).catch((e: unknown) => {
    if (e instanceof NoSuchObjectError) throw new NoSuchObjectError('image', p.args[0]!, 125);
    throw e;
  });
  await store.tag(p.args[1]!, matches[0]!.descriptor);
  return 0;
}

/** containersUsing lists the containers created from an image (by ID), when the container package is there. */
async function containersUsing(ctx: Context, imageId: string, refs: string[]): Promise<string[]> {
  const { listContainers } = await import('./containers.js');
  const all = await listContainers(ctx, { all: true });
  return all.filter(({ inspect: c }) => c.Image === imageId || refs.some((r) => sameRef(r, c.Config.Image ?? ''))).map(({ inspect: c }) => shortId(c.Id));
}

/**
 * rmi is `stratum rmi [-f] [--no-prune] IMAGE…`: a ref is untagged (`Untagged: busybox:latest`);
 * an ID removes all its refs (`-f` needed when there are several). When the last ref of an
 * image goes, the blobs nothing else uses are deleted (`Deleted: sha256:…`), unless `--no-prune`.
 */
export async function rmi(ctx: Context, p: ParsedArgs): Promise<number> {
  const store = await ctx.store();
  const force = flagBool(p, 'force');
  const removedIds: string[] = [];
  const code = await eachName(ctx, p.args, async (name) => {
    const { byId, matches } = await findImage(store, name);
    const id = matches[0]!.id;
    if (byId && matches.length > 1 && !force) {
      throw new CliError('CONFLICT', `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
    }
    const users = await containersUsing(ctx, id, matches.map((m) => m.ref)).catch(() => [] as string[]);
    if (users.length > 0 && !force) {
      throw new CliError('CONFLICT', `conflict: unable to remove repository reference "${name}" (must force) - container ${users[0]} is using its referenced image ${shortId(id)}`);
    }
    for (const m of matches) {
      if (await store.untag(m.ref)) ctx.out(`Untagged: ${familiar(m.ref)}\n`);
    }
    const left = (await listImages(store)).some((s) => s.id === id);
    if (!left) removedIds.push(id);
  });
  if (removedIds.length > 0 && !flagBool(p, 'no-prune')) {
    await store.gc();
    for (const id of removedIds) ctx.out(`Deleted: ${id}\n`);
  }
  return code;
}

const historyFormat: ListFormat = {
  table: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
  headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
  quietField: 'ID',
};

/** history is `stratum history [-H=false] [--no-trunc] [-q] [--format …] IMAGE` (@stratum/image's history). */
export async function history(ctx: Context, p: ParsedArgs): Promise<number> {
  const store = await ctx.store();
  const s = (await findImage(store, p.args[0]!).catch((e: unknown) => {
    if (e instanceof NoSuchObjectError) throw new NoSuchObjectError('image', p.args[0]!, 125);
    throw e;
  })).matches[0]!;
  if (s.image === undefined) throw new CliError('UNREADABLE_IMAGE', `image ${p.args[0]} has no manifest for this platform`);
  const { history: historyOf } = await import('@stratum/image');
  const human = flagBool(p, 'human');
  const noTrunc = flagBool(p, 'no-trunc');
  const now = Date.now();
  const rows = (await historyOf(s.image, { refs: s.reference !== undefined ? [s.ref] : [] })).map((h) => {
    const created = h.Created > 0 ? new Date(h.Created * 1000).toISOString().replace('.000Z', 'Z') : undefined;
    return {
      ID: h.Id === '<missing>' || noTrunc ? h.Id : shortId(h.Id),
      CreatedSince: human ? since(created, now) : (created ?? ''),
      CreatedAt: created ?? '',
      CreatedBy: noTrunc ? h.CreatedBy : ellipsis(h.CreatedBy.replace(/[\t\n]/g, ' '), 45),
      Size: human ? humanSize(h.Size) : String(h.Size),
      Comment: h.Comment,
      Tags: h.Tags.join(','),
    };
  });
  ctx.out(flagBool(p, 'quiet') ? renderQuiet(rows, 'ID') : renderList(rows, historyFormat, flagString(p, 'format')));
  return 0;
}

/**
 * inspectImage returns Docker's `image inspect` object for a name: @stratum/image's `inspect`
 * with the image's refs (RepoTags, RepoDigests).
 */
export async function inspectImage(store: Store, name: string): Promise<unknown> {
  const { matches } = await findImage(store, name);
  const s = matches[0]!;
  if (s.image === undefined) throw new CliError('UNREADABLE_IMAGE', `image ${name} has no manifest for this platform`);
  const refs = (await listImages(store)).filter((x) => x.id === s.id && x.reference !== undefined).map((x) => x.ref);
  // Loaded here, not at the top: the list verbs must not depend on it.
  const { inspect } = await import('@stratum/image');
  return inspect(s.image, { refs });
}

/** imageInspect is `stratum image inspect [-f TEMPLATE] IMAGE…`. */
export async function imageInspect(ctx: Context, p: ParsedArgs): Promise<number> {
  const store = await ctx.store();
  const found: unknown[] = [];
  const code = await eachName(ctx, p.args, async (name) => {
    found.push(await inspectImage(store, name));
  });
  ctx.out(renderInspect(found, flagString(p, 'format')));
  return code;
}
