import type { VolumeMount } from './mounts.js';
import type { BindPropagation, BindRecursive, BindSpec, NamedVolumeSpec, SelinuxRelabel, VolumeSpec } from './spec.js';

/**
 * VolumesFromMount: one mount of another container as {@link volumesFrom} reads it: a
 * {@link VolumeMount} whose `Spec` may be anything (a record read back from JSON); only the
 * fields that make sense are taken from it, and the result is validated again by `attach`.
 */
export type VolumesFromMount = Omit<VolumeMount, 'Spec'> & { Spec?: unknown };

/**
 * VolumesFromSource: what {@link volumesFrom} needs of another container: its mounts as
 * `VolumeStore.attach` returned them (`points`) or as `docker inspect` shows them.
 */
export interface VolumesFromSource {
  readonly mounts: readonly VolumesFromMount[];
}

function field<T>(spec: unknown, key: string, allowed: readonly T[]): T | undefined {
  if (spec === null || typeof spec !== 'object') return undefined;
  const v = (spec as Record<string, unknown>)[key];
  return allowed.includes(v as T) ? (v as T) : undefined;
}

const PROPAGATIONS: readonly BindPropagation[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const RECURSIVE: readonly BindRecursive[] = ['enabled', 'disabled', 'writable', 'readonly'];
const LABELS: readonly SelinuxRelabel[] = ['z', 'Z'];

/**
 * volumesFrom gives a container the same volumes and binds as `container` (`docker run
 * --volumes-from C[:ro|:rw]`): one spec per bind or volume mount, at the same path, of origin
 * `volumes-from` (so the new container's own `-v` at that path wins). `readonly: true` makes every
 * one read-only, `false` every one writable, omitted keeps each mount's own mode (`RW`). Volumes
 * are named by their name (anonymous ones included, so both containers share them) and never
 * copied up again. A tmpfs is private to its container and is not inherited. Pure: pass the
 * result to `VolumeStore.attach`, which records the new container as a user of each volume.
 */
export function volumesFrom(container: VolumesFromSource, opts: { readonly?: boolean } = {}): VolumeSpec[] {
  if (container === null || typeof container !== 'object' || !Array.isArray(container.mounts)) {
    throw new TypeError('volumesFrom: container must have a mounts array');
  }
  if (opts.readonly !== undefined && typeof opts.readonly !== 'boolean') throw new TypeError('volumesFrom: readonly must be a boolean');
  const out: VolumeSpec[] = [];
  for (const m of container.mounts) {
    const readonly = opts.readonly ?? !m.RW;
    const selinux = field(m.Spec, 'selinux', LABELS);
    if (m.Type === 'volume') {
      if (!m.Name) continue;
      const spec: NamedVolumeSpec = { type: 'volume', source: m.Name, target: m.Destination, origin: 'volumes-from', nocopy: true };
      if (readonly) spec.readonly = true;
      if (selinux) spec.selinux = selinux;
      out.push(spec);
    } else if (m.Type === 'bind') {
      const spec: BindSpec = { type: 'bind', source: m.Source, target: m.Destination, origin: 'volumes-from' };
      if (readonly) spec.readonly = true;
      const propagation = field(m.Spec, 'propagation', PROPAGATIONS) ?? field(m, 'Propagation', PROPAGATIONS);
      const recursive = field(m.Spec, 'recursive', RECURSIVE);
      if (propagation) spec.propagation = propagation;
      if (recursive) spec.recursive = recursive;
      if (selinux) spec.selinux = selinux;
      out.push(spec);
    }
  }
  return out;
}
