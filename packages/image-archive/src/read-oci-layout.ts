import {
  Annotation,
  DigestMismatchError,
  digestAlgorithm,
  digestBytes,
  imageFromParts,
  indexFromParts,
  InvalidManifestError,
  InvalidReferenceError,
  isIndexMediaType,
  isManifestMediaType,
  layerCompression,
  maxConfigSize,
  maxManifestSize,
  parseManifest,
  parseReference,
  type Descriptor,
  type Digest,
  type Image,
  type ImageIndex,
  type Layer,
} from '@stratum/oci';
import { archiveLayer, checkDiffID, inspectLayerFile, type LayerFile } from './archive-layer.js';
import { parseJson } from './docker-manifest.js';
import { DuplicateTagError, InvalidArchiveError } from './errors.js';
import { blobPath, isKnownArchiveFile, parseConfigMember } from './layout.js';
import type { ArchiveImage } from './read-docker-archive.js';
import { isDirectory, openTarReader, readFile, type ArchiveReader } from './reader.js';
import { openDirReader } from './dir-reader.js';

/** LayoutEntry: one entry of an OCI image layout's `index.json`, with the tag it names. */
export interface LayoutEntry {
  descriptor: Descriptor;
  /** The full normalized reference its annotations name, if any. */
  tag: string | undefined;
  /** The raw `org.opencontainers.image.ref.name`, if any. */
  refName: string | undefined;
}

/** LayoutOptions: how tags are read out of a layout's `index.json`. */
export interface LayoutOptions {
  /**
   * The repository for entries whose `org.opencontainers.image.ref.name` is a bare tag
   * (`latest`, as `skopeo copy … oci:DIR:latest` writes): they are tagged `REPOSITORY:TAG`.
   * Without it such entries stay untagged.
   */
  repository?: string;
  signal?: AbortSignal;
}

/**
 * tagOf finds the reference an `index.json` entry names: containerd's `io.containerd.image.name`
 * (what Docker 25 writes), else `org.opencontainers.image.ref.name` when it is a full reference
 * (what the Stratum store and exportOciLayout write), else a bare tag joined to `repository`.
 * An annotation that is not a valid reference names nothing.
 */
export function tagOf(desc: Descriptor, repository?: string): string | undefined {
  const a = desc.annotations ?? {};
  const parse = (s: string): string | undefined => {
    try {
      const ref = parseReference(s);
      return ref.digest === undefined ? ref.toString() : undefined;
    } catch (err) {
      if (err instanceof InvalidReferenceError) return undefined;
      throw err;
    }
  };
  const full = a[Annotation.ContainerdImageName];
  if (full !== undefined) return parse(full);
  const name = a[Annotation.RefName];
  if (name === undefined) return undefined;
  if (/[/:@]/.test(name)) return parse(name);
  return repository === undefined ? undefined : parse(`${repository}:${name}`);
}

/** readBlob reads a small blob (manifest, index, config) of a layout and checks its digest and size. */
export async function readBlob(reader: ArchiveReader, desc: Descriptor, max: number): Promise<Uint8Array> {
  const file = await reader.resolve(blobPath(desc.digest));
  if (file.size !== desc.size) throw new DigestMismatchError({ digest: desc.digest, size: desc.size }, { size: file.size });
  const bytes = await readFile(reader, file, max);
  const actual = digestBytes(bytes, digestAlgorithm(desc.digest));
  if (actual !== desc.digest) throw new DigestMismatchError({ digest: desc.digest, size: desc.size }, { digest: actual, size: bytes.length });
  return bytes;
}

function invalid(path: string, err: unknown): never {
  if (err instanceof InvalidManifestError) throw new InvalidArchiveError('INVALID_MANIFEST_JSON', `${path}: ${err.message}`, { path, cause: err });
  throw err;
}

/**
 * layoutEntries reads `oci-layout` and `index.json` of an OCI image layout and returns the
 * entries with their tags. Throws {@link InvalidArchiveError} (`MISSING_MEMBER`,
 * `INVALID_MANIFEST_JSON`) and {@link DuplicateTagError} when one tag names two digests.
 */
export async function layoutEntries(reader: ArchiveReader, opts: LayoutOptions = {}): Promise<LayoutEntry[]> {
  const layout = parseJson(await readFile(reader, await reader.resolve('oci-layout'), 4096), 'oci-layout') as { imageLayoutVersion?: unknown } | null;
  if (typeof layout?.imageLayoutVersion !== 'string') throw new InvalidArchiveError('INVALID_MANIFEST_JSON', 'oci-layout has no imageLayoutVersion', { path: 'oci-layout' });
  let parsed;
  try {
    parsed = parseManifest(await readFile(reader, await reader.resolve('index.json'), maxManifestSize));
  } catch (err) {
    invalid('index.json', err);
  }
  if (parsed.kind !== 'index') throw new InvalidArchiveError('INVALID_MANIFEST_JSON', 'index.json is not an image index', { path: 'index.json' });
  const owner = new Map<string, Digest>();
  return parsed.index.manifests.map((descriptor) => {
    const tag = tagOf(descriptor, opts.repository);
    if (tag !== undefined) {
      const o = owner.get(tag);
      if (o !== undefined && o !== descriptor.digest) throw new DuplicateTagError(tag, [o, descriptor.digest]);
      owner.set(tag, descriptor.digest);
    }
    return { descriptor, tag, refName: descriptor.annotations?.[Annotation.RefName] };
  });
}

