/**
 * A container's volumes, binds and tmpfs mounts through @stratum/volume: `-v`, `--mount`,
 * `--tmpfs`, `--volumes-from` and the image's `VOLUME`s become specs (Docker's precedence),
 * attached once at create (volumes made and copied up from the image, the container recorded as
 * their user); the resulting mounts are recorded in config.json and given to spawn at every start.
 */
import { join } from 'node:path';
import { VolumeStore, imageVolumes, mergeVolumeSpecs, parseMount, parseTmpfs, parseVolume, parseVolumesFrom, volumesFrom, type VolumeSpec } from '@stratum/volume';
import type { MountRecord } from './record.js';
import type { Runtime } from './runtime.js';
import type { CheckedSpec } from './spec.js';

const stores = new WeakMap<Runtime, Promise<VolumeStore>>();

/** volumeStore returns the runtime's volume store (`<root>/volumes`). */
export function volumeStore(rt: Runtime): Promise<VolumeStore> {
  let s = stores.get(rt);
  if (!s) {
    s = VolumeStore.open(join(rt.root, 'volumes'));
    stores.set(rt, s);
  }
  return s;
}

/**
 * volumeSpecs turns a spec's `volumes`, `mounts`, `tmpfs` and `volumesFrom` plus the image's
 * `Volumes` into validated specs (explicit > volumes-from > image at one path). Throws the
 * volume package's InvalidVolumeSpecError / DuplicateMountPointError, or ContainerNotFoundError
 * for an unknown `--volumes-from` container. Touches nothing.
 */
export function volumeSpecs(rt: Runtime, s: CheckedSpec, image: Record<string, unknown> | null | undefined): VolumeSpec[] {
  const specs: VolumeSpec[] = [
    ...s.volumes.map((v) => parseVolume(v)),
    ...s.mounts.map((m) => parseMount(m)),
    ...Object.entries(s.tmpfs).map(([p, o]) => parseTmpfs(o ? `${p}:${o}` : p)),
  ];
  for (const raw of s.volumesFrom) {
    const ref = parseVolumesFrom(raw);
    const other = rt.state.record(rt.state.resolve(ref.container));
    specs.push(...volumesFrom({ mounts: other.mounts }, ref.readonly !== undefined ? { readonly: ref.readonly } : {}));
  }
  specs.push(...imageVolumes(image));
  return mergeVolumeSpecs(specs) as VolumeSpec[];
}

/** needsCopyUp: whether attaching `specs` copies image content (so the root filesystem must be mounted). */
export function needsCopyUp(specs: readonly VolumeSpec[]): boolean {
  return specs.some((s) => s.type === 'volume' && !s.nocopy);
}

/** attachVolumes attaches the specs for container `id` and returns its Mounts records. */
export async function attachVolumes(rt: Runtime, id: string, specs: readonly VolumeSpec[], rootfs: string | undefined): Promise<MountRecord[]> {
  if (specs.length === 0) return [];
  const store = await volumeStore(rt);
  const a = await store.attach(id, specs, rootfs !== undefined ? { rootfs } : {});
  return a.points.map((p, i) => {
    const m = a.mounts[i]!;
    const rec: MountRecord = {
      Type: p.Type,
      Source: p.Source,
      Destination: p.Destination,
      Mode: p.Mode,
      RW: p.RW,
      Propagation: p.Propagation,
      spawn: { destination: m.destination, ...(m.type !== undefined ? { type: m.type } : {}), ...(m.source !== undefined ? { source: m.source } : {}), ...(m.options ? { options: [...m.options] } : {}) },
    };
    if (p.Name !== undefined) rec.Name = p.Name;
    if (p.Driver !== undefined) rec.Driver = p.Driver;
    if (p.Spec !== undefined) rec.Spec = p.Spec;
    return rec;
  });
}

/** detachVolumes releases the container's volumes (`docker rm`), removing its anonymous ones with `removeAnonymous` (`docker rm -v`, `--rm`). */
export async function detachVolumes(rt: Runtime, id: string, removeAnonymous: boolean): Promise<void> {
  const store = await volumeStore(rt);
  await store.detach(id, { removeAnonymous });
}
