import {
  Annotation,
  digestBytes,
  digestHex,
  MediaType,
  parseImageConfig,
  parseReference,
  type Descriptor,
  type Digest,
  type Image,
  type ImageConfig,
  type Layer,
  layerCompression,
} from '@stratum/oci';
import { verified } from './verify.js';
import { checkTags, familiar, normalizeTag, type DockerManifestEntry } from './docker-manifest.js';
import { InvalidArchiveError } from './errors.js';
import { blobPath, ociLayoutFile, ociManifest } from './layout.js';
import { writeOutput, type ArchiveOutput, type OutputOptions } from './output.js';
import { sizedTar, uncompressedOf } from './spool.js';
import type { ArchiveStore } from './store.js';
import { TarWriter } from './tar/writer.js';

/** SaveItem: an image from any source and the tags to save it under. */
export interface SaveItem {
  image: Image;
  /** Tags (`httpd:1.1`, normalized when written); none saves the image by ID. */
  tags?: readonly string[];
}

/** ArchiveProgress: progress of a layer being written or loaded. */
export interface ArchiveProgress {
  /** The layer's diffID (save) or the archive member's name (load). */
  layer: string;
  /** Bytes of this layer done so far. */
  bytes: number;
  /** Its total, when known. */
  total: number | undefined;
}

/** SaveOptions are the options of {@link saveDockerArchive}. */
export interface SaveOptions extends OutputOptions {
  /** Called as layer bytes are written (about every MiB). */
  onProgress?: (p: ArchiveProgress) => void;
}

/** SavedImage: one image written to an archive. */
export interface SavedImage {
  /** The config digest (Docker's image ID). */
  id: Digest;
  /** Its tags, normalized. */
  tags: string[];
  /** Digest of the OCI manifest written for it in the archive (uncompressed layers). */
  manifest: Digest;
}

/** withProgress reports the bytes of one layer as they pass (`start` of them already done). */
export function withProgress(stream: AsyncIterable<Uint8Array>, layer: string, total: number | undefined, onProgress?: (p: ArchiveProgress) => void, start = 0): AsyncIterable<Uint8Array> {
  if (!onProgress) return stream;
  return (async function* () {
    let bytes = start;
    for await (const c of stream) {
      bytes += c.length;
      onProgress({ layer, bytes, total });
      yield c;
    }
  })();
}

interface Prepared {
  image: Image;
  id: Digest;
  rawConfig: Uint8Array;
  config: ImageConfig;
  tags: string[];
}

async function prepare(store: ArchiveStore | undefined, items: ReadonlyArray<string | SaveItem | (Image & { tags?: readonly string[] })>): Promise<Prepared[]> {
  const byId = new Map<Digest, Prepared>();
  for (const item of items) {
    let image: Image;
    let tags: string[];
    if (typeof item === 'string') {
      if (!store) throw new TypeError(`saveDockerArchive: ${JSON.stringify(item)} is a ref, but no store was given`);
      image = await store.image(item);
      const isDigest = /^sha(256|512):/.test(item) || parseReference(item, { defaultTag: true }).digest !== undefined;
      tags = isDigest ? [] : [normalizeTag(item)];
    } else if ('image' in item && typeof (item as SaveItem).image?.layers === 'function') {
      image = (item as SaveItem).image;
      tags = ((item as SaveItem).tags ?? []).map((t) => normalizeTag(t));
    } else {
      image = item as Image;
      tags = ((item as { tags?: readonly string[] }).tags ?? []).map((t) => normalizeTag(t));
    }
    const id = await image.configDigest();
    const old = byId.get(id);
    if (old) {
      for (const t of tags) if (!old.tags.includes(t)) old.tags.push(t);
      continue;
    }
    const rawConfig = await image.rawConfig();
    byId.set(id, { image, id, rawConfig, config: parseImageConfig(rawConfig), tags: [...new Set(tags)] });
  }
  const out = [...byId.values()];
  checkTags(out);
  return out;
}

/**
 * saveDockerArchive writes images to a `docker save` archive: `store` refs (`httpd:1.1`, or a
 * manifest digest to save by ID) and/or `{ image, tags }` from any source (a remote image, an
 * archive, `mutate`). The archive has both layouts Docker 25 writes, so that every `docker load`
 * (old or new), `skopeo copy docker-archive:` and OCI tools (`oci-archive:`) read it:
 * `manifest.json` + `repositories` pointing at `blobs/sha256/<diffID>` (one uncompressed tar per
 * layer, as `docker save` writes them) and `blobs/sha256/<config>`, plus `oci-layout`,
 * `index.json` and an OCI manifest per image. Layers shared by several images are written once;
 * an image given twice (same config) is written once with all its tags; one tag given to two
 * images is {@link DuplicateTagError}.
 *
 * Streaming, constant memory: an uncompressed layer blob streams straight in; a compressed one is
 * decompressed once into a scratch file beside the output (a tar member's size comes before its
 * bytes), verified against its diffID ({@link DiffIDMismatchError}), then streamed in. A path
 * output is written atomically (temporary file, fsync, rename): a failure leaves no archive.
 *
 * CLI equivalent: `docker save -o OUT REF…` (plain tar; pipe through gzip for `.gz`).
 */