/**
 * layoutImage reads the image a manifest descriptor points at in a layout: the manifest now
 * (verified, and every layer blob located, so a missing blob fails here), the config and layers
 * when asked. Layers stream out of the layout in place.
 */
export async function layoutImage(reader: ArchiveReader, desc: Descriptor): Promise<Image> {
  const raw = await readBlob(reader, desc, maxManifestSize);
  let parsed;
  try {
    parsed = parseManifest(raw, desc.mediaType);
  } catch (err) {
    invalid(blobPath(desc.digest), err);
  }
  if (parsed.kind !== 'manifest') throw new InvalidArchiveError('INVALID_MANIFEST_JSON', `${blobPath(desc.digest)} is an index, not an image manifest`, { path: blobPath(desc.digest) });
  const files: LayerFile[] = [];
  for (const l of parsed.manifest.layers) {
    const file = await reader.resolve(blobPath(l.digest));
    if (file.size !== l.size) throw new DigestMismatchError({ digest: l.digest, size: l.size }, { size: file.size });
    const lf = await inspectLayerFile(reader, file);
    const c = layerCompression(l.mediaType);
    files.push({ ...lf, compression: c ?? lf.compression, descriptor: l });
  }
  if (reader.known) {
    // The loader knows every file's diffID: check them against the config before anything is tagged.
    const diffIDs = parseConfigMember(await readBlob(reader, parsed.manifest.config, maxConfigSize), blobPath(parsed.manifest.config.digest)).rootfs.diff_ids;
    for (const [i, lf] of files.entries()) if (diffIDs[i] !== undefined) await checkDiffID(reader, lf, diffIDs[i], i);
  }
  const layers = new Map<number, Layer>();
  return imageFromParts({
    rawManifest: raw,
    mediaType: desc.mediaType,
    digest: desc.digest,
    rawConfig: (cd) => readBlob(reader, cd, maxConfigSize),
    layer: (_d, diffID, i) => {
      let l = layers.get(i);
      if (!l) layers.set(i, (l = archiveLayer(reader, files[i]!, diffID, i)));
      return l;
    },
  });
}

/** layoutIndex reads an image index of a layout; its images and nested indexes open on demand. */
export async function layoutIndex(reader: ArchiveReader, desc: Descriptor): Promise<ImageIndex> {
  const raw = await readBlob(reader, desc, maxManifestSize);
  return indexFromParts({
    rawManifest: raw,
    mediaType: desc.mediaType,
    digest: desc.digest,
    image: (d) => layoutImage(reader, d),
    index: (d) => layoutIndex(reader, d),
  });
}

/** openReader opens a path as an archive: a directory as a layout directory, a file as a tar (plain or gzip). */
export async function openReader(path: string, signal?: AbortSignal): Promise<ArchiveReader> {
  return (await isDirectory(path)) ? openDirReader(path) : openTarReader(path, signal);
}

/**
 * readOciLayout reads the images of an OCI image layout — a directory, or a tar of one (plain or
 * gzip, as `skopeo copy … oci-archive:` and `docker save` since 25 write) — in place, nothing
 * copied. Each `index.json` entry that is an image gives an {@link ArchiveImage} (entries with the
 * same digest merged, their tags together); an entry that is an index gives its image for the
 * host's platform. Tags come from the entries' annotations (see {@link LayoutOptions}). Files
 * outside the layout's structure are refused (`UNEXPECTED_MEMBER`), as are missing blobs and
 * tags given to two digests. Layers are verified while they stream.
 *
 * CLI equivalent: `skopeo inspect oci:DIR:REF`.
 */
export async function readOciLayout(input: string | ArchiveReader, opts: LayoutOptions = {}): Promise<ArchiveImage[]> {
  const reader = typeof input === 'string' ? await openReader(input, opts.signal) : input;
  const entries = await layoutEntries(reader, opts);
  for (const f of await reader.files()) {
    if (!isKnownArchiveFile(f)) throw new InvalidArchiveError('UNEXPECTED_MEMBER', `layout has a file outside its structure: ${JSON.stringify(f)}`, { path: f });
  }
  const byDigest = new Map<Digest, { desc: Descriptor; tags: string[] }>();
  for (const e of entries) {
    if (!isManifestMediaType(e.descriptor.mediaType) && !isIndexMediaType(e.descriptor.mediaType)) continue;
    const g = byDigest.get(e.descriptor.digest) ?? { desc: e.descriptor, tags: [] };
    if (e.tag !== undefined && !g.tags.includes(e.tag)) g.tags.push(e.tag);
    byDigest.set(e.descriptor.digest, g);
  }
  const out: ArchiveImage[] = [];
  for (const { desc, tags } of byDigest.values()) {
    const image = isIndexMediaType(desc.mediaType) ? await (await layoutIndex(reader, desc)).imageFor() : await layoutImage(reader, desc);
    out.push(Object.assign(image, { tags }));
  }
  return out;
}
