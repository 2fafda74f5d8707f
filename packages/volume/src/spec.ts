import { posix } from 'node:path';
import { InvalidVolumeNameError, InvalidVolumeSpecError } from './errors.js';

/**
 * SpecOrigin: where a spec came from, which decides who wins when two name the same container
 * path (Docker's order): `explicit` (`-v`, `--mount`, `--tmpfs`; two of them at one path are a
 * {@link DuplicateMountPointError}) beats `volumes-from` (first one wins among those) beats
 * `image` (the image config's `Volumes`, anonymous volumes made only where nothing else mounts).
 */
export type SpecOrigin = 'explicit' | 'volumes-from' | 'image';

/** BindPropagation: mount propagation of a bind (`-v /a:/b:rshared`, `bind-propagation=`); Docker's default is `rprivate`. */
export type BindPropagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

/**
 * BindRecursive: what happens to mounts below a bind's source (`--mount bind-recursive=`):
 * `enabled` (default: they come along; read-only ones are made recursively read-only when the
 * kernel has mount_setattr, Linux ≥ 5.12), `disabled` (a plain non-recursive bind), `writable`
 * (they come along and stay writable under a read-only bind), `readonly` (recursively read-only,
 * an error on kernels without mount_setattr).
 */
export type BindRecursive = 'enabled' | 'disabled' | 'writable' | 'readonly';

/** SelinuxRelabel: `z` (shared) or `Z` (private) of `-v`; recorded in `Mode`, no relabelling is done (no SELinux here). */
export type SelinuxRelabel = 'z' | 'Z';

interface SpecBase {
  /** Absolute path inside the container (cleaned; never `/`). */
  target: string;
  /** Mount read-only (`:ro`, `readonly`). Default false. */
  readonly?: boolean;
  /** Default `explicit`. */
  origin?: SpecOrigin;
}

/** BindSpec: a host path bound at a container path (`-v /host:/ctr[:opts]`, `--mount type=bind,…`). */
export interface BindSpec extends SpecBase {
  type: 'bind';
  /** Absolute host path (cleaned). */
  source: string;
  /** Default `rprivate`. */
  propagation?: BindPropagation;
  /** Default `enabled`. */
  recursive?: BindRecursive;
  /** Create a missing source directory (what `-v` does; `--mount` refuses a missing source). Default false. */
  createHostPath?: boolean;
  selinux?: SelinuxRelabel;
}

/**
 * NamedVolumeSpec: a volume of the store at a container path: `name:/ctr` (created on first use,
 * like `docker run -v name:/ctr`) or, without `source`, a new anonymous volume (`-v /ctr`).
 */
export interface NamedVolumeSpec extends SpecBase {
  type: 'volume';
  /** Volume name; omitted = anonymous (a new volume with a 64-hex name). */
  source?: string;
  /** Do not copy the image's content at `target` into an empty volume (`:nocopy`, `volume-nocopy`). */
  nocopy?: boolean;
  /** Labels for a volume this spec creates (`volume-label=`); an existing volume keeps its own. */
  labels?: Readonly<Record<string, string>>;
  /** Driver of a volume this spec creates (`volume-driver=`); only `local`. */
  driver?: string;
  /** Driver options of a volume this spec creates (`volume-opt=`: `type`, `device`, `o`). */
  driverOptions?: Readonly<Record<string, string>>;
  selinux?: SelinuxRelabel;
}

/** TmpfsSpec: a tmpfs at a container path (`--tmpfs /run:size=64m,mode=1777`, `--mount type=tmpfs,…`). */
export interface TmpfsSpec extends SpecBase {
  type: 'tmpfs';
  /** Size limit in bytes (the kernel's default, half of RAM, when omitted). */
  size?: number;
  /** Permission bits of the tmpfs root (default 1777, the kernel's). */
  mode?: number;
  /**
   * Further tmpfs mount options: flags (`exec`, `noexec`, `suid`, `dev`, `ro`, `rw`, `sync`,
   * `noatime` …) and `uid=`, `gid=`, `nr_inodes=`, `nr_blocks=`, `huge=`, `mpol=`, `inode64`,
   * `noswap`. Docker's defaults `noexec,nosuid,nodev` apply unless overridden here.
   */
  options?: readonly string[];
}

