import { parseReference, type ContainerConfig, type Descriptor, type Digest, type Image } from '@stratum/oci';

/**
 * ImageInspect: what `docker image inspect` prints for an image (the Engine API's
 * `ImageInspect`, the fields an image without a daemon has). `Size` is the sum of the layer
 * blobs as stored (compressed); Docker reports unpacked bytes.
 */
export interface ImageInspect {
  /** The image ID: the config's digest. */
  Id: Digest;
  /** Tags, familiar form (`busybox:latest`, `localhost:5000/app:1`). */
  RepoTags: string[];
  /** `name@manifest-digest`, one per repository of the refs, familiar form. */
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  /** RFC 3339, from the config (`''` when absent). */
  Created: string;
  DockerVersion: string;
  Author: string;
  /** The runtime config (`config` of the image config). */
  Config: ContainerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  RootFS: { Type: 'layers'; Layers: Digest[] };
  /** The manifest's descriptor (as Docker ≥ 25 shows with the containerd image store). */
  Descriptor: Descriptor;
}

/**
 * inspect describes an image as `docker image inspect` does: `Id` = config digest, `RepoTags`
 * and `RepoDigests` from `refs` (the refs naming this image; the store's `inspect` fills them),
 * `Created`, `Author`, `Comment`, `Config`, `Architecture`/`Variant`/`Os`, `Size`, `RootFS`.
 * Reads the manifest and config only.
 */
export async function inspect(image: Image, options: { refs?: string[] } = {}): Promise<ImageInspect> {
  const [manifest, config, id, digest, mediaType, size] = await Promise.all([image.manifest(), image.config(), image.configDigest(), image.digest(), image.mediaType(), image.size()]);
  const refs = (options.refs ?? []).map((r) => parseReference(r));
  const tags = [...new Set(refs.filter((r) => r.tag !== undefined).map((r) => r.withoutDigest().familiar))];
  const digests = [...new Set(refs.map((r) => `${r.familiarName}@${digest}`))];
  const out: ImageInspect = {
    Id: id,
    RepoTags: tags,
    RepoDigests: digests,
    Parent: '',
    Comment: config.comment ?? '',
    Created: config.created ?? '',
    DockerVersion: config.docker_version ?? '',
    Author: config.author ?? '',
    Config: structuredClone(config.config ?? {}),
    Architecture: config.architecture,
    Os: config.os,
    Size: manifest.layers.reduce((n, l) => n + l.size, 0),
    RootFS: { Type: 'layers', Layers: [...config.rootfs.diff_ids] },
    Descriptor: { mediaType, digest, size },
  };
  if (config.variant) out.Variant = config.variant;
  if (config['os.version']) out.OsVersion = config['os.version'];
  return out;
}
