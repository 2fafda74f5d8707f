import { createReadStream } from 'node:fs';
import { mutate } from '@stratum/image';
import { TarParser } from '@stratum/layer';
import {
  canonicalJson,
  digestBytes,
  hostPlatform,
  imageFromParts,
  MediaType,
  normalizePlatform,
  parsePlatform,
  type Descriptor,
  type Digest,
  type Image,
  type ImageConfig,
  type Platform,
} from '@stratum/oci';
import { normalizeTag } from './docker-manifest.js';
import { ingest, type TarObserver } from './ingest.js';
import { readChunk, type ArchiveInput } from './input.js';
import type { ArchiveStore } from './store.js';
import { streamReader } from './tar/bytes.js';

/** ImportRootfsOptions are the options of {@link importRootfs}. */
export interface ImportRootfsOptions {
  /** The tag to give the image (`docker import FILE REPO:TAG`); none leaves it untagged. */
  ref?: string;
  /** Changes in `docker commit -c` syntax (`CMD ["/bin/sh"]`, `ENV A=1`…), as `docker import -c`. */
  changes?: string[];
  /** The commit message (`docker import -m`): config and history `comment`; default `Imported from <source>`. */
  message?: string;
  /** The image's platform (default the host's), as `docker import --platform`. */
  platform?: Platform | string;
  /** When the image was made (default now). */
  created?: Date | string;
  signal?: AbortSignal;
}

/** ImportedRootfs: the image {@link importRootfs} made. */
export interface ImportedRootfs {
  /** Its manifest in the store. */
  descriptor: Descriptor;
  /** Its config digest (Docker's image ID). */
  id: Digest;
  /** The one layer's diffID. */
  diffID: Digest;
  /** The tag, normalized, if one was given. */
  tag: string | undefined;
}

/** emptyImage is an image with no layer for `platform`: the base `importRootfs` appends its layer to. */
function emptyImage(platform: Platform): Image {
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  const rawConfig = canonicalJson(config);
  const rawManifest = canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: digestBytes(rawConfig), size: rawConfig.length },
    layers: [],
  });
  return imageFromParts({ rawManifest, rawConfig, layer: () => { throw new Error('no layers'); } });
}

/** tarChecker is a {@link TarObserver} that parses the bytes as a tar: garbage fails the import. */
function tarChecker(): TarObserver {
  const parser = new TarParser({ entry() {}, data() {}, endEntry() {} });
  return { write: (c) => parser.write(c), end: () => parser.end() };
}

/**
 * importRootfs makes a one-layer image from a filesystem tarball and puts it in the store, as
 * `docker import` does: the tar (a path, a `Readable` or any async iterable; plain, gzip or zstd,
 * by magic bytes) becomes the layer exactly as given — compressed input stays compressed — while
 * its diffID is computed and every header parsed on the way (a file that is not a tar fails with
 * `CorruptLayerError`, and nothing is tagged). The config is for `platform` (default the host's),
 * with `changes` applied through @stratum/image's `mutate` (`docker commit -c` syntax; a bad line
 * is `InvalidChangeError` before anything is read), and one history entry whose comment is the
 * message (`Imported from <path>` or `Imported from -` by default). Tagged `ref` when given,
 * only once everything is written.
 *
 * CLI equivalent: `docker import [-c CHANGE] [-m MESSAGE] [--platform P] FILE|- [REPO[:TAG]]`.
 */
export async function importRootfs(input: ArchiveInput, store: ArchiveStore, opts: ImportRootfsOptions = {}): Promise<ImportedRootfs> {
  const tag = opts.ref === undefined ? undefined : normalizeTag(opts.ref, 'ref');
  const platform = opts.platform === undefined ? hostPlatform() : typeof opts.platform === 'string' ? parsePlatform(opts.platform) : normalizePlatform(opts.platform);
  const base = emptyImage(platform);
  // Checks the change lines before any byte is read.
  mutate(base, { ...(opts.changes ? { changes: opts.changes } : {}) });
  const source = typeof input === 'string' ? createReadStream(input, { highWaterMark: readChunk }) : input;
  const reader = streamReader(source);
  let ingested;
  try {
    const head = await reader.read(16);
    ingested = await ingest(store, head, reader.chunks(Number.MAX_SAFE_INTEGER), undefined, { name: typeof input === 'string' ? input : '-', signal: opts.signal, observer: tarChecker() });
  } finally {
    if ('destroy' in source && typeof source.destroy === 'function') source.destroy();
  }
  const message = opts.message ?? `Imported from ${typeof input === 'string' ? input : '-'}`;
  const image = mutate(base, {
    ...(opts.changes ? { changes: opts.changes } : {}),
    append: [{ layer: store.layer(ingested.descriptor, ingested.diffID), history: { created_by: '' } }],
    message,
    ...(opts.created !== undefined ? { created: opts.created } : {}),
  });
  const descriptor = await store.write(image, undefined, { signal: opts.signal });
  if (tag !== undefined) await store.tag(tag, descriptor);
  return { descriptor, id: await image.configDigest(), diffID: ingested.diffID, tag };
}
