/**
 * Names and documents shared by the archive formats: blob paths of an OCI image layout, the
 * `oci-layout` file, and the OCI manifest Stratum writes for an image whose layers it names.
 * Pure.
 */
import {
  canonicalJson,
  InvalidManifestError,
  parseImageConfig,
  type ImageConfig,
  digestAlgorithm,
  digestHex,
  isDigest,
  MediaType,
  type Descriptor,
  type Digest,
  type ImageManifest,
  type MediaTypeString,
} from '@stratum/oci';
import { InvalidArchiveError } from './errors.js';
import type { Compression } from './input.js';

/** blobPath is where a blob lives in an OCI image layout: `blobs/sha256/<hex>`. */
export function blobPath(digest: Digest): string {
  return `blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`;
}

/** digestOfBlobPath reads the digest out of a clean `blobs/<alg>/<hex>` name; undefined for any other name. */
export function digestOfBlobPath(name: string): Digest | undefined {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  const d = m ? `${m[1]}:${m[2]}` : undefined;
  return d !== undefined && isDigest(d) ? d : undefined;
}

/** The content of an `oci-layout` file. */
export const ociLayoutFile = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

/** layerMediaType is the OCI layer media type for a blob of this compression. */
export function layerMediaType(c: Compression): MediaTypeString {
  return c === 'gzip' ? MediaType.OciLayerGzip : c === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayer;
}

/**
 * ociManifest builds the canonical bytes of an OCI image manifest for a config blob and layer
 * blobs (what Stratum writes when an archive has no manifest of its own, so that the same
 * archive always gives the same manifest digest).
 */
export function ociManifest(config: { digest: Digest; size: number }, layers: readonly Descriptor[]): { bytes: Uint8Array; manifest: ImageManifest } {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  return { bytes: canonicalJson(manifest), manifest };
}

/** Names a `docker save` archive may hold besides the files its manifest.json references. */
export function isKnownArchiveFile(name: string): boolean {
  return (
    name === 'manifest.json' ||
    name === 'repositories' ||
    name === 'index.json' ||
    name === 'oci-layout' ||
    digestOfBlobPath(name) !== undefined ||
    // Docker before 25 and skopeo: one directory per layer with the v1 `json`, `VERSION`, `layer.tar`.
    /^[a-f0-9]{64}\/(json|VERSION|layer\.tar)$/.test(name)
  );
}

/**
 * parseConfigMember validates an image config found in an archive; a config that is not JSON or
 * not a config is {@link InvalidArchiveError} `INVALID_CONFIG` naming the member (the
 * `InvalidManifestError` is its cause).
 */
export function parseConfigMember(raw: Uint8Array, path: string): ImageConfig {
  try {
    return parseImageConfig(raw);
  } catch (err) {
    if (err instanceof InvalidManifestError) throw new InvalidArchiveError('INVALID_CONFIG', `${path} is not a valid image config: ${err.message}`, { path, cause: err });
    throw err;
  }
}
