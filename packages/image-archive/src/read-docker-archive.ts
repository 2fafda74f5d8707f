import {
  digestBytes,
  imageFromParts,
  isManifestMediaType,
  maxManifestSize,
  parseManifest,
  type Digest,
  type Image,
  type Layer,
} from '@stratum/oci';
import { archiveLayer, checkDiffID, inspectLayerFile, type LayerFile } from './archive-layer.js';
import { checkTags, maxMetadataSize, normalizeTag, parseDockerManifest } from './docker-manifest.js';
import { InvalidArchiveError } from './errors.js';
import { blobPath, isKnownArchiveFile, ociManifest, parseConfigMember } from './layout.js';
import { readOciLayout } from './read-oci-layout.js';
import { openTarReader, readFile, tryResolve, type ArchiveReader, type FileMember } from './reader.js';

/**
 * ArchiveImage is an {@link Image} read from an archive, with the tags the archive gives it
 * (full normalized references, `docker.io/library/httpd:1.1`; empty for an image saved by ID).
 */
export interface ArchiveImage extends Image {
  readonly tags: readonly string[];
}

/** ReadArchiveOptions are the options of {@link readDockerArchive}. */
export interface ReadArchiveOptions {
  signal?: AbortSignal;
}

/**
 * readDockerArchive reads the images of a `docker save` archive (a tar file, plain or gzip) in
 * place, without copying anything into a store: each is an {@link ArchiveImage} whose layers
 * stream straight out of the archive file. Both layouts are read: Docker's classic one
 * (`<id>/layer.tar`, `<hex>.json`, `repositories`, as Docker before 25, skopeo and podman write)
 * and Docker 25's OCI-compatible one (`blobs/sha256/…`, `index.json`, `oci-layout`); an archive
 * that is only an OCI image layout (no `manifest.json`) is read as one.
 *
 * The archive is indexed once (a plain tar by its headers alone; a gzip tar by decompressing it
 * once) and every metadata file is checked now: paths that leave the archive
 * ({@link UnsafeArchivePathError}), missing or unexpected files, configs that are not JSON,
 * layer counts, tags given to two images ({@link DuplicateTagError}), and layer names that
 * contradict the config's diffIDs ({@link DiffIDMismatchError}). Layer bytes are verified against
 * the diffIDs while they stream. Images have an OCI manifest: Docker 25's own when the archive
 * has one for the image, else one Stratum builds (deterministic). No file descriptor is held
 * between reads; reading layers of a gzip archive decompresses it again from the start each time
 * (load it into a store for repeated use).
 *
 * CLI equivalent: what `docker load` reads, without loading; `skopeo inspect docker-archive:…`.
 */
export async function readDockerArchive(input: string, opts: ReadArchiveOptions = {}): Promise<ArchiveImage[]> {
  if (typeof input !== 'string') throw new TypeError('readDockerArchive: input must be the path of an archive file');
  const reader = await openTarReader(input, opts.signal);
  const manifestFile = await tryResolve(reader, 'manifest.json');
  if (manifestFile === undefined) {
    if ((await tryResolve(reader, 'index.json')) !== undefined) return readOciLayout(reader);
    throw new InvalidArchiveError('NO_IMAGES', `${input} has neither manifest.json nor index.json: not an image archive`);
  }
  return dockerArchiveImages(reader, manifestFile);
}

export async function dockerArchiveImages(reader: ArchiveReader, manifestFile: FileMember): Promise<ArchiveImage[]> {
  const entries = parseDockerManifest(await readFile(reader, manifestFile, maxMetadataSize));
  const ownManifests = await archiveManifests(reader);
  const referenced = new Set<string>();
  const layerFiles = new Map<string, LayerFile>();
  const images: ArchiveImage[] = [];
  const ids: Array<{ id: Digest; tags: string[] }> = [];
  for (const entry of entries) {
    const cfgFile = await reader.resolve(entry.Config);
    referenced.add(cfgFile.name);
    const rawConfig = await readFile(reader, cfgFile, maxMetadataSize);
    const config = parseConfigMember(rawConfig, cfgFile.name);
    const diffIDs = config.rootfs.diff_ids;
    if (entry.Layers.length !== diffIDs.length) {
      throw new InvalidArchiveError('LAYER_COUNT_MISMATCH', `manifest.json lists ${entry.Layers.length} layers for ${entry.Config}, its config ${diffIDs.length} diffIDs`, {
        path: cfgFile.name,
      });
    }
    const layers: Layer[] = [];
    for (const [i, p] of entry.Layers.entries()) {
      const file = await reader.resolve(p);
      referenced.add(file.name);
      let lf = layerFiles.get(file.name);
      if (!lf) layerFiles.set(file.name, (lf = await inspectLayerFile(reader, file)));
      await checkDiffID(reader, lf, diffIDs[i]!, i);
      layers.push(archiveLayer(reader, lf, diffIDs[i]!, i));
    }
    const configDesc = { digest: digestBytes(rawConfig), size: rawConfig.length };
    const tags = [...new Set((entry.RepoTags ?? []).map((t) => normalizeTag(t)))];
    ids.push({ id: configDesc.digest, tags });
    const own = ownManifests.get(configDesc.digest);
    const rawManifest = async (): Promise<Uint8Array> => {
      const descs = await Promise.all(layers.map((l) => l.descriptor!()));
      if (own && own.layers.length === descs.length && own.layers.every((d, i) => d.digest === descs[i]!.digest && d.size === descs[i]!.size)) return own.bytes;
      return ociManifest(configDesc, descs).bytes;
    };
    const image = imageFromParts({ rawManifest, rawConfig, layer: (_d, _diffID, i) => layers[i]! });
    images.push(Object.assign(image, { tags }));
  }
  checkTags(ids);
  for (const f of await reader.files()) {
    if (!referenced.has(f) && !isKnownArchiveFile(f)) throw new InvalidArchiveError('UNEXPECTED_MEMBER', `archive has a file nothing references: ${JSON.stringify(f)}`, { path: f });
  }
  return images;
}

/**
 * archiveManifests reads the OCI manifests a Docker 25 archive keeps beside manifest.json
 * (`index.json` → `blobs/`), keyed by config digest, so that an image keeps its manifest digest
 * across save and load. Optional data: anything unreadable or inconsistent is skipped, never
 * trusted (digests are checked).
 */
export async function archiveManifests(reader: ArchiveReader): Promise<Map<Digest, { bytes: Uint8Array; layers: Array<{ digest: Digest; size: number }> }>> {
  const out = new Map<Digest, { bytes: Uint8Array; layers: Array<{ digest: Digest; size: number }> }>();
  const indexFile = await tryResolve(reader, 'index.json').catch(() => undefined);
  if (!indexFile) return out;
  try {
    const parsed = parseManifest(await readFile(reader, indexFile, maxManifestSize));
    if (parsed.kind !== 'index') return out;
    for (const d of parsed.index.manifests) {
      if (!isManifestMediaType(d.mediaType) || d.size > maxManifestSize) continue;
      const file = await tryResolve(reader, blobPath(d.digest));
      if (!file) continue;
      const bytes = await readFile(reader, file, maxManifestSize);
      if (digestBytes(bytes, d.digest.startsWith('sha512:') ? 'sha512' : 'sha256') !== d.digest) continue;
      const m = parseManifest(bytes);
      if (m.kind === 'manifest') out.set(m.manifest.config.digest, { bytes, layers: m.manifest.layers });
    }
  } catch {
    // manifest.json is what docker load reads; a broken index.json beside it does not matter.
  }
  return out;
}
