/**
 * Refs of an OCI image layout: the `org.opencontainers.image.ref.name` annotations of the
 * descriptors in `index.json`. Pure functions over the parsed index; the store does the I/O.
 *
 * Naming (checked with skopeo 1.9 and umoci 0.4 — both look the annotation up by exact string
 * equality with what the user types after `oci:DIR:` / `--image DIR:`, and both accept `/` and
 * `:` in it):
 * - A ref is stored under its full normalized name (`docker.io/library/busybox:latest`), plus
 *   `io.containerd.image.name` with the same value (what `ctr import` names images by).
 * - When Docker's short form differs (`busybox:latest`), a second entry with that name points at
 *   the same descriptor, so `skopeo inspect oci:STORE:busybox:latest` works as well as
 *   `oci:STORE:docker.io/library/busybox:latest`. Both are one ref to the store: `list()`
 *   shows it once, `untag()` removes both.
 * - Reading, a name that parses as a reference is normalized (a skopeo-written `busybox:latest`
 *   is the ref `docker.io/library/busybox:latest`); a bare layout tag as umoci and skopeo write
 *   it (`v1`, `latest`: no `/`, `:` or `@`) is kept verbatim and found by exact name. When
 *   several entries name one ref (a peer tool re-tagged the short name), the last one wins, as
 *   peers append.
 */
import { Annotation, InvalidReferenceError, isDigest, parseReference, type Descriptor, type Reference } from '@stratum/oci';

/** LayoutIndex: the parsed `index.json` of a layout (unknown fields are kept on rewrite). */
export interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

/** RefEntry: one ref of the store and the descriptor it points at. */
export interface RefEntry {
  /** The ref: its full normalized form, or a bare layout tag (`v1`) written by a peer tool, verbatim. */
  ref: string;
  descriptor: Descriptor;
}

/** The ref an annotation value stands for: normalized when it parses as a reference with a name part, else verbatim. */
export function refOfName(name: string): string {
  if (!/[/:@]/.test(name)) return name;
  try {
    return parseReference(name).toString();
  } catch {
    return name;
  }
}

/**
 * parseTagRef parses a ref to tag with: a reference that has a tag and no digest (`busybox`
 * gets `:latest`, as `docker tag` does). Throws {@link InvalidReferenceError}.
 */
export function parseTagRef(input: string): Reference {
  const ref = parseReference(input);
  if (ref.digest !== undefined) throw new InvalidReferenceError(input, 'a tag ref cannot carry a digest', 'TAG_OR_DIGEST_NOT_ALLOWED');
  if (ref.tag === undefined) throw new InvalidReferenceError(input, 'a tag is needed', 'TAG_EMPTY');
  return ref;
}

function tryParse(s: string): Reference | undefined {
  try {
    return parseReference(s);
  } catch {
    return undefined;
  }
}

function nameOf(d: Descriptor): string | undefined {
  const n = d.annotations?.[Annotation.RefName];
  return typeof n === 'string' && n !== '' ? n : undefined;
}

/** What `input` matches: its exact text, and its normalized form when it parses. */
function keysOf(input: string): { exact: string; normalized: string | undefined } {
  return { exact: input, normalized: tryParse(input)?.toString() };
}

function matches(d: Descriptor, keys: { exact: string; normalized: string | undefined }): boolean {
  const name = nameOf(d);
  if (name === undefined) return false;
  return name === keys.exact || (keys.normalized !== undefined && refOfName(name) === keys.normalized);
}

/** findRef returns the descriptor `input` names (exact name, or same normalized ref; the last entry wins), or undefined. */
export function findRef(index: LayoutIndex, input: string): Descriptor | undefined {
  const keys = keysOf(input);
  let found: Descriptor | undefined;
  for (const d of index.manifests) if (matches(d, keys)) found = d;
  return found;
}

/** listRefs lists each ref once (its last entry), in the order refs first appear in `index.json`. */
export function listRefs(index: LayoutIndex): RefEntry[] {
  const byRef = new Map<string, Descriptor>();
  for (const d of index.manifests) {
    const name = nameOf(d);
    if (name === undefined) continue;
    byRef.set(refOfName(name), d);
  }
  return [...byRef].map(([ref, descriptor]) => ({ ref, descriptor }));
}

/**
 * withoutRef returns `index` without the entries of ref `input`, and whether any was removed.
 * A bare digest removes every entry of that manifest (all its refs, like `docker rmi ID`);
 * `name@digest` the entries of that repository pointing at it.
 */
export function withoutRef(index: LayoutIndex, input: string): { index: LayoutIndex; removed: boolean } {
  const keys = keysOf(input);
  let drop: (d: Descriptor) => boolean = (d) => matches(d, keys);
  if (isDigest(input)) drop = (d) => d.digest === input;
  else if (input.includes('@')) {
    const ref = tryParse(input);
    if (ref?.digest !== undefined) {
      drop = (d) => {
        const name = nameOf(d);
        return d.digest === ref.digest && name !== undefined && tryParse(refOfName(name))?.name === ref.name;
      };
    }
  }
  const manifests = index.manifests.filter((d) => !drop(d));
  return { index: { ...index, manifests }, removed: manifests.length !== index.manifests.length };
}

/**
 * withRef returns `index` with ref `ref` pointing at `descriptor`: its old entries removed, the
 * full-name entry appended, and the short-name entry after it when Docker's short form differs.
 * Other annotations of the descriptor are kept.
 */
export function withRef(index: LayoutIndex, ref: Reference, descriptor: Descriptor): LayoutIndex {
  const full = ref.toString();
  const short = ref.familiar;
  const { index: rest } = withoutRef(index, full);
  const base: Descriptor = { ...descriptor };
  const annotations = { ...(descriptor.annotations ?? {}) };
  delete annotations[Annotation.RefName];
  delete annotations[Annotation.ContainerdImageName];
  const entry = (name: string): Descriptor => ({
    ...base,
    annotations: { ...annotations, [Annotation.ContainerdImageName]: full, [Annotation.RefName]: name },
  });
  const added = short !== full ? [entry(full), entry(short)] : [entry(full)];
  // A bare peer-written name equal to the short form (`busybox`, no tag) is another ref: kept.
  return { ...rest, manifests: [...rest.manifests, ...added] };
}

/** sameEntries tells whether two index states have the same manifests (to skip a needless rewrite). */
export function sameManifests(a: LayoutIndex, b: LayoutIndex): boolean {
  return JSON.stringify(a.manifests) === JSON.stringify(b.manifests);
}
