import type { Readable } from 'node:stream';
import { type Digest, digestAlgorithm, digestBytes, verifyStream } from './digest.js';
import { DigestMismatchError, InvalidManifestError, NotFoundError } from './errors.js';
import { parseImageConfig, parseManifest, type ParsedImageManifest, type ParsedIndexManifest } from './manifest.js';
import { isIndexMediaType } from './media-types.js';
import { memoize } from './memoize.js';
import type { Image, ImageIndex, Layer, ReadOptions } from './model.js';
import { formatPlatform, hostPlatform, parsePlatform, selectPlatform } from './platform.js';
import type { Descriptor, Platform } from './types.js';

/** BytesSource: bytes given now, or an opener that fetches them when first needed. */
export type BytesSource = Uint8Array | (() => Promise<Uint8Array>);

/** ImageParts: what {@link imageFromParts} builds an {@link Image} from. */
export interface ImageParts {
  /** The manifest bytes exactly as stored or served, or an opener for them. */
  rawManifest: BytesSource;
  /** The config blob, or an opener given the manifest's config descriptor. */
  rawConfig: Uint8Array | ((config: Descriptor) => Promise<Uint8Array>);
  /** The media type the source declared (descriptor, `Content-Type`); checked against the document. */
  mediaType?: string;
  /** The digest the manifest must have (from a descriptor or a by-digest reference); verified. */
  digest?: Digest;
  /** Makes the layer for manifest entry `index`, whose config diffID is `diffID`. Called once per layer. */
  layer: (descriptor: Descriptor, diffID: Digest, index: number) => Layer;
}

async function open(source: BytesSource): Promise<Uint8Array> {
  return typeof source === 'function' ? source() : source;
}

function verifyBytes(bytes: Uint8Array, expected: { digest?: Digest; size?: number }): void {
  const actual = digestBytes(bytes, expected.digest ? digestAlgorithm(expected.digest) : 'sha256');
  if ((expected.digest !== undefined && actual !== expected.digest) || (expected.size !== undefined && expected.size !== bytes.byteLength)) {
    throw new DigestMismatchError({ ...expected }, { digest: actual, size: bytes.byteLength });
  }
}

/**
 * imageFromParts makes an {@link Image} from a manifest, a config and a layer factory — the
 * part every source (store, registry, archive) has in common. Every accessor is lazy and
 * memoized ({@link memoize}): the manifest is fetched and parsed once, the config only when
 * asked (and checked against the manifest's config digest and size, else
 * {@link DigestMismatchError}), layers are made once, after checking that the config has one
 * diffID per manifest layer ({@link InvalidManifestError} `LAYER_COUNT_MISMATCH`). A manifest
 * that is an index is refused (`UNSUPPORTED_MEDIA_TYPE`). Pure: I/O happens only in the openers.
 */
export function imageFromParts(parts: ImageParts): Image {
  const rawManifest = memoize(async () => {
    const bytes = await open(parts.rawManifest);
    if (parts.digest !== undefined) verifyBytes(bytes, { digest: parts.digest });
    return bytes;
  });
  const parsed = memoize(async (): Promise<ParsedImageManifest> => {
    const p = parseManifest(await rawManifest(), parts.mediaType);
    if (p.kind !== 'manifest') {
      throw new InvalidManifestError(`expected an image manifest, got an index (${p.mediaType})`, { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: p.mediaType });
    }
    return p;
  });
  const rawConfig = memoize(async () => {
    const desc = (await parsed()).manifest.config;
    const bytes = typeof parts.rawConfig === 'function' ? await parts.rawConfig(desc) : parts.rawConfig;
    verifyBytes(bytes, { digest: desc.digest, size: desc.size });
    return bytes;
  });
  const config = memoize(async () => parseImageConfig(await rawConfig()));
  const layers = memoize(async () => {
    const { manifest } = await parsed();
    const diffIDs = (await config()).rootfs.diff_ids;
    if (diffIDs.length !== manifest.layers.length) {
      throw new InvalidManifestError(`manifest lists ${manifest.layers.length} layers but the config ${diffIDs.length} diff_ids`, { kind: 'LAYER_COUNT_MISMATCH', field: 'rootfs.diff_ids' });
    }
    return manifest.layers.map((d, i) => parts.layer(d, diffIDs[i]!, i));
  });
  return {
    mediaType: async () => (await parsed()).mediaType,
    rawManifest,
    manifest: async () => (await parsed()).manifest,
    digest: async () => (await parsed()).descriptor.digest,
    size: async () => (await rawManifest()).byteLength,
    rawConfig,
    config,
    configDigest: async () => (await parsed()).manifest.config.digest,
    layers,
    async layerByDigest(digest: Digest): Promise<Layer> {
      const { manifest } = await parsed();
      const all = await layers();
      const diffIDs = (await config()).rootfs.diff_ids;
      const i = manifest.layers.findIndex((d, j) => d.digest === digest || diffIDs[j] === digest);
      if (i < 0) throw new NotFoundError(digest, `no layer with digest or diffID ${digest} in this image`);
      return all[i]!;
    },
  };
}