export async function saveDockerArchive(
  store: ArchiveStore | undefined,
  refs: ReadonlyArray<string | SaveItem | (Image & { tags?: readonly string[] })>,
  output: ArchiveOutput,
  opts: SaveOptions = {},
): Promise<SavedImage[]> {
  const images = await prepare(store, refs);
  if (images.length === 0) throw new InvalidArchiveError('NO_IMAGES', 'saveDockerArchive: nothing to save');
  const saved: SavedImage[] = [];
  await writeOutput(output, async (sink, tmp) => {
    const tw = new TarWriter(sink);
    const written = new Set<Digest>();
    const sizes = new Map<Digest, number>();
    const algorithms = new Set(images.flatMap((p) => [p.id, ...p.config.rootfs.diff_ids].map((d) => d.slice(0, d.indexOf(':')))));
    await tw.directory('blobs');
    for (const a of [...algorithms].sort()) await tw.directory(`blobs/${a}`);
    const entries: DockerManifestEntry[] = [];
    const index: Descriptor[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const p of images) {
      const diffIDs = p.config.rootfs.diff_ids;
      const layers = await p.image.layers();
      if (layers.length !== diffIDs.length) throw new InvalidArchiveError('LAYER_COUNT_MISMATCH', `image ${p.id} has ${layers.length} layers and ${diffIDs.length} diffIDs`);
      const descs: Descriptor[] = [];
      for (const [i, layer] of layers.entries()) {
        const diffID = diffIDs[i]!;
        const known = sizes.get(diffID);
        if (known !== undefined) {
          descs.push({ mediaType: MediaType.OciLayer, digest: diffID, size: known });
          continue;
        }
        const size = await writeLayer(tw, layer, diffID, { index: i }, tmp, opts);
        sizes.set(diffID, size);
        written.add(diffID);
        descs.push({ mediaType: MediaType.OciLayer, digest: diffID, size });
      }
      if (!written.has(p.id)) await tw.bytes(blobPath(p.id), p.rawConfig);
      written.add(p.id);
      const m = ociManifest({ digest: p.id, size: p.rawConfig.length }, descs);
      const mdesc: Descriptor = { mediaType: MediaType.OciManifest, digest: digestBytes(m.bytes), size: m.bytes.length };
      if (!written.has(mdesc.digest)) await tw.bytes(blobPath(mdesc.digest), m.bytes);
      written.add(mdesc.digest);
      const platform = { architecture: p.config.architecture, os: p.config.os, ...(p.config.variant ? { variant: p.config.variant } : {}) };
      if (p.tags.length === 0) index.push({ ...mdesc, platform });
      for (const t of p.tags) {
        const f = familiar(t);
        index.push({ ...mdesc, platform, annotations: { [Annotation.ContainerdImageName]: t, [Annotation.RefName]: f.tag } });
        if (diffIDs.length > 0) (repositories[f.name] ??= {})[f.tag] = digestHex(diffIDs[diffIDs.length - 1]!);
      }
      entries.push({ Config: blobPath(p.id), RepoTags: p.tags.map((t) => familiar(t).familiar), Layers: descs.map((d) => blobPath(d.digest)) });
      saved.push({ id: p.id, tags: p.tags, manifest: mdesc.digest });
    }
    await tw.bytes('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index })));
    await tw.bytes('manifest.json', Buffer.from(`${JSON.stringify(entries)}\n`));
    await tw.bytes('oci-layout', ociLayoutFile);
    if (Object.keys(repositories).length > 0) await tw.bytes('repositories', Buffer.from(`${JSON.stringify(repositories)}\n`));
    await tw.finish();
  }, opts);
  return saved;
}

/**
 * writeLayer writes a layer's uncompressed tar as `blobs/sha256/<diffID>` and returns its size.
 * An uncompressed blob streams straight in (its size is known); a compressed one is decompressed
 * straight into the archive when it is a file (the member's header is patched with the size at
 * the end), else through a scratch file. Verified against the diffID either way.
 */
async function writeLayer(tw: TarWriter, layer: Layer, diffID: Digest, where: { index: number }, tmp: string, opts: SaveOptions): Promise<number> {
  const name = blobPath(diffID);
  if (tw.canPatch && layerCompression(await layer.mediaType()) !== 'none') {
    const stream = verified(await uncompressedOf(layer, opts.signal), diffID, { layer: where });
    return tw.unsized(name, withProgress(stream, diffID, undefined, opts.onProgress));
  }
  const tar = await sizedTar(layer, diffID, where, tmp, opts.signal);
  try {
    await tw.file(name, tar.size, withProgress(await tar.open(), diffID, tar.size, opts.onProgress));
    return tar.size;
  } finally {
    await tar.dispose();
  }
}
