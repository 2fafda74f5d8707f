import { resolve as resolvePath } from 'node:path';
import { InvalidVolumeSpecError } from './errors.js';
import {
  checkTmpfsOption,
  normalizeSpec,
  type BindPropagation,
  type BindRecursive,
  type BindSpec,
  type NamedVolumeSpec,
  type SelinuxRelabel,
  type TmpfsSpec,
  type VolumeSpec,
} from './spec.js';

/** ParseOptions: how relative host paths (`./data:/data`, as docker CLI ≥ 23 accepts) are resolved. */
export interface ParseOptions {
  /** Directory relative bind sources are resolved against; default `process.cwd()`. */
  cwd?: string;
}

function fail(input: string, field: string, reason: string): never {
  throw new InvalidVolumeSpecError(input, field, reason);
}

const PROPAGATIONS = new Set<string>(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const CONSISTENCY = new Set<string>(['consistent', 'cached', 'delegated', 'default']);

function hostPath(source: string, opts: ParseOptions): string | undefined {
  if (source.startsWith('/')) return source;
  if (source === '.' || source === '..' || source.startsWith('./') || source.startsWith('../')) return resolvePath(opts.cwd ?? process.cwd(), source);
  return undefined;
}

/**
 * parseVolume parses Docker's `-v` / `--volume` syntax (Linux rules of moby's volume parser):
 *
 * ```
 * volume   := target                      an anonymous volume at target
 *           | source ":" target [":" mode]
 * source   := "/" host-path | "./" or "../" relative host path   → a bind mount
 *           | name                        → a named volume ([a-zA-Z0-9][a-zA-Z0-9_.-]+)
 * mode     := opt ("," opt)*   at most one of each kind:
 *             rw | ro;  z | Z;  private | rprivate | shared | rshared | slave | rslave (binds only);
 *             nocopy (volumes only);  consistent | cached | delegated (accepted, no effect)
 * ```
 *
 * A bind from `-v` creates its missing host directory (`createHostPath`), as Docker does. Pure:
 * throws {@link InvalidVolumeSpecError} (or InvalidVolumeNameError) for bad input.
 */
export function parseVolume(raw: string, opts: ParseOptions = {}): VolumeSpec {
  if (typeof raw !== 'string') fail(String(raw), 'spec', 'a -v specification must be a string');
  const parts = raw.split(':');
  if (parts.length > 3 || parts[0] === '') fail(raw, 'spec', 'expected [source:]target[:mode]');
  let source: string | undefined;
  let target: string;
  let mode = '';
  if (parts.length === 1) {
    target = parts[0]!;
  } else if (parts.length === 2) {
    if (parts[1] === '') fail(raw, 'target', 'the target is empty');
    if (validMode(parts[1]!)) fail(raw, 'spec', 'a target alone takes no mode (anonymous volumes are target only)');
    [source, target] = parts as [string, string];
  } else {
    [source, target, mode] = parts as [string, string, string];
  }
  if (target === '') fail(raw, 'target', 'the target is empty');
  if (!target.startsWith('/')) fail(raw, 'target', `invalid mount config: the target ${JSON.stringify(target)} must be an absolute path`);
  const m = modes(raw, mode);
  const host = source === undefined ? undefined : hostPath(source, opts);
  if (host !== undefined) {
    if (m.nocopy !== undefined) fail(raw, 'mode', 'nocopy does not apply to a bind mount');
    const spec: BindSpec = { type: 'bind', source: host, target, createHostPath: true };
    if (m.readonly) spec.readonly = true;
    if (m.propagation) spec.propagation = m.propagation;
    if (m.selinux) spec.selinux = m.selinux;
    return wrap(raw, spec);
  }
  if (m.propagation) fail(raw, 'mode', 'propagation modes apply to bind mounts only');
  const spec: NamedVolumeSpec = { type: 'volume', target };
  if (source !== undefined) spec.source = source;
  if (m.readonly) spec.readonly = true;
  if (m.nocopy) spec.nocopy = true;
  if (m.selinux) spec.selinux = m.selinux;
  return wrap(raw, spec);
}

function validMode(mode: string): boolean {
  try {
    modes('', mode);
    return true;
  } catch {
    return false;
  }
}

interface Modes {
  readonly?: boolean;
  selinux?: SelinuxRelabel;
  propagation?: BindPropagation;
  nocopy?: boolean;
}

function modes(raw: string, mode: string): Modes {
  const out: Modes = {};
  if (mode === '') return out;
  const seen = new Set<string>();
  const once = (kind: string): void => {
    if (seen.has(kind)) fail(raw, 'mode', `invalid mode ${JSON.stringify(mode)}: more than one ${kind} option`);
    seen.add(kind);
  };
  for (const o of mode.split(',')) {
    if (o === 'rw' || o === 'ro') {
      once('rw/ro');
      out.readonly = o === 'ro';
    } else if (o === 'z' || o === 'Z') {
      once('label');
      out.selinux = o;
    } else if (PROPAGATIONS.has(o)) {
      once('propagation');
      out.propagation = o as BindPropagation;
    } else if (o === 'nocopy') {
      once('copy');
      out.nocopy = true;
    } else if (CONSISTENCY.has(o) && o !== 'default') {
      once('consistency');
    } else {
      fail(raw, 'mode', `invalid mode ${JSON.stringify(mode)}: unknown option ${JSON.stringify(o)}`);
    }
  }
  return out;
}

function wrap<T extends VolumeSpec>(raw: string, spec: T): T {
  try {
    return { ...normalizeSpec(spec) } as T;
  } catch (e) {
    // Report the whole string the user typed, not just the part normalizeSpec saw.
    if (e instanceof InvalidVolumeSpecError) throw new InvalidVolumeSpecError(raw, e.field, e.reason);
    throw e;
  }
}

/** Splits one CSV record (Go's encoding/csv rules, which `--mount` uses: "…" quotes a field, "" is a quote). */
function csvFields(raw: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (raw[i] === '"') {
      i++;
      for (;;) {
        if (i >= raw.length) fail(raw, 'spec', 'unterminated quote');
        if (raw[i] === '"') {
          if (raw[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += raw[i++];
      }
      if (i < raw.length && raw[i] !== ',') fail(raw, 'spec', 'extraneous characters after a quoted field');
    } else {
      const end = raw.indexOf(',', i);
      field = end < 0 ? raw.slice(i) : raw.slice(i, end);
      if (field.includes('"')) fail(raw, 'spec', 'a quote inside an unquoted field');
      i = end < 0 ? raw.length : end;
    }
    out.push(field);
    if (i >= raw.length) return out;
    i++; // the comma
  }
}

function parseBool(raw: string, key: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return fail(raw, key, `invalid value for ${key}: ${JSON.stringify(value)} (true, false, 1 or 0)`);
}

/**
 * parseSize parses a size as Docker does for memory and tmpfs sizes (go-units RAMInBytes):
 * a decimal number with an optional binary unit `b`, `k`, `m`, `g`, `t`, `p` (optionally followed
 * by `i` and/or `b`: `64m`, `64MiB`, `1.5g`, `65536k`). Returns bytes, or throws
 * {@link InvalidVolumeSpecError} naming `field`.
 */
export function parseSize(s: string, input = s, field = 'size'): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) return fail(input, field, `invalid size ${JSON.stringify(s)}`);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === '' ? 1 : 1024 ** ('kmgtp'.indexOf(unit) + 1);
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n <= 0) fail(input, field, `size ${JSON.stringify(s)} is out of range`);
  return n;
}