/** VolumeSpec: one mount of a container: a bind, a (named or anonymous) volume, or a tmpfs. */
export type VolumeSpec = BindSpec | NamedVolumeSpec | TmpfsSpec;

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** isValidVolumeName tells whether `name` is a valid local volume name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, Docker's rule). */
export function isValidVolumeName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= 255 && NAME.test(name);
}

/** checkVolumeName returns `name` or throws {@link InvalidVolumeNameError}. */
export function checkVolumeName(name: unknown): string {
  if (!isValidVolumeName(name)) throw new InvalidVolumeNameError(typeof name === 'string' ? name : String(name));
  return name;
}

const PROPAGATIONS: readonly BindPropagation[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const RECURSIVE: readonly BindRecursive[] = ['enabled', 'disabled', 'writable', 'readonly'];

/** The tmpfs options a {@link TmpfsSpec} may carry (mount(8) flags and tmpfs' own keys). */
const TMPFS_FLAGS = new Set([
  'ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'sync', 'async', 'dirsync', 'atime', 'noatime',
  'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'inode64', 'inode32', 'noswap',
]);
const TMPFS_KEYS = new Set(['uid', 'gid', 'nr_inodes', 'nr_blocks', 'huge', 'mpol']);

function fail(input: string, field: string, reason: string): never {
  throw new InvalidVolumeSpecError(input, field, reason);
}

/** cleanAbsolute cleans an absolute path (`/a//b/../c/` → `/a/c`) or throws naming `field`. */
export function cleanAbsolute(p: unknown, input: string, field: string): string {
  if (typeof p !== 'string' || p === '') fail(input, field, `${field} must be a non-empty string`);
  if (p.includes('\0')) fail(input, field, `${field} must not contain NUL`);
  if (!p.startsWith('/')) fail(input, field, `${field} ${JSON.stringify(p)} must be an absolute path`);
  const c = posix.normalize(p);
  return c.length > 1 && c.endsWith('/') ? c.slice(0, -1) : c;
}

function bool(v: unknown, input: string, field: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(input, field, `${field} must be a boolean`);
  return v;
}

function stringMap(v: unknown, input: string, field: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(input, field, `${field} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string' || k === '' || k.includes('\0') || val.includes('\0')) fail(input, field, `${field}.${k} must be a string`);
    out[k] = val;
  }
  return out;
}

function check<T extends string>(v: unknown, allowed: readonly T[], input: string, field: string): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) fail(input, field, `${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** checkTmpfsOption validates one tmpfs mount option (see {@link TmpfsSpec.options}). */
export function checkTmpfsOption(o: unknown, input: string): string {
  if (typeof o !== 'string' || o.includes('\0') || o.includes(',')) fail(input, 'tmpfs-options', `tmpfs options must be single strings, got ${JSON.stringify(o)}`);
  if (TMPFS_FLAGS.has(o)) return o;
  const eq = o.indexOf('=');
  const key = eq < 0 ? o : o.slice(0, eq);
  if (key === 'size' || key === 'mode') fail(input, `tmpfs-${key}`, `give the tmpfs ${key} as the spec's ${key} field, not as an option`);
  if (eq > 0 && TMPFS_KEYS.has(key) && o.length > eq + 1) return o;
  return fail(input, 'tmpfs-options', `unknown or malformed tmpfs option ${JSON.stringify(o)}`);
}

/**
 * normalizeSpec validates a {@link VolumeSpec} (an {@link InvalidVolumeSpecError} naming the
 * field for anything wrong; {@link InvalidVolumeNameError} for a bad volume name) and returns a
 * cleaned, frozen copy: paths cleaned, `origin` filled in. Pure: no I/O.
 */
export function normalizeSpec(spec: VolumeSpec): Readonly<VolumeSpec> {
  if (spec === null || typeof spec !== 'object') fail(String(spec), 'spec', 'a volume spec must be an object');
  const input = typeof spec.target === 'string' ? spec.target : '(spec)';
  const target = cleanAbsolute(spec.target, input, 'target');
  if (target === '/') fail(input, 'target', "the destination can't be '/'");
  const readonly = bool(spec.readonly, input, 'readonly');
  const origin = check(spec.origin, ['explicit', 'volumes-from', 'image'] as const, input, 'origin') ?? 'explicit';
  const base = { target, origin, ...(readonly !== undefined ? { readonly } : {}) };
  switch (spec.type) {
    case 'bind': {
      const out: BindSpec = { type: 'bind', source: cleanAbsolute(spec.source, input, 'source'), ...base };
      const propagation = check(spec.propagation, PROPAGATIONS, input, 'propagation');
      const recursive = check(spec.recursive, RECURSIVE, input, 'recursive');
      const create = bool(spec.createHostPath, input, 'createHostPath');
      const selinux = check(spec.selinux, ['z', 'Z'] as const, input, 'selinux');
      if (propagation) out.propagation = propagation;
      if (recursive) out.recursive = recursive;
      if (create !== undefined) out.createHostPath = create;
      if (selinux) out.selinux = selinux;
      for (const k of ['nocopy', 'labels', 'driver', 'driverOptions', 'size', 'mode', 'options'] as const) {
        if ((spec as unknown as Record<string, unknown>)[k] !== undefined) fail(input, k, `${k} does not apply to a bind mount`);
      }
      return Object.freeze(out);
    }
    case 'volume': {
      const out: NamedVolumeSpec = { type: 'volume', ...base };
      if (spec.source !== undefined && spec.source !== '') out.source = checkVolumeName(spec.source);
      const nocopy = bool(spec.nocopy, input, 'nocopy');
      const labels = stringMap(spec.labels, input, 'labels');
      const driverOptions = stringMap(spec.driverOptions, input, 'driverOptions');
      const selinux = check(spec.selinux, ['z', 'Z'] as const, input, 'selinux');
      if (spec.driver !== undefined && (typeof spec.driver !== 'string' || spec.driver === '')) fail(input, 'driver', 'driver must be a non-empty string');
      if (nocopy !== undefined) out.nocopy = nocopy;
      if (labels) out.labels = Object.freeze(labels);
      if (spec.driver !== undefined) out.driver = spec.driver;
      if (driverOptions) out.driverOptions = Object.freeze(driverOptions);
      if (selinux) out.selinux = selinux;
      for (const k of ['propagation', 'recursive', 'createHostPath', 'size', 'mode', 'options'] as const) {
        if ((spec as unknown as Record<string, unknown>)[k] !== undefined) fail(input, k, `${k} does not apply to a volume`);
      }
      return Object.freeze(out);
    }
    case 'tmpfs': {
      const out: TmpfsSpec = { type: 'tmpfs', ...base };
      if (spec.size !== undefined) {
        if (typeof spec.size !== 'number' || !Number.isSafeInteger(spec.size) || spec.size <= 0) fail(input, 'size', 'tmpfs size must be a positive integer of bytes');
        out.size = spec.size;
      }
      if (spec.mode !== undefined) {
        if (typeof spec.mode !== 'number' || !Number.isInteger(spec.mode) || spec.mode < 0 || spec.mode > 0o7777) fail(input, 'mode', 'tmpfs mode must be permission bits (0 … 0o7777)');
        out.mode = spec.mode;
      }
      if (spec.options !== undefined) {
        if (!Array.isArray(spec.options)) fail(input, 'options', 'tmpfs options must be an array of strings');
        out.options = Object.freeze(spec.options.map((o) => checkTmpfsOption(o, input)));
      }
      for (const k of ['source', 'propagation', 'recursive', 'createHostPath', 'nocopy', 'labels', 'driver', 'driverOptions'] as const) {
        if ((spec as unknown as Record<string, unknown>)[k] !== undefined) fail(input, k, `${k} does not apply to a tmpfs`);
      }
      return Object.freeze(out);
    }
    default:
      return fail(input, 'type', `type must be 'bind', 'volume' or 'tmpfs', got ${JSON.stringify((spec as { type?: unknown }).type)}`);
  }
}
