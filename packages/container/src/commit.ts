/**
 * commit: `docker commit -p -a -m -c`. The container's own changes (what its storage driver's
 * `diff()` gives: the overlay upper dir, or vfs's two trees) become a gzip layer (@stratum/layer's createLayer, one pass, digests as it streams) put into
 * the store; the new image is the container's image with that layer appended, the container's
 * config (Cmd, Entrypoint, Env, WorkingDir, User, Labels, ExposedPorts, Volumes) and the
 * `changes` on top, and a history entry — written and tagged through @stratum/image.
 */
import { createLayer, type LayerChange } from '@stratum/layer';
import { hostPlatform, imageFromParts, MediaType, digestBytes, type ContainerConfig, type Descriptor, type Digest, type Image } from '@stratum/oci';
import { mutate, type Store } from '@stratum/image';
import type { ContainerRecord } from './record.js';
import { isRootless } from './rootless.js';
import { putLayerInUserns } from './userns-worker.js';

/** CommitOptions: `docker commit` flags. */
export interface CommitOptions {
  /** Tag(s) for the new image (`REPOSITORY[:TAG]`); none = untagged, reachable by its digest. */
  ref?: string | string[];
  /** `-a`: author. */
  author?: string;
  /** `-m`: message (the history entry's comment). */
  message?: string;
  /** `-c`: Dockerfile instructions applied to the config (`CMD ["/bin/httpd","-f"]`, `ENV A=1`, `EXPOSE 80` …). */
  changes?: string[];
  /** `-p`: pause the container during the commit (default true, as Docker, for a container with a cgroup; one without — rootless without limits — is committed running, and `true` is refused). */
  pause?: boolean;
  /** Layer compression (default gzip). */
  compression?: 'gzip' | 'zstd' | 'none';
  signal?: AbortSignal;
}

/** CommitResult: the new image. */
export interface CommitResult {
  /** The config digest (Docker's image id, `sha256:…`). */
  id: Digest;
  /** The manifest's descriptor as written to the store. */
  descriptor: Descriptor;
  /** The new layer's blob digest and diffID. */
  layer: { digest: Digest; diffID: Digest; size: number };
}

/** scratchImage: an image with no layers and an empty config (the base of a commit of a container made from a directory). */
export function scratchImage(): Image {
  const p = hostPlatform();
  const rawConfig = Buffer.from(JSON.stringify({ architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] }));
  const rawManifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: digestBytes(rawConfig), size: rawConfig.length }, layers: [] }),
  );
  return imageFromParts({
    rawManifest,
    rawConfig,
    layer: () => {
      throw new TypeError('scratch has no layers');
    },
  });
}

/** commitConfig: the image config fields a commit takes from the container (Docker copies the container's Config). */
export function commitConfig(rec: ContainerRecord): { [K in keyof ContainerConfig]?: ContainerConfig[K] | null } {
  const c = rec.Config;
  return {
    Cmd: c.Cmd ?? null,
    Entrypoint: c.Entrypoint ?? null,
    Env: c.Env,
    WorkingDir: c.WorkingDir || null,
    User: c.User || null,
    Labels: Object.keys(c.Labels).length ? c.Labels : null,
    ExposedPorts: c.ExposedPorts && Object.keys(c.ExposedPorts).length ? c.ExposedPorts : null,
    Volumes: c.Volumes && Object.keys(c.Volumes).length ? c.Volumes : null,
    StopSignal: c.StopSignal ?? null,
  };
}

async function putLayer(store: Store, change: LayerChange, compression: CommitOptions['compression']): Promise<{ desc: Descriptor; diffID: Digest }> {
  // Rootless, the files are owned by the host's ids of the container's: the layer is made inside
  // a user namespace with its maps, so that it records the container's own.
  if (isRootless()) return putLayerInUserns(store, change, compression ?? 'gzip');
  const c = createLayer(change, { compression: compression ?? 'gzip' });
  const desc = await store.blobs.put(c.stream, { mediaType: c.mediaType });
  return { desc, diffID: await c.diffID };
}

/**
 * commitImage turns the container's changes into the new image (not yet written): the base
 * image (its own, or for a container made from a directory that directory as a first layer on
 * scratch) with `change` (its root filesystem's diff) appended as a layer, the container's config
 * and `changes`.
 */
export async function commitImage(store: Store, rec: ContainerRecord, change: LayerChange, opts: CommitOptions): Promise<{ image: Image; layer: CommitResult['layer'] }> {
  let base: Image;
  const extra: Array<{ layer: ReturnType<Store['layer']>; history: { created_by: string } }> = [];
  if (rec.image) base = await store.image(rec.image.manifest);
  else {
    base = scratchImage();
    const root = await putLayer(store, { from: undefined, to: rec.rootfs! }, opts.compression);
    extra.push({ layer: store.layer(root.desc, root.diffID), history: { created_by: `rootfs ${rec.rootfs!}` } });
  }
  const top = await putLayer(store, change, opts.compression);
  const createdBy = [rec.Path, ...rec.Args].join(' ');
  const image = mutate(base, {
    config: commitConfig(rec),
    ...(opts.changes ? { changes: opts.changes } : {}),
    append: [...extra, { layer: store.layer(top.desc, top.diffID), history: { created_by: createdBy } }],
    ...(opts.author !== undefined ? { author: opts.author } : {}),
    ...(opts.message !== undefined ? { message: opts.message } : {}),
  });
  return { image, layer: { digest: top.desc.digest, diffID: top.diffID, size: top.desc.size } };
}
