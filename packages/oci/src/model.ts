import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';
import type { MediaTypeString } from './media-types.js';
import type { Descriptor, ImageConfig, ImageManifest, ImageIndexManifest, Platform } from './types.js';

/** ReadOptions: the options every byte-producing accessor accepts. */
export interface ReadOptions {
  signal?: AbortSignal;
}

/**
 * Layer is one filesystem change set of an image, from any source (store, registry, archive,
 * a freshly created layer). Accessors are lazy and memoized: nothing is fetched or hashed until
 * asked, and asking twice shares one promise. Each call to `compressed()`/`uncompressed()` opens
 * a new stream over the same bytes.
 */
export interface Layer {
  /** Digest of the blob as stored/transferred (usually compressed). */
  digest(): Promise<Digest>;
  /** Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffID(): Promise<Digest>;
  /** Size in bytes of the blob as stored/transferred. */
  size(): Promise<number>;
  /** Media type of the blob. */
  mediaType(): Promise<MediaTypeString>;
  /** A new stream of the blob's bytes as stored (verified against `digest()` where the source allows). */
  compressed(opts?: ReadOptions): Promise<Readable>;
  /** A new stream of the uncompressed tar. */
  uncompressed(opts?: ReadOptions): Promise<Readable>;
  /** The descriptor as it would appear in a manifest (optional: sources that know it exactly). */
  descriptor?(): Promise<Descriptor>;
}

/**
 * Image is one platform-specific image: a manifest, its config, its layers. Produced by every
 * source; consumed by every sink. Accessors are lazy and memoized.
 */
export interface Image {
  /** Media type of the manifest. */
  mediaType(): Promise<MediaTypeString>;
  /** The manifest bytes exactly as stored or served (their hash is `digest()`). */
  rawManifest(): Promise<Uint8Array>;
  /** The parsed manifest. */
  manifest(): Promise<ImageManifest>;
  /** Digest of `rawManifest()`. */
  digest(): Promise<Digest>;
  /** Size of `rawManifest()`. */
  size(): Promise<number>;
  /** The config bytes exactly as stored. */
  rawConfig(): Promise<Uint8Array>;
  /** The parsed config. */
  config(): Promise<ImageConfig>;
  /** Digest of the config blob (Docker's image ID). */
  configDigest(): Promise<Digest>;
  /** Layers, bottom first, in manifest order. */
  layers(): Promise<Layer[]>;
  /** Finds a layer by blob digest or diffID; optional capability. */
  layerByDigest?(digest: Digest): Promise<Layer>;
}

/** ImageIndex is a multi-platform index (OCI index or Docker manifest list). */
export interface ImageIndex {
  mediaType(): Promise<MediaTypeString>;
  rawManifest(): Promise<Uint8Array>;
  manifest(): Promise<ImageIndexManifest>;
  digest(): Promise<Digest>;
  size(): Promise<number>;
  /** The descriptors the index lists, in order. */
  manifests(): Promise<Descriptor[]>;
  /** The image a descriptor of this index points at. */
  image(descriptor: Descriptor | Digest): Promise<Image>;
  /** A child index (nested indexes are allowed by the spec). */
  index?(descriptor: Descriptor | Digest): Promise<ImageIndex>;
  /** The image for a platform (default: the host's), by the spec's matching rules. */
  imageFor(platform?: Platform | string): Promise<Image>;
}
