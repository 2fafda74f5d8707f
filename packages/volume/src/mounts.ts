import { features } from '@stratum/native';
import type { MountSpec } from '@stratum/namespace';
import { InvalidVolumeSpecError } from './errors.js';
import { normalizeSpec, type BindSpec, type NamedVolumeSpec, type TmpfsSpec, type VolumeSpec } from './spec.js';

/**
 * VolumeMount: one mount of a container as `docker inspect` shows it in `Mounts` (Docker's field
 * names), plus the normalized `Spec` it was made from, so that {@link volumesFrom} can give
 * another container the same mount. @stratum/container records these and shows them as is.
 */
export interface VolumeMount {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** The volume's name (volumes only). */
  Name?: string;
  /** Host path: the bind source or the volume's mountpoint; '' for a tmpfs. */
  Source: string;
  /** Path inside the container. */
  Destination: string;
  /** 'local' (volumes only). */
  Driver?: string;
  /** The `-v` mode options that apply (`ro`, `z`, `nocopy`, a propagation), comma-separated; '' when none. */
  Mode: string;
  RW: boolean;
  /** The bind's propagation ('rprivate' by default); '' for volumes and tmpfs. */
  Propagation: string;
  Spec?: VolumeSpec;
}

/** BindMountInput: a {@link BindSpec} whose `type` may be omitted. */
export type BindMountInput = Omit<BindSpec, 'type'> & { type?: 'bind' };

/**
 * bindMount turns a bind spec into the `MountSpec` that @stratum/namespace's `spawn` takes
 * (an OCI runtime-spec mount): `rbind` (or `bind` with `recursive: 'disabled'`), `ro` when
 * read-only, `rro` (recursively read-only, mount_setattr) when read-only and recursive unless
 * `recursive: 'writable'` (or when the kernel lacks mount_setattr and `recursive` is the default
 * `enabled`, as Docker does), and the propagation (default `rprivate`). Pure apart from the
 * cached kernel feature probe; the host path is not checked here (spawn reports a missing one
 * as `SpawnError` naming it). Like `docker run -v /host:/ctr[:ro]` / `--mount type=bind`.
 */
export function bindMount(spec: BindMountInput): MountSpec {
  const s = normalizeSpec({ ...spec, type: 'bind' }) as BindSpec;
  const recursive = s.recursive ?? 'enabled';
  const options: string[] = [recursive === 'disabled' ? 'bind' : 'rbind'];
  if (s.readonly) {
    options.push('ro');
    if (recursive === 'readonly') {
      if (!features().idmappedMounts) {
        throw new InvalidVolumeSpecError(s.target, 'recursive', 'bind-recursive=readonly needs mount_setattr (Linux ≥ 5.12)');
      }
      options.push('rro');
    } else if (recursive === 'enabled' && features().idmappedMounts) {
      options.push('rro');
    }
  }
  options.push(s.propagation ?? 'rprivate');
  return { destination: s.target, type: 'bind', source: s.source, options };
}

/** The tmpfs defaults Docker applies to every `--tmpfs` and `type=tmpfs` mount. */
const TMPFS_DEFAULTS = ['nosuid', 'nodev', 'noexec'];

/** The key under which a mount option overrides its opposite (`exec` ↔ `noexec`, `ro` ↔ `rw`, `uid=1` ↔ `uid=2`). */
function optionKey(o: string): string {
  const eq = o.indexOf('=');
  if (eq >= 0) return o.slice(0, eq);
  if (o === 'ro' || o === 'rw') return 'rw';
  if (o === 'async') return 'sync';
  return o.startsWith('no') ? o.slice(2) : o;
}

/**
 * tmpfsMount turns a tmpfs spec into the `MountSpec` for `spawn`: Docker's defaults
 * `nosuid,nodev,noexec` (each overridable by the spec's options: `exec` wins over `noexec`),
 * `ro` when read-only, `size=` in bytes and `mode=` in octal. Pure. Like `docker run --tmpfs
 * /run:size=64m,mode=1777`; the size is enforced by the kernel (ENOSPC beyond it).
 */
export function tmpfsMount(spec: Omit<TmpfsSpec, 'type'> & { type?: 'tmpfs' }): MountSpec {
  const s = normalizeSpec({ ...spec, type: 'tmpfs' }) as TmpfsSpec;
  const opts = new Map<string, string>();
  const add = (o: string): void => {
    const k = optionKey(o);
    opts.delete(k);
    opts.set(k, o);
  };
  for (const o of TMPFS_DEFAULTS) add(o);
  for (const o of s.options ?? []) add(o);
  if (s.readonly) add('ro');
  if (s.size !== undefined) add(`size=${s.size}`);
  if (s.mode !== undefined) add(`mode=${s.mode.toString(8).padStart(4, '0')}`);
  return { destination: s.target, type: 'tmpfs', source: 'tmpfs', options: [...opts.values()] };
}

/**
 * volumeMountSpec is the `MountSpec` of a volume whose host directory is `mountpoint`:
 * a recursive bind, `ro` (recursively where the kernel can) when read-only, `rprivate`.
 */
export function volumeMountSpec(spec: NamedVolumeSpec, mountpoint: string): MountSpec {
  return bindMount({ source: mountpoint, target: spec.target, ...(spec.readonly ? { readonly: true } : {}) });
}

/** mountMode is the `Mode` string `docker inspect` shows for a spec: `ro`, the label, `nocopy`, a non-default propagation. */
export function mountMode(spec: VolumeSpec): string {
  const out: string[] = [];
  if (spec.readonly) out.push('ro');
  if (spec.type !== 'tmpfs' && spec.selinux) out.push(spec.selinux);
  if (spec.type === 'volume' && spec.nocopy) out.push('nocopy');
  if (spec.type === 'bind' && spec.propagation && spec.propagation !== 'rprivate') out.push(spec.propagation);
  return out.join(',');
}

function depth(p: string): number {
  return p === '/' ? 0 : p.split('/').length - 1;
}

/**
 * sortMounts orders mounts parents first (by the depth of the destination, stable otherwise),
 * as Docker does, so that `/data/sub` is mounted on top of `/data` and not hidden by it.
 * Returns a new array.
 */
export function sortMounts<T extends { destination: string } | { Destination: string }>(mounts: readonly T[]): T[] {
  const dest = (m: T): string => ('destination' in m ? m.destination : m.Destination);
  return mounts
    .map((m, i) => ({ m, i, d: depth(dest(m)) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.m);
}