function octalMode(s: string, input: string, field: string): number {
  if (!/^[0-7]{1,4}$/.test(s)) fail(input, field, `invalid mode ${JSON.stringify(s)}: octal permission bits expected`);
  return parseInt(s, 8);
}

function keyValue(raw: string, key: string, value: string | undefined): [string, string] {
  if (value === undefined) fail(raw, key, `${key} must be ${key}=KEY=VALUE`);
  const eq = value.indexOf('=');
  if (eq <= 0) fail(raw, key, `${key} must be ${key}=KEY=VALUE, got ${JSON.stringify(value)}`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

/**
 * parseMount parses Docker's `--mount` syntax: comma-separated `key=value` fields (CSV quoting
 * for values with commas). Keys: `type` (`volume` default, `bind`, `tmpfs`), `source`|`src`,
 * `target`|`destination`|`dst`, `readonly`|`ro` (bare = true), `bind-propagation`,
 * `bind-recursive` (enabled|disabled|writable|readonly), `bind-nonrecursive`, `volume-nocopy`,
 * `volume-label=K=V`, `volume-driver`, `volume-opt=K=V`, `tmpfs-size` (bytes or 64m),
 * `tmpfs-mode` (octal), `consistency` (accepted, no effect). Options of another type, a missing
 * target, a bind without source, or an unknown key are {@link InvalidVolumeSpecError}s. Unlike
 * `-v`, a bind's missing source is an error at attach time (no `createHostPath`).
 */
export function parseMount(raw: string, opts: ParseOptions = {}): VolumeSpec {
  if (typeof raw !== 'string' || raw === '') fail(String(raw), 'spec', 'a --mount specification must be a non-empty string');
  let type = 'volume';
  let source: string | undefined;
  let target: string | undefined;
  let readonly: boolean | undefined;
  const bind: { propagation?: string; recursive?: string; nonrecursive?: boolean } = {};
  const vol: { nocopy?: boolean; labels?: Record<string, string>; driver?: string; options?: Record<string, string> } = {};
  const tmpfs: { size?: number; mode?: number } = {};
  const used = { bind: '', volume: '', tmpfs: '' };
  for (const field of csvFields(raw)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => (value === undefined ? fail(raw, key, `invalid field ${JSON.stringify(field)}: must be a key=value pair`) : value);
    switch (key) {
      case 'type':
        type = need();
        break;
      case 'source':
      case 'src':
        source = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        target = need();
        break;
      case 'readonly':
      case 'ro':
        readonly = parseBool(raw, key, value);
        break;
      case 'consistency':
        if (!CONSISTENCY.has(need())) fail(raw, key, `invalid consistency ${JSON.stringify(value)}`);
        break;
      case 'bind-propagation':
        bind.propagation = need();
        used.bind ||= key;
        break;
      case 'bind-recursive':
        bind.recursive = need();
        used.bind ||= key;
        break;
      case 'bind-nonrecursive':
        bind.nonrecursive = parseBool(raw, key, value);
        used.bind ||= key;
        break;
      case 'volume-nocopy':
        vol.nocopy = parseBool(raw, key, value);
        used.volume ||= key;
        break;
      case 'volume-label': {
        const [k, v] = keyValue(raw, key, value);
        (vol.labels ??= {})[k] = v;
        used.volume ||= key;
        break;
      }
      case 'volume-driver':
        vol.driver = need();
        used.volume ||= key;
        break;
      case 'volume-opt': {
        const [k, v] = keyValue(raw, key, value);
        (vol.options ??= {})[k] = v;
        used.volume ||= key;
        break;
      }
      case 'volume-subpath':
        fail(raw, key, 'volume-subpath is not supported');
        break;
      case 'tmpfs-size':
        tmpfs.size = parseSize(need(), raw, key);
        used.tmpfs ||= key;
        break;
      case 'tmpfs-mode':
        tmpfs.mode = octalMode(need(), raw, key);
        used.tmpfs ||= key;
        break;
      default:
        fail(raw, key, `unexpected key ${JSON.stringify(key)}`);
    }
  }
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') fail(raw, 'type', `unsupported mount type ${JSON.stringify(type)} (bind, volume or tmpfs)`);
  for (const kind of ['bind', 'volume', 'tmpfs'] as const) {
    if (kind !== type && used[kind]) fail(raw, used[kind], `cannot mix '${kind}-*' options with mount type '${type}'`);
  }
  if (target === undefined || target === '') fail(raw, 'target', 'target is required');
  const ro = readonly ? { readonly: true } : {};
  if (type === 'bind') {
    if (source === undefined || source === '') fail(raw, 'source', 'source is required when specifying a bind mount');
    const host = hostPath(source, opts) ?? fail(raw, 'source', `bind source ${JSON.stringify(source)} must be an absolute path`);
    const spec: BindSpec = { type: 'bind', source: host, target, ...ro };
    if (bind.propagation !== undefined) {
      if (!PROPAGATIONS.has(bind.propagation)) fail(raw, 'bind-propagation', `invalid propagation ${JSON.stringify(bind.propagation)}`);
      spec.propagation = bind.propagation as BindPropagation;
    }
    if (bind.recursive !== undefined && bind.nonrecursive !== undefined) fail(raw, 'bind-recursive', 'bind-recursive and bind-nonrecursive are mutually exclusive');
    if (bind.recursive !== undefined) {
      if (!['enabled', 'disabled', 'writable', 'readonly'].includes(bind.recursive)) fail(raw, 'bind-recursive', `invalid value ${JSON.stringify(bind.recursive)}`);
      if ((bind.recursive === 'writable' || bind.recursive === 'readonly') && !readonly) fail(raw, 'bind-recursive', `bind-recursive=${bind.recursive} needs readonly`);
      spec.recursive = bind.recursive as BindRecursive;
    } else if (bind.nonrecursive) {
      spec.recursive = 'disabled';
    }
    return wrap(raw, spec);
  }
  if (type === 'tmpfs') {
    if (source !== undefined && source !== '') fail(raw, 'source', 'a tmpfs mount takes no source');
    const spec: TmpfsSpec = { type: 'tmpfs', target, ...ro };
    if (tmpfs.size !== undefined) spec.size = tmpfs.size;
    if (tmpfs.mode !== undefined) spec.mode = tmpfs.mode;
    return wrap(raw, spec);
  }
  const spec: NamedVolumeSpec = { type: 'volume', target, ...ro };
  if (source !== undefined && source !== '') spec.source = source;
  if (vol.nocopy) spec.nocopy = true;
  if (vol.labels) spec.labels = vol.labels;
  if (vol.driver !== undefined) spec.driver = vol.driver;
  if (vol.options) spec.driverOptions = vol.options;
  return wrap(raw, spec);
}

/**
 * parseTmpfs parses Docker's `--tmpfs` syntax, `target[:options]`, where options are tmpfs mount
 * options separated by commas: `size=` (kernel units: `65536k`, `64m`, `1g` or bytes), `mode=`
 * (octal), and the flags and keys of {@link TmpfsSpec.options}. Throws {@link InvalidVolumeSpecError}.
 */
export function parseTmpfs(raw: string): TmpfsSpec {
  if (typeof raw !== 'string' || raw === '') fail(String(raw), 'spec', 'a --tmpfs specification must be a non-empty string');
  const colon = raw.indexOf(':');
  const target = colon < 0 ? raw : raw.slice(0, colon);
  const spec: TmpfsSpec = { type: 'tmpfs', target };
  const options: string[] = [];
  if (colon >= 0) {
    for (const o of raw.slice(colon + 1).split(',')) {
      if (o === '') continue;
      if (o.startsWith('size=')) spec.size = parseSize(o.slice(5), raw, 'tmpfs-size');
      else if (o.startsWith('mode=')) spec.mode = octalMode(o.slice(5), raw, 'tmpfs-mode');
      else options.push(checkTmpfsOption(o, raw));
    }
  }
  if (options.length) spec.options = options;
  return wrap(raw, spec);
}

/**
 * VolumesFromRef: a parsed `--volumes-from` argument: the container (name or id) and the mode
 * forced on every inherited mount (`undefined`: each keeps its own).
 */
export interface VolumesFromRef {
  container: string;
  readonly?: boolean;
}

/** parseVolumesFrom parses `CONTAINER[:ro|:rw]` (Docker's `--volumes-from`). Throws {@link InvalidVolumeSpecError}. */
export function parseVolumesFrom(raw: string): VolumesFromRef {
  if (typeof raw !== 'string' || raw === '') fail(String(raw), 'spec', 'a --volumes-from argument must be a non-empty string');
  const parts = raw.split(':');
  if (parts.length > 2 || parts[0] === '') fail(raw, 'spec', 'expected CONTAINER[:ro|:rw]');
  if (parts.length === 1) return { container: parts[0]! };
  if (parts[1] !== 'ro' && parts[1] !== 'rw') fail(raw, 'mode', `invalid mode ${JSON.stringify(parts[1])}: ro or rw`);
  return { container: parts[0]!, readonly: parts[1] === 'ro' };
}
