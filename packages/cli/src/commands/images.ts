/**
 * The images of a store as the image verbs see them: every ref with its image ID (the config
 * digest, as Docker's), creation time, size and labels; and resolution of what a user types
 * (`busybox`, `busybox:1`, `sha256:…`, an ID prefix like `4e1ad2ce7f78`) to a stored image.
 */
import type { Store } from '@stratum/image';
import { parseReference, type Descriptor, type Digest, type Image, type ImageConfig, type Reference } from '@stratum/oci';
import { AmbiguousIdError, NoSuchObjectError } from '../errors.js';
import { isNotFound } from './common.js';

/** StoredImage: one ref of the store and the image it names (for the host platform). */
export interface StoredImage {
  /** The ref as stored (`docker.io/library/busybox:latest`, or a peer's bare layout tag). */
  ref: string;
  /** The parsed ref, when it is a reference. */
  reference: Reference | undefined;
  /** The descriptor the ref points at (a manifest or an index). */
  descriptor: Descriptor;
  /** The image (the host platform's, for an index); undefined when it cannot be read here. */
  image: Image | undefined;
  /** Docker's image ID: the config digest (the manifest digest when the image is unreadable). */
  id: Digest;
  config: ImageConfig | undefined;
  /** Bytes of the image's blobs: config plus compressed layers. */
  size: number;
}

/** loadImage reads one ref's image, its ID, config and size. */
export async function loadImage(store: Store, ref: string, descriptor: Descriptor): Promise<StoredImage> {
  let reference: Reference | undefined;
  try {
    reference = /[/:@]/.test(ref) ? parseReference(ref) : undefined;
  } catch {
    reference = undefined;
  }
  try {
    const image = await store.image(ref);
    const [manifest, config, id] = await Promise.all([image.manifest(), image.config(), image.configDigest()]);
    const size = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
    return { ref, reference, descriptor, image, id, config, size };
  } catch (e) {
    if (!isNotFound(e) && !(e instanceof Error && /platform/i.test(e.message))) throw e;
    return { ref, reference, descriptor, image: undefined, id: descriptor.digest, config: undefined, size: descriptor.size };
  }
}

/** listImages returns every ref of the store with its image, newest first (as `docker images`). */
export async function listImages(store: Store): Promise<StoredImage[]> {
  const entries = await store.list();
  const all = await Promise.all(entries.map((e) => loadImage(store, e.ref, e.descriptor)));
  return all.sort((a, b) => created(b) - created(a) || a.ref.localeCompare(b.ref));
}

function created(s: StoredImage): number {
  const t = s.config?.created !== undefined ? Date.parse(s.config.created) : Number.NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** ID_PREFIX: what may be an image ID or a prefix of one (`sha256:` optional). */
const ID_PREFIX = /^(?:sha256:)?[0-9a-f]{1,64}$/;

/**
 * findImage resolves what a user typed to stored images: a ref (`busybox`, `host/app:1`,
 * `name@sha256:…`) names its one entry; otherwise an image ID, a manifest digest or a unique
 * prefix of either names every ref of that image (`docker rmi 4e1ad2ce7f78`). Throws
 * {@link NoSuchObjectError} or {@link AmbiguousIdError}.
 */
export async function findImage(store: Store, input: string): Promise<{ byId: boolean; matches: StoredImage[] }> {
  try {
    const desc = await store.resolve(input);
    const entries = (await store.list()).filter((e) => e.descriptor.digest === desc.digest);
    const named = entries.find((e) => sameRef(e.ref, input));
    if (named !== undefined) return { byId: false, matches: [await loadImage(store, named.ref, named.descriptor)] };
    // A digest: every ref of that manifest (or an untagged one by its digest).
    if (entries.length > 0) return { byId: true, matches: await Promise.all(entries.map((e) => loadImage(store, e.ref, e.descriptor))) };
    return { byId: true, matches: [await loadImage(store, input, desc)] };
  } catch (e) {
    if (!isNotFound(e) && !(e instanceof Error && e.name === 'InvalidReferenceError')) throw e;
  }
  if (ID_PREFIX.test(input)) {
    const hex = input.replace(/^sha256:/, '');
    const all = await listImages(store);
    const hits = all.filter((s) => s.id.slice(7).startsWith(hex) || s.descriptor.digest.slice(7).startsWith(hex));
    const ids = new Set(hits.map((s) => s.id));
    if (ids.size > 1) throw new AmbiguousIdError('image', input, [...ids]);
    if (hits.length > 0) return { byId: true, matches: hits };
  }
  throw new NoSuchObjectError('image', input);
}

/** sameRef: `busybox`, `busybox:latest` and `docker.io/library/busybox:latest` are one ref. */
export function sameRef(stored: string, input: string): boolean {
  if (stored === input) return true;
  try {
    return parseReference(stored).toString() === parseReference(input).toString();
  } catch {
    return false;
  }
}

/** familiar prints a stored ref the short way Docker does (`busybox:latest`). */
export function familiar(ref: string): string {
  try {
    return parseReference(ref).familiar;
  } catch {
    return ref;
  }
}

/** repoTag splits a stored ref into Docker's REPOSITORY and TAG columns. */
export function repoTag(s: Pick<StoredImage, 'ref' | 'reference'>): { repository: string; tag: string } {
  if (s.reference === undefined) return { repository: '<none>', tag: s.ref };
  return { repository: s.reference.familiarName, tag: s.reference.tag ?? '<none>' };
}
