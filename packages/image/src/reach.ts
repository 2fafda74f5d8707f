/**
 * What a descriptor reaches in the store: a manifest its config and layers, an index its
 * children. Used by gc (what to keep), tag (refuse to name an incomplete image) and verify.
 */
import { MediaType, NotFoundError, isConfigMediaType, isIndexMediaType, isLayerMediaType, maxManifestSize, type Descriptor, type Digest } from '@stratum/oci';
import type { BlobStore } from './blobs.js';

/** Blob types that are never manifests (not worth opening to look for references). */
function isLeaf(mediaType: string): boolean {
  return isLayerMediaType(mediaType) || isConfigMediaType(mediaType) || mediaType === MediaType.OciEmpty;
}

/** Layer media types that may legitimately be absent (foreign / non-distributable). */
export function mayBeAbsent(mediaType: string): boolean {
  return mediaType === MediaType.DockerForeignLayer || mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.');
}

interface Links {
  /** Blobs this one needs (a manifest's config and layers). */
  required: Descriptor[];
  /** Blobs this one points at but may lack (an index's children). */
  optional: Descriptor[];
}

/** The descriptors a manifest or index blob points at; empty for anything else (or unreadable). */
async function linksOf(blobs: BlobStore, d: Descriptor): Promise<Links | undefined> {
  if (isLeaf(d.mediaType)) return (await blobs.has(d.digest)) ? { required: [], optional: [] } : undefined;
  let bytes: Uint8Array;
  try {
    bytes = await blobs.bytes(d.digest, maxManifestSize);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    if (err instanceof RangeError) return { required: [], optional: [] };
    throw err;
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    return { required: [], optional: [] };
  }
  const descs = (v: unknown): Descriptor[] =>
    Array.isArray(v) ? (v.filter((x) => typeof x === 'object' && x !== null && typeof (x as Descriptor).digest === 'string') as Descriptor[]) : [];
  if (isIndexMediaType(d.mediaType) || (Array.isArray(doc['manifests']) && !('layers' in doc))) {
    return { required: [], optional: descs(doc['manifests']) };
  }
  const required = descs(doc['layers']);
  const config = doc['config'];
  if (typeof config === 'object' && config !== null && typeof (config as Descriptor).digest === 'string') required.unshift(config as Descriptor);
  return { required, optional: [] };
}

/** reachable walks from `roots` and returns every digest they reach that could be opened (roots included). */
export async function reachable(blobs: BlobStore, roots: Descriptor[]): Promise<Set<Digest>> {
  const seen = new Set<Digest>();
  const queue = [...roots];
  while (queue.length > 0) {
    const d = queue.pop()!;
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    const links = await linksOf(blobs, d);
    if (links) queue.push(...links.required, ...links.optional);
  }
  return seen;
}

/**
 * missingOf lists what `root` needs but the store lacks: the root itself; for an image manifest
 * its config and layers (foreign / non-distributable layers excepted); for an index, what its
 * present children need (a child may be absent: a store may hold one platform of an index).
 */
export async function missingOf(blobs: BlobStore, root: Descriptor): Promise<Digest[]> {
  const missing: Digest[] = [];
  const seen = new Set<Digest>();
  const visit = async (d: Descriptor, required: boolean): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    const links = await linksOf(blobs, d);
    if (links === undefined) {
      if (required && !mayBeAbsent(d.mediaType)) missing.push(d.digest);
      return;
    }
    for (const r of links.required) await visit(r, true);
    for (const o of links.optional) await visit(o, false);
  };
  await visit(root, true);
  return missing;
}
