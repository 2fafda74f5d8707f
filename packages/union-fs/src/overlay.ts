import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrnoError, MOUNT_ATTR, MS, features, mountAt, mountFs } from '@stratum/native';
import { OverlayMountError } from './errors.js';
import { kernelLogSince } from './kmsg.js';
import { Mount } from './mount.js';
import { shortLinks } from './short-links.js';
import { inUserNamespace } from './userns.js';

/** OverlayMethodOption: how {@link mountOverlay} talks to the kernel (see {@link OverlayOptions.method}). */
export type OverlayMethodOption = 'auto' | 'lowerdir+' | 'classic';

/** OverlayOptions: the options of {@link mountOverlay}. */
export interface OverlayOptions {
  /** Lower layer directories, TOP FIRST (the kernel's `lowerdir` order: index 0 hides what is below it). At least one. */
  lower: readonly string[];
  /** The writable layer. With `work`; omit both for a lower-only overlay (read-only, needs at least two lowers). */
  upper?: string;
  /** overlayfs's scratch directory: empty, on the same filesystem as `upper`. */
  work?: string;
  /** The mount point (an existing directory). */
  target: string;
  /** Mount read-only (MOUNT_ATTR_RDONLY / MS_RDONLY). Default false (true when there is no upper). */
  readonly?: boolean;
  /**
   * More overlay parameters, or overrides of the defaults: `{ volatile: true, xino: 'off' }`;
   * `true` sets a flag, a string `key=value`, `false` drops a default. Defaults: `index=off`
   * (layers may sit under any number of overlays), `metacopy=off` and `redirect_dir=off`
   * (`nofollow` with userxattr) so that the upper directory is a complete diff that
   * {@link @stratum/layer!createLayer} can express. The layer dirs have their own fields.
   */
  options?: Readonly<Record<string, string | boolean>>;
  /**
   * `'lowerdir+'`: the new mount API, one `lowerdir+` per layer (Linux ≥ 6.8; any number of
   * layers up to the kernel's 500). `'classic'`: one mount(2) call with `lowerdir=0:1:…` naming
   * the layers through short symlinks (Docker overlay2's `l/`, one directory per process), for older kernels.
   * `'auto'` (default): lowerdir+ where the kernel has it.
   */
  method?: OverlayMethodOption;
  /** Store overlay metadata in `user.overlay.*` (the rootless mode, Linux ≥ 5.11). Default: true inside a user namespace. */
  userxattr?: boolean;
  /** The mount's source as /proc/mounts shows it (default `stratum-overlay`). */
  source?: string;
  /** Mount flags: no setuid, no device files, no execution. */
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  /** Checked before mounting (the mount itself is one short syscall sequence). */
  signal?: AbortSignal;
}

/** What {@link resolveOverlayOptions} makes of the caller's options: absolute paths, defaults filled in. */
export interface ResolvedOverlay {
  lower: string[];
  upper: string | undefined;
  work: string | undefined;
  target: string;
  readonly: boolean;
  userxattr: boolean;
  source: string;
  /** Overlay parameters besides the layer dirs, in order: `[key]` flag or `[key, value]`. */
  params: Array<[string, string?]>;
  nosuid: boolean;
  nodev: boolean;
  noexec: boolean;
}

/** overlayfs logs as `overlayfs:` and, for parameters, `overlay:`. */
const KLOG = ['overlayfs:', 'overlay:'];

const LAYER_KEYS = new Set(['lowerdir', 'lowerdir+', 'upperdir', 'workdir', 'datadir+', 'userxattr']);

function path(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '' || v.includes('\0')) throw new TypeError(`mountOverlay: ${what} must be a non-empty path string`);
  return resolve(v);
}

function bool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  throw new TypeError(`mountOverlay: options.${what} must be a boolean`);
}

