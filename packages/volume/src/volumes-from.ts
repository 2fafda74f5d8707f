import type { VolumeMount } from './mounts.js';
import type { BindSpec, NamedVolumeSpec, VolumeSpec } from './spec.js';

/**
 * VolumesFromSource: what {@link volumesFrom} needs of another container: its mounts as
 * {@link VolumeStore.attach} returned them (`points`) or as `docker inspect` shows them.
 */
export interface VolumesFromSource {
  readonly mounts: readonly VolumeMount[];
}

/**
 * volumesFrom gives a container the same volumes and binds as `container` (`docker run
 * --volumes-from C[:ro|:rw]`): one spec per bind or volume mount, at the same path, of origin
 * `volumes-from` (so the new container's own `-v` at that path wins). `readonly: true` makes every
 * one read-only, `false` every one writable, omitted keeps each mount's own mode. Volumes are
 * named by their name (anonymous ones included, so both containers share them) and never
 * copied up again. A tmpfs is private to its container and is not inherited. Pure: pass the result
 * to {@link VolumeStore.attach}, which records the new container as a user of each volume.
 */
export function volumesFrom(container: VolumesFromSource, opts: { readonly?: boolean } = {}): VolumeSpec[] {
  if (container === null || typeof container !== 'object' || !Array.isArray(container.mounts)) {
    throw new TypeError('volumesFrom: container must have a mounts array');
  }
  if (opts.readonly !== undefined && typeof opts.readonly !== 'boolean') throw new TypeError('volumesFrom: readonly must be a boolean');
  const out: VolumeSpec[] = [];
  for (const m of container.mounts) {
    const readonly = opts.readonly ?? !m.RW;
    if (m.Type === 'volume') {
      if (!m.Name) continue;
      const spec: NamedVolumeSpec = { type: 'volume', source: m.Name, target: m.Destination, origin: 'volumes-from', nocopy: true };
      if (readonly) spec.readonly = true;
      const prev = m.Spec?.type === 'volume' ? m.Spec : undefined;
      if (prev?.selinux) spec.selinux = prev.selinux;
      out.push(spec);
    } else if (m.Type === 'bind') {
      const prev = m.Spec?.type === 'bind' ? m.Spec : undefined;
      const spec: BindSpec = { type: 'bind', source: m.Source, target: m.Destination, origin: 'volumes-from' };
      if (readonly) spec.readonly = true;
      const propagation = prev?.propagation ?? (m.Propagation || undefined);
      if (propagation) spec.propagation = propagation as BindSpec['propagation'] & string;
      if (prev?.recursive) spec.recursive = prev.recursive;
      if (prev?.selinux) spec.selinux = prev.selinux;
      out.push(spec);
    }
  }
  return out;
}