/** IndexParts: what {@link indexFromParts} builds an {@link ImageIndex} from. */
export interface IndexParts {
  /** The index bytes exactly as stored or served, or an opener for them. */
  rawManifest: BytesSource;
  /** The media type the source declared; checked against the document. */
  mediaType?: string;
  /** The digest the index must have; verified. */
  digest?: Digest;
  /** Opens the image a (manifest) descriptor of the index points at. */
  image: (descriptor: Descriptor) => Promise<Image> | Image;
  /** Opens a nested index; without it, `index()` is absent from the result. */
  index?: (descriptor: Descriptor) => Promise<ImageIndex> | ImageIndex;
}

/**
 * indexFromParts makes an {@link ImageIndex} from index bytes and openers for its children.
 * `image(digest)` looks the descriptor up in the index ({@link NotFoundError} if absent);
 * `imageFor(platform)` picks with {@link selectPlatform} (default: the host's) and throws
 * {@link NotFoundError} naming the platforms on offer when none matches. Lazy and memoized; a
 * document that is not an index is refused. Pure: I/O happens only in the openers.
 */
export function indexFromParts(parts: IndexParts): ImageIndex {
  const rawManifest = memoize(async () => {
    const bytes = await open(parts.rawManifest);
    if (parts.digest !== undefined) verifyBytes(bytes, { digest: parts.digest });
    return bytes;
  });
  const parsed = memoize(async (): Promise<ParsedIndexManifest> => {
    const p = parseManifest(await rawManifest(), parts.mediaType);
    if (p.kind !== 'index') {
      throw new InvalidManifestError(`expected an index, got an image manifest (${p.mediaType})`, { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: p.mediaType });
    }
    return p;
  });
  const find = async (d: Descriptor | Digest): Promise<Descriptor> => {
    if (typeof d !== 'string') return d;
    const found = (await parsed()).index.manifests.find((m) => m.digest === d);
    if (!found) throw new NotFoundError(d, `no manifest ${d} in this index`);
    return found;
  };
  const index: ImageIndex = {
    mediaType: async () => (await parsed()).mediaType,
    rawManifest,
    manifest: async () => (await parsed()).index,
    digest: async () => (await parsed()).descriptor.digest,
    size: async () => (await rawManifest()).byteLength,
    manifests: async () => (await parsed()).index.manifests,
    async image(d) {
      const desc = await find(d);
      if (isIndexMediaType(desc.mediaType)) {
        throw new InvalidManifestError(`${desc.digest} is an index, not an image`, { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: desc.mediaType });
      }
      return parts.image(desc);
    },
    async imageFor(platform?: Platform | string) {
      const wanted = platform === undefined ? hostPlatform() : typeof platform === 'string' ? parsePlatform(platform) : platform;
      const candidates = (await parsed()).index.manifests.filter((m) => !isIndexMediaType(m.mediaType));
      const desc = selectPlatform(candidates, wanted);
      if (!desc) {
        const offered = candidates.flatMap((m) => (m.platform ? [`${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}`] : []));
        throw new NotFoundError(`platform ${formatPlatform(wanted)}`, `no image for platform ${formatPlatform(wanted)} in this index (it has: ${offered.join(', ') || 'none with a platform'})`);
      }
      return parts.image(desc);
    },
  };
  if (parts.index) {
    const openIndex = parts.index;
    index.index = async (d) => {
      const desc = await find(d);
      if (!isIndexMediaType(desc.mediaType)) {
        throw new InvalidManifestError(`${desc.digest} is not an index`, { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: desc.mediaType });
      }
      return openIndex(desc);
    };
  }
  return index;
}

/** LayerParts: what {@link layerFromParts} builds a {@link Layer} from. */
export interface LayerParts {
  /** The layer's descriptor as the manifest lists it (digest, size, media type). */
  descriptor: Descriptor;
  /** The diffID (from the config's `rootfs.diff_ids`), or how to compute it. */
  diffID: Digest | (() => Promise<Digest>);
  /** Opens a new stream of the blob as stored. */
  compressed: (opts?: ReadOptions) => Promise<Readable>;
  /** Opens a new stream of the uncompressed tar. */
  uncompressed: (opts?: ReadOptions) => Promise<Readable>;
  /**
   * Verify `compressed()` streams against the descriptor's digest and size, failing at the end
   * with {@link DigestMismatchError} (default `true`; a source that already verifies, like a
   * content store reading its own digest-named files, may turn it off).
   */
  verify?: boolean;
}

/**
 * layerFromParts makes a {@link Layer} whose `digest`, `size`, `mediaType` and `descriptor`
 * come from the manifest's descriptor and whose streams come from the given openers. The diffID
 * opener, if any, runs once ({@link memoize}). Pure: I/O happens only in the openers.
 */
export function layerFromParts(parts: LayerParts): Layer {
  const { descriptor } = parts;
  const diffID = typeof parts.diffID === 'function' ? memoize(parts.diffID) : async () => parts.diffID as Digest;
  const verify = parts.verify ?? true;
  return {
    digest: async () => descriptor.digest,
    diffID,
    size: async () => descriptor.size,
    mediaType: async () => descriptor.mediaType,
    descriptor: async () => descriptor,
    async compressed(opts) {
      const stream = await parts.compressed(opts);
      return verify ? verifyStream(stream, { digest: descriptor.digest, size: descriptor.size }) : stream;
    },
    uncompressed: (opts) => parts.uncompressed(opts),
  };
}