/** resolveOverlayOptions validates the options (TypeError) and fills in the defaults (of the kernel's overlay when `kernel`); shared by the kernel and FUSE mounts. */
export function resolveOverlayOptions(opts: OverlayOptions, fn = 'mountOverlay', kernel = true): ResolvedOverlay {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: options must be an object`);
  if (!Array.isArray(opts.lower) || opts.lower.length === 0) throw new TypeError(`${fn}: options.lower must be a non-empty array of directories (top first)`);
  const lower = opts.lower.map((l, i) => path(l, `options.lower[${i}]`));
  if ((opts.upper === undefined) !== (opts.work === undefined)) throw new TypeError(`${fn}: options.upper and options.work go together`);
  const upper = opts.upper === undefined ? undefined : path(opts.upper, 'options.upper');
  const work = opts.work === undefined ? undefined : path(opts.work, 'options.work');
  const target = path(opts.target, 'options.target');
  const userxattr = bool(opts.userxattr, 'userxattr') ?? inUserNamespace();
  const readonly = (bool(opts.readonly, 'readonly') ?? false) || upper === undefined;
  const source = opts.source ?? 'stratum-overlay';
  if (typeof source !== 'string' || source === '' || /[\s,]/.test(source)) throw new TypeError(`${fn}: options.source must be a non-empty string without spaces or commas`);
  const defaults: Record<string, string | boolean> = kernel ? { index: 'off', metacopy: 'off', redirect_dir: userxattr ? 'nofollow' : 'off' } : {};
  const extra = opts.options ?? {};
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw new TypeError(`${fn}: options.options must be an object of overlay parameters`);
  const merged: Record<string, string | boolean> = { ...defaults };
  for (const [k, v] of Object.entries(extra)) {
    if (LAYER_KEYS.has(k)) throw new TypeError(`${fn}: set ${k} through options.lower/upper/work/userxattr, not options.options`);
    if (k === '' || /[,=\s\0]/.test(k)) throw new TypeError(`${fn}: bad overlay parameter name ${JSON.stringify(k)}`);
    if (typeof v !== 'boolean' && (typeof v !== 'string' || /[,\0]/.test(v))) {
      throw new TypeError(`${fn}: options.options.${k} must be a boolean or a string without commas`);
    }
    merged[k] = v;
  }
  const params: Array<[string, string?]> = [];
  if (userxattr && kernel) params.push(['userxattr']);
  for (const [k, v] of Object.entries(merged)) {
    if (v === false) continue;
    params.push(v === true ? [k] : [k, v]);
  }
  return {
    lower,
    upper,
    work,
    target,
    readonly,
    userxattr,
    source,
    params,
    nosuid: bool(opts.nosuid, 'nosuid') ?? false,
    nodev: bool(opts.nodev, 'nodev') ?? false,
    noexec: bool(opts.noexec, 'noexec') ?? false,
  };
}

/**
 * mountOverlay mounts an overlay filesystem of `lower` (top first), `upper` and `work` on
 * `target` and returns the {@link Mount} that owns it (`await using` unmounts it). Copy-on-write
 * as the kernel does it: reading sees the topmost layer that has a name; the first write to a
 * lower file copies it up into `upper`; deleting a lower name leaves a whiteout (a 0/0 character
 * device) in `upper`; a directory removed and made again is marked opaque; the lower layers
 * never change.
 *
 * Through the new mount API with one `lowerdir+` per layer where the kernel has it (Linux ≥ 6.8;
 * the kernel's 500-layer limit is the only one), else with one classic mount(2) naming the layers
 * through short symlinks (Docker overlay2's `l/` dir; one per process, removed at exit), which keeps the one-page data
 * string short for hundreds of layers. Inside a user namespace (rootless) `userxattr` is added.
 * Not idempotent: mounting twice stacks two mounts. Failure throws {@link OverlayMountError} with
 * the kernel's explanation and leaves nothing mounted. Like
 * `mount -t overlay -o lowerdir=L1:L2,upperdir=U,workdir=W stratum-overlay TARGET`.
 */
export async function mountOverlay(opts: OverlayOptions): Promise<Mount> {
  const o = resolveOverlayOptions(opts);
  const method = opts.method ?? 'auto';
  if (method !== 'auto' && method !== 'lowerdir+' && method !== 'classic') throw new TypeError(`mountOverlay: options.method must be 'auto', 'lowerdir+' or 'classic'`);
  opts.signal?.throwIfAborted();
  const plus = method === 'lowerdir+' || (method === 'auto' && features().overlayLowerdirPlus);
  if (plus) mountNewApi(o);
  else mountClassic(o);
  return new Mount({ target: o.target, method: plus ? 'lowerdir+' : 'classic', lower: o.lower, upper: o.upper, work: o.work, readonly: o.readonly, userxattr: o.userxattr });
}

function shown([k, v]: [string, string?]): string {
  return v === undefined ? k : `${k}=${v}`;
}

function mountNewApi(o: ResolvedOverlay): void {
  const options: Array<[string, string?]> = o.lower.map((l): [string, string] => ['lowerdir+', l]);
  if (o.upper !== undefined) options.push(['upperdir', o.upper], ['workdir', o.work!]);
  options.push(...o.params);
  const attrs = (o.readonly ? MOUNT_ATTR.RDONLY : 0) | (o.nosuid ? MOUNT_ATTR.NOSUID : 0) | (o.nodev ? MOUNT_ATTR.NODEV : 0) | (o.noexec ? MOUNT_ATTR.NOEXEC : 0);
  const t0 = process.hrtime.bigint();
  try {
    mountFs({ fstype: 'overlay', source: o.source, options, target: o.target, attrs });
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    // detail is "option KEY=VALUE[: LOG]" or "create overlay: LOG" (see @stratum/native mountFs).
    let option: string | undefined;
    let log: string | undefined;
    let layer: number | undefined;
    const detail = e.detail ?? '';
    if (detail.startsWith('option ')) {
      const rest = detail.slice('option '.length);
      const hit = [['source', o.source] as [string, string], ...options].map(shown).find((s) => rest === s || rest.startsWith(`${s}: `));
      option = hit ?? rest;
      log = hit !== undefined && rest.length > hit.length ? rest.slice(hit.length + 2) : undefined;
      if (hit?.startsWith('lowerdir+=')) layer = o.lower.indexOf(hit.slice('lowerdir+='.length));
    } else if (detail.startsWith('create overlay: ')) {
      const rest = detail.slice('create overlay: '.length);
      log = rest.startsWith('no fs-context log') ? kernelLogSince(KLOG, t0) : rest;
    } else if (detail) {
      log = detail;
    }
    throw new OverlayMountError({ target: o.target, method: 'lowerdir+', errno: e.code, syscall: e.syscall, option, layer: layer === -1 ? undefined : layer, log, cause: e });
  }
}

function mountClassic(o: ResolvedOverlay): void {
  const links = shortLinks(o);
  const parts = [`lowerdir=${links.lower.join(':')}`];
  if (links.upper !== undefined) parts.push(`upperdir=${links.upper}`, `workdir=${links.work!}`);
  for (const p of o.params) parts.push(shown(p));
  const flags = (o.readonly ? MS.RDONLY : 0) | (o.nosuid ? MS.NOSUID : 0) | (o.nodev ? MS.NODEV : 0) | (o.noexec ? MS.NOEXEC : 0);
  const t0 = process.hrtime.bigint();
  try {
    mountAt(links.fd, { source: o.source, target: o.target, fstype: 'overlay', flags, data: parts.join(',') });
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    // mount(2) says only EINVAL/ENOENT; name the directory that is missing, if one is.
    let option: string | undefined;
    let layer: number | undefined;
    const dirs: Array<[string, string, number?]> = o.lower.map((l, i): [string, string, number] => ['lowerdir', l, i]);
    if (o.upper !== undefined) dirs.push(['upperdir', o.upper], ['workdir', o.work!]);
    for (const [key, dir, i] of dirs) {
      if (!isDir(dir)) {
        option = `${key}=${dir}`;
        layer = i;
        break;
      }
    }
    const log = kernelLogSince(KLOG, t0);
    throw new OverlayMountError({ target: o.target, method: 'classic', errno: e.code, syscall: e.syscall, option, layer, log, cause: e });
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
