/**
 * `manifest.json` and `repositories` of a `docker save` archive: parsing, validation, tag
 * normalization. Pure.
 */
import { InvalidReferenceError, maxConfigSize, parseReference, type Descriptor, type Digest } from '@stratum/oci';
import { DuplicateTagError, InvalidArchiveError } from './errors.js';

/** DockerManifestEntry: one entry of a `docker save` archive's `manifest.json`. */
export interface DockerManifestEntry {
  /** Archive path of the image config (`<hex>.json`, or `blobs/sha256/<hex>` since Docker 25). */
  Config: string;
  /** Tags, familiar form (`httpd:1.1`); null or absent when the image was saved by ID. */
  RepoTags?: string[] | null;
  /** Archive paths of the layer tars, bottom first. */
  Layers: string[];
  /** Config digest of the parent image, when saved together (informational). */
  Parent?: string;
  /** Descriptors of foreign (non-distributable) layers, by diffID. */
  LayerSources?: Record<string, Descriptor>;
}

/** The largest metadata file (`manifest.json`, `index.json`, a config) read into memory. */
export const maxMetadataSize = maxConfigSize;

function fail(message: string, path: string, cause?: unknown): never {
  throw new InvalidArchiveError('INVALID_MANIFEST_JSON', message, { path, ...(cause === undefined ? {} : { cause }) });
}

/** parseJson parses a metadata member, refusing non-JSON with `kind` (default `INVALID_MANIFEST_JSON`). */
export function parseJson(bytes: Uint8Array, path: string): unknown {
  if (bytes.length > maxMetadataSize) throw new InvalidArchiveError('TOO_LARGE', `${path} is ${bytes.length} bytes, more than ${maxMetadataSize}`, { path });
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    fail(`${path} is not JSON`, path, cause);
  }
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * parseDockerManifest validates the bytes of `manifest.json`: a JSON array of entries with a
 * string `Config`, a string array `Layers` and an optional string array (or null) `RepoTags`.
 * Throws {@link InvalidArchiveError} `INVALID_MANIFEST_JSON`.
 */
export function parseDockerManifest(bytes: Uint8Array): DockerManifestEntry[] {
  const doc = parseJson(bytes, 'manifest.json');
  if (!Array.isArray(doc)) fail('manifest.json must be a JSON array', 'manifest.json');
  doc.forEach((e: unknown, i) => {
    const at = `manifest.json[${i}]`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) fail(`${at} must be an object`, 'manifest.json');
    const o = e as Record<string, unknown>;
    if (typeof o['Config'] !== 'string') fail(`${at}.Config must be a string`, 'manifest.json');
    if (!isStringArray(o['Layers'])) fail(`${at}.Layers must be an array of strings`, 'manifest.json');
    if (o['RepoTags'] !== undefined && o['RepoTags'] !== null && !isStringArray(o['RepoTags'])) fail(`${at}.RepoTags must be an array of strings`, 'manifest.json');
  });
  return doc as DockerManifestEntry[];
}

/**
 * normalizeTag turns a `RepoTags` entry (`httpd:1.1`, `nginx`) into the full normalized reference
 * (`docker.io/library/httpd:1.1`; `latest` when no tag). A digest reference is refused: a tag
 * names an image, a digest pins one. Throws {@link InvalidArchiveError} `INVALID_MANIFEST_JSON`
 * with the {@link InvalidReferenceError} as cause.
 */
export function normalizeTag(tag: string, path = 'manifest.json'): string {
  try {
    const ref = parseReference(tag);
    if (ref.digest !== undefined) fail(`${JSON.stringify(tag)} is a digest reference, not a tag`, path);
    return ref.toString();
  } catch (err) {
    if (err instanceof InvalidReferenceError) fail(`invalid tag ${JSON.stringify(tag)}: ${err.reason}`, path, err);
    throw err;
  }
}

/**
 * checkTags merges the tags of several images and refuses a tag given to two different images
 * ({@link DuplicateTagError}); the same tag twice for one image is kept once.
 */
export function checkTags(images: ReadonlyArray<{ id: Digest; tags: readonly string[] }>): void {
  const owner = new Map<string, Digest>();
  for (const { id, tags } of images) {
    for (const t of tags) {
      const o = owner.get(t);
      if (o !== undefined && o !== id) throw new DuplicateTagError(t, [o, id]);
      owner.set(t, id);
    }
  }
}

/** familiar splits a normalized tag into Docker's familiar repository name and tag (`httpd`, `1.1`). */
export function familiar(tag: string): { name: string; tag: string; familiar: string } {
  const ref = parseReference(tag);
  return { name: ref.familiarName, tag: ref.tag ?? 'latest', familiar: ref.familiar };
}
