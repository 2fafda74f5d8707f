/**
 * The archive verbs over @stratum/image-archive: `save` (docker save), `load` (docker load),
 * `import` (a rootfs tarball as a one-layer image) and `export` (a container's filesystem).
 */
import type { SaveItem } from '@stratum/image-archive';
import { flagBool, flagList, flagString, type ParsedArgs } from '../args.js';
import { Context } from '../context.js';
import { CliError } from '../errors.js';
import { ArchiveProgress } from '../progress.js';
import { familiar, findImage } from './images.js';

/** save is `stratum save [-o FILE] IMAGE…`: one docker-archive with every image (shared layers once). */
export async function save(ctx: Context, p: ParsedArgs): Promise<number> {
  const { saveDockerArchive } = await import('@stratum/image-archive');
  const output = flagString(p, 'output');
  if (output === undefined && Context.isTTY(ctx.stdout)) throw new CliError('REFUSED', 'cowardly refusing to save to a terminal: use the -o flag or redirect');
  const store = await ctx.store();
  const items: Array<string | SaveItem> = [];
  for (const name of p.args) {
    const { byId, matches } = await findImage(store, name);
    const m = matches[0]!;
    if (byId) {
      if (m.image === undefined) throw new CliError('UNREADABLE_IMAGE', `image ${name} has no manifest for this platform`);
      items.push({ image: m.image, tags: [] });
    } else {
      items.push(m.ref);
    }
  }
  // Progress goes to stderr when the archive goes to stdout.
  const progressOut = output === undefined ? { write: (t: string) => ctx.stderr.write(t), tty: Context.isTTY(ctx.stderr) } : ctx.progress();
  const progress = new ArchiveProgress(progressOut, 'Saving layer');
  await saveDockerArchive(store, items, output !== undefined ? ctx.path(output) : ctx.stdout, {
    onProgress: progress.onProgress,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  progress.finish();
  return 0;
}

/** load is `stratum load [-i FILE] [-q]`: a docker-archive (plain, gzip or zstd) into the store; prints `Loaded image: …`. */
export async function load(ctx: Context, p: ParsedArgs): Promise<number> {
  const { loadDockerArchive } = await import('@stratum/image-archive');
  const input = flagString(p, 'input');
  if (input === undefined && Context.isTTY(ctx.stdin)) throw new CliError('REFUSED', 'requested load from stdin, but stdin is empty: use -i FILE or redirect');
  const quiet = flagBool(p, 'quiet');
  const store = await ctx.store();
  const progress = new ArchiveProgress(ctx.progress(), 'Loading layer');
  const loaded = await loadDockerArchive(input !== undefined ? ctx.path(input) : ctx.stdin, store, {
    ...(quiet ? {} : { onProgress: progress.onProgress }),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  progress.finish();
  for (const img of loaded) {
    if (img.tags.length === 0) ctx.out(`Loaded image ID: ${img.id ?? img.descriptor.digest}\n`);
    for (const t of img.tags) ctx.out(`Loaded image: ${familiar(t)}\n`);
  }
  return 0;
}

/**
 * importImage is `stratum import [-c CHANGE]… [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]`: a rootfs
 * tarball becomes a one-layer image; prints its ID (`sha256:…`).
 */
export async function importImage(ctx: Context, p: ParsedArgs): Promise<number> {
  const { importRootfs } = await import('@stratum/image-archive');
  const source = p.args[0]!;
  if (/^https?:\/\//.test(source)) throw new CliError('UNSUPPORTED', 'importing from a URL is not supported: download the file and import it');
  if (source === '-' && Context.isTTY(ctx.stdin)) throw new CliError('REFUSED', 'refusing to read a tarball from a terminal: redirect stdin or give a file');
  const store = await ctx.store();
  const message = flagString(p, 'message');
  const platform = flagString(p, 'platform');
  const ref = p.args[1];
  const result = await importRootfs(source === '-' ? ctx.stdin : ctx.path(source), store, {
    ...(ref !== undefined ? { ref } : {}),
    changes: flagList(p, 'change'),
    ...(message !== undefined ? { message } : {}),
    ...(platform !== undefined ? { platform } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  ctx.out(`${result.id}\n`);
  return 0;
}

/** exportContainer is `stratum export [-o FILE] CONTAINER`: the container's filesystem as a tar. */
export async function exportContainer(ctx: Context, p: ParsedArgs): Promise<number> {
  const output = flagString(p, 'output');
  if (output === undefined && Context.isTTY(ctx.stdout)) throw new CliError('REFUSED', 'cowardly refusing to save to a terminal: use the -o flag or redirect');
  const { exportContainerRootfs } = await import('./containers.js');
  await exportContainerRootfs(ctx, p.args[0]!, output !== undefined ? ctx.path(output) : ctx.stdout);
  return 0;
}
