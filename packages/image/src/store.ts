import { access, mkdir, readFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import {
  Annotation,
  DigestMismatchError,
  InvalidManifestError,
  MediaType,
  NotFoundError,
  imageFromParts,
  indexFromParts,
  isDigest,
  isIndexMediaType,
  isManifestMediaType,
  layerFromParts,
  maxConfigSize,
  maxManifestSize,
  parseDescriptor,
  parseDigest,
  parseManifest,
  parseReference,
  verifyStream,
  type Descriptor,
  type Digest,
  type Image,
  type ImageIndex,
  type Layer,
  type Platform,
  type ReadOptions,
} from '@stratum/oci';
import { BlobStore } from './blobs.js';
import { decompress } from './decompress.js';
import { InvalidLayoutError } from './errors.js';
import { isErrno, syncDir, writeAtomic } from './fsutil.js';
import { type GcOptions, type GcResult, type VerifyResult, check, collect } from './gc.js';
import { type HistoryEntry, history } from './history.js';
import { type ImageInspect, inspect } from './inspect.js';
import { Leases } from './lease.js';
import { type LockOptions, withLock } from './lock.js';
import { defaultStoreRoot } from './paths.js';
import { missingOf } from './reach.js';
import { type LayoutIndex, type RefEntry, findRef, listRefs, parseTagRef, refOfName, sameManifests, withRef, withoutRef } from './refs.js';
import { type UnpackOptions, type UnpackResult, unpackImage } from './unpack.js';
import { type WriteContext, type WriteOptions, isImageIndex, writeImage, writeIndex } from './write.js';

/** StoreOptions: the options of {@link Store.open}. */
export interface StoreOptions {
  /** How long ref changes wait for the `index.json` lock held by live processes (default 60 s). */
  lockTimeoutMs?: number;
}

/** ImageOptions: the options of `store.image`. */
export interface ImageOptions {
  /** The platform to pick when the ref names an index (default: the host's). */
  platform?: Platform | string;
}

const layoutVersion = '1.0.0';

/**
 * Store is a local content store that IS an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`): skopeo (`oci:DIR:REF`), umoci (`--layout DIR`) and oci-image-tool read
 * it as is, and a layout they wrote opens as a Store. Blobs are verified and renamed into place
 * (never visible half written); refs are annotations of `index.json`, rewritten under an
 * exclusive lock by temp file + rename; temp files live in `<root>/tmp/`. Safe to share between
 * processes (of one pid namespace): concurrent writers of one blob, concurrent taggers and a
 * concurrent `gc()` all leave a valid store, and so does a process killed at any instant.
 *
 * Holds only a lease file while open; `close()` (or `await using`) removes it.
 */
export class Store implements AsyncDisposable {
  /** The layout directory, absolute. */
  readonly root: string;
  /** The blobs: put/get/has/stat/delete/path/list. */
  readonly blobs: BlobStore;
  readonly #tmp: string;
  readonly #leases: Leases;
  readonly #lockDir: string;
  readonly #lockOptions: LockOptions;

  private constructor(root: string, options: StoreOptions) {
    this.root = root;
    this.#tmp = join(root, 'tmp');
    this.#lockDir = join(this.#tmp, 'index-lock');
    this.#leases = new Leases(root, this.#tmp);
    this.blobs = new BlobStore(root, this.#tmp, this.#leases);
    this.#lockOptions = options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {};
  }

  /**
   * Store.open opens the store at `dir` (default {@link defaultStoreRoot}: `$STRATUM_ROOT` or
   * `~/.local/share/stratum`), creating the layout when absent: `oci-layout`
   * (`imageLayoutVersion` 1.0.0), an empty `index.json`, `blobs/sha256/`, `tmp/`. Each file is
   * created atomically and only when missing, so concurrent opens agree. An existing layout
   * (written by skopeo, umoci, ours) is used as is. Throws {@link InvalidLayoutError} for a
   * layout of another major version or an `index.json` that is not an index.
   */
  static async open(dir?: string, options: StoreOptions = {}): Promise<Store> {
    if (dir !== undefined && (typeof dir !== 'string' || dir === '')) throw new TypeError('Store.open: dir must be a non-empty string');
    const root = resolvePath(dir ?? defaultStoreRoot());
    const store = new Store(root, options);
    await store.#init();
    return store;
  }

  async #init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const layoutPath = join(this.root, 'oci-layout');
    const indexPath = join(this.root, 'index.json');
    const empty = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
    let created = false;
    let layout: string;
    try {
      layout = await readFile(layoutPath, 'utf8');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      await mkdir(this.#tmp, { recursive: true });
      // A new layout: its two files are written side by side (each atomically, only if absent).
      await Promise.all([
        writeAtomic(layoutPath, JSON.stringify({ imageLayoutVersion: layoutVersion }), this.#tmp, { exclusive: true, syncDir: false }),
        writeAtomic(indexPath, empty, this.#tmp, { exclusive: true, syncDir: false }),
      ]);
      layout = await readFile(layoutPath, 'utf8');
      created = true;
    }
    let version: unknown;
    try {
      version = (JSON.parse(layout) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch (cause) {
      throw new InvalidLayoutError(layoutPath, 'oci-layout is not JSON', { cause });
    }
    if (typeof version !== 'string' || !/^1\.\d+\.\d+/.test(version)) throw new InvalidLayoutError(layoutPath, `unsupported imageLayoutVersion ${JSON.stringify(version)}`);
    try {
      await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
      await mkdir(this.#tmp, { recursive: true });
    } catch (err) {
      // A layout this process may only read (another user's, a read-only mount) still opens for reading.
      if (created || !isErrno(err, 'EACCES', 'EPERM', 'EROFS')) throw err;
    }
    if (!(await exists(indexPath)) && (await writeAtomic(indexPath, empty, this.#tmp, { exclusive: true, syncDir: false }))) created = true;
    await this.#readIndex();
    // One fsync of the root for what was created in it (oci-layout, index.json, blobs/, tmp/).
    if (created) await syncDir(this.root);
  }

  async #readIndex(): Promise<LayoutIndex> {
    const path = join(this.root, 'index.json');
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(path, 'utf8'));
    } catch (cause) {
      throw new InvalidLayoutError(path, isErrno(cause, 'ENOENT') ? 'index.json is missing' : 'index.json is not JSON', { cause });
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidLayoutError(path, 'index.json is not a JSON object');
    const index = doc as LayoutIndex;
    if (index.schemaVersion !== 2) throw new InvalidLayoutError(path, 'index.json schemaVersion must be 2');
    if (!Array.isArray(index.manifests)) throw new InvalidLayoutError(path, 'index.json has no manifests array');
    try {
      index.manifests.forEach((d, i) => parseDescriptor(d, `manifests[${i}]`));
    } catch (cause) {
      throw new InvalidLayoutError(path, `index.json: ${(cause as Error).message}`, { cause });
    }
    return index;
  }

  /** Runs `change` on index.json under the exclusive lock and writes the result (temp + rename) when it differs. */
  async #updateIndex<T>(change: (index: LayoutIndex) => Promise<{ index: LayoutIndex; result: T }>): Promise<T> {
    return withLock(
      this.#lockDir,
      async () => {
        const before = await this.#readIndex();
        const { index, result } = await change(before);
        if (!sameManifests(before, index)) await writeAtomic(join(this.root, 'index.json'), `${JSON.stringify(index)}\n`, this.#tmp);
        return result;
      },
      this.#lockOptions,
    );
  }

  /**
   * tag points ref `ref` at `descriptor` (a manifest or index in the store), replacing what it
   * pointed at — like `docker tag` / `skopeo copy … oci:DIR:REF`. The ref is normalized
   * (`busybox` → `docker.io/library/busybox:latest`) and needs a tag, no digest
   * (InvalidReferenceError). Refuses, changing nothing, a descriptor whose blob is absent or
   * has another size, or an image whose config or layers are absent ({@link NotFoundError},
   * `DigestMismatchError`), so a ref never names an incomplete image. Atomic; idempotent.
   * Returns the stored entry.
   */
  async tag(ref: string, descriptor: Descriptor): Promise<Descriptor> {
    return this.#tagAll([ref], descriptor);
  }

  async #tagAll(refs: string[], descriptor: Descriptor): Promise<Descriptor> {
    const parsed = refs.map(parseTagRef);
    const desc = parseDescriptor(descriptor, 'descriptor');
    if (!isManifestMediaType(desc.mediaType) && !isIndexMediaType(desc.mediaType)) {
      throw new InvalidManifestError(`only a manifest or an index can be tagged, not ${desc.mediaType}`, { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: desc.mediaType });
    }
    return this.#updateIndex(async (index) => {
      // Checked under the lock: gc (which takes it too) cannot remove anything in between.
      const s = await this.blobs.stat(desc.digest);
      if (s === undefined) throw new NotFoundError(desc.digest, `cannot tag ${refs.join(', ')}: ${desc.digest} is not in the store`);
      if (s.size !== desc.size) throw new DigestMismatchError({ digest: desc.digest, size: desc.size }, { digest: desc.digest, size: s.size });
      const missing = await missingOf(this.blobs, desc);
      if (missing.length > 0) throw new NotFoundError(missing[0]!, `cannot tag ${refs.join(', ')}: the store lacks ${missing.join(', ')} of ${desc.digest}`);
      let next = index;
      for (const r of parsed) next = withRef(next, r, desc);
      const stored = findRef(next, parsed[0]!.toString()) ?? desc;
      return { index: next, result: stored };
    });
  }

  /**
   * untag removes ref `ref` (all its entries: full and short name); true when it existed. A
   * bare `sha256:` digest removes every entry of that manifest or index (all its refs, like
   * `docker rmi ID`), `name@sha256:…` those of that repository. Blobs stay until `gc()`. Like
   * `docker rmi` of a tag. Atomic; idempotent.
   */
  async untag(ref: string): Promise<boolean> {
    if (typeof ref !== 'string' || ref === '') throw new TypeError('untag: ref must be a non-empty string');
    return this.#updateIndex(async (index) => {
      const r = withoutRef(index, ref);
      return { index: r.index, result: r.removed };
    });
  }

  /**
   * resolve returns the descriptor a ref names: a tag (`busybox`, `busybox:latest` and
   * `docker.io/library/busybox:latest` are one ref; a peer's bare layout tag such as `v1` by its
   * exact name), `name@sha256:…` or a bare `sha256:…` digest of a manifest or index in the
   * store. Throws {@link NotFoundError}. Reads without the lock (index.json only ever changes by
   * rename).
   */
  async resolve(ref: string): Promise<Descriptor> {
    if (typeof ref !== 'string' || ref === '') throw new TypeError('resolve: ref must be a non-empty string');
    const index = await this.#readIndex();
    if (isDigest(ref)) return this.#byDigest(index, ref);
    const found = findRef(index, ref);
    if (found) return found;
    let digest: Digest | undefined;
    try {
      digest = parseReference(ref).digest;
    } catch {
      digest = undefined;
    }
    if (digest !== undefined) return this.#byDigest(index, digest);
    throw new NotFoundError(ref, `no image ${ref} in the store at ${this.root}`);
  }

  async #byDigest(index: LayoutIndex, digest: Digest): Promise<Descriptor> {
    const entry = index.manifests.find((d) => d.digest === digest);
    if (entry) return entry;
    const bytes = await this.blobs.bytes(digest, maxManifestSize);
    const parsed = parseManifest(bytes);
    return { mediaType: parsed.mediaType, digest, size: bytes.byteLength };
  }

  /** list returns every ref of the store once, with its descriptor, in `index.json` order. Like `docker images` / `umoci ls`. */
  async list(): Promise<RefEntry[]> {
    return listRefs(await this.#readIndex());
  }

  /** refsOf lists the refs that name `digest` (a manifest or index digest). */
  async refsOf(digest: Digest | string): Promise<string[]> {
    const d = parseDigest(digest);
    return (await this.list()).filter((e) => e.descriptor.digest === d).map((e) => e.ref);
  }

  /**
   * image returns the image a ref names, read lazily from the store (the manifest now, the
   * config when asked, layer bytes when read). A ref naming an index selects `platform`
   * (default: the host's). Throws {@link NotFoundError}, `InvalidManifestError`.
   */
  async image(ref: string, options: ImageOptions = {}): Promise<Image> {
    const desc = await this.resolve(ref);
    const bytes = await this.blobs.bytes(desc.digest, maxManifestSize);
    const parsed = parseManifest(bytes, declared(desc.mediaType));
    if (parsed.kind === 'index') return this.#index(desc.digest, bytes, parsed.mediaType).imageFor(options.platform);
    return this.#image(desc.digest, bytes, parsed.mediaType);
  }

  /** index returns the index (OCI index or Docker manifest list) a ref names, lazily; `InvalidManifestError` when it names an image. */
  async index(ref: string): Promise<ImageIndex> {
    const desc = await this.resolve(ref);
    const bytes = await this.blobs.bytes(desc.digest, maxManifestSize);
    const parsed = parseManifest(bytes, declared(desc.mediaType));
    if (parsed.kind !== 'index') {
      throw new InvalidManifestError(`${ref} names an image manifest, not an index`, { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: parsed.mediaType });
    }
    return this.#index(desc.digest, bytes, parsed.mediaType);
  }

  #image(digest: Digest, rawManifest: Uint8Array, mediaType: string): Image {
    return imageFromParts({
      rawManifest,
      mediaType,
      digest,
      rawConfig: (config) => this.blobs.bytes(config.digest, maxConfigSize),
      layer: (descriptor, diffID) => this.layer(descriptor, diffID),
    });
  }

  #index(digest: Digest, rawManifest: Uint8Array, mediaType: string): ImageIndex {
    const open = async (d: Descriptor): Promise<Uint8Array> => this.blobs.bytes(d.digest, maxManifestSize);
    return indexFromParts({
      rawManifest,
      mediaType,
      digest,
      image: async (d) => this.#image(d.digest, await open(d), d.mediaType),
      index: async (d) => this.#index(d.digest, await open(d), d.mediaType),
    });
  }

  /**
   * layer returns a Layer over blob `descriptor` already in the store (e.g. one just put from
   * `createLayer`), whose config diffID is `diffID`: `compressed()` streams the blob,
   * `uncompressed()` the tar (gzip/zstd detected by magic bytes), verified against `diffID` at
   * its end. Nothing is read until a stream is asked for; a missing blob rejects then with
   * {@link NotFoundError}.
   */
  layer(descriptor: Descriptor, diffID: Digest): Layer {
    const desc = parseDescriptor(descriptor, 'descriptor');
    const diff = parseDigest(diffID);
    return layerFromParts({
      descriptor: desc,
      diffID: diff,
      verify: false, // a blob file of the store was verified when it was renamed into place
      compressed: async (opts?: ReadOptions) => this.blobs.get(desc.digest, opts),
      uncompressed: async (opts?: ReadOptions) => verifyStream(await decompress(this.blobs.get(desc.digest, opts)), { digest: diff }) as Readable,
    });
  }

  /**
   * write copies any Image or ImageIndex (from a registry, an archive, `mutate`, another store)
   * into this store — layers first, skipping blobs already present (their bytes are never
   * read), then config and manifest, each verified — and then points `ref` (one or several) at
   * it. Returns the manifest's (or index's) descriptor, with the config's platform. Refs are
   * validated before anything is written; on failure nothing is tagged (whole blobs already
   * written stay for the next attempt or `gc()`). Like `skopeo copy … oci:DIR:REF`.
   */
  async write(source: Image | ImageIndex, ref?: string | string[], options: WriteOptions = {}): Promise<Descriptor> {
    const refs = ref === undefined ? [] : Array.isArray(ref) ? ref : [ref];
    refs.forEach(parseTagRef);
    const ctx: WriteContext = { blobs: this.blobs, leases: this.#leases, holds: [] };
    try {
      const desc = isImageIndex(source) ? await writeIndex(ctx, source, options) : await writeImage(ctx, source, options);
      options.signal?.throwIfAborted();
      if (refs.length > 0) await this.#tagAll(refs, desc);
      return desc;
    } finally {
      for (const release of ctx.holds) release();
    }
  }

  /**
   * gc removes every blob that no entry of `index.json` reaches (tagged or not) and that no
   * running writer holds (a put or write in flight in this process; blobs leased by another
   * live process within the last hour), and the temp files of processes that are gone —
   * never the partial download of a live process. Runs under the index lock. Like
   * `docker image prune -a` for a layout. Returns what it removed.
   */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    return withLock(this.#lockDir, async () => collect(this.blobs, this.#tmp, (await this.#readIndex()).manifests, options), this.#lockOptions);
  }

  /**
   * verify re-hashes every blob and checks that each entry of `index.json` has all it needs.
   * Changes nothing; `ok` is true when nothing is corrupt or missing.
   */
  async verify(options: { signal?: AbortSignal } = {}): Promise<VerifyResult> {
    const index = await this.#readIndex();
    const refOf = (d: Descriptor): string | undefined => {
      const name = d.annotations?.[Annotation.RefName];
      return name ? refOfName(name) : undefined;
    };
    return check(this.blobs, index.manifests, refOf, options);
  }

  /**
   * inspect describes the image `ref` names as `docker image inspect` does ({@link inspect}),
   * with `RepoTags`/`RepoDigests` from every ref of the store that names it (or the index it
   * was picked from).
   */
  async inspect(ref: string, options: ImageOptions = {}): Promise<ImageInspect> {
    const { image, refs } = await this.#withRefs(ref, options);
    return inspect(image, { refs });
  }

  /** history lists the history of the image `ref` names, newest first, like `docker history` ({@link history}). */
  async history(ref: string, options: ImageOptions = {}): Promise<HistoryEntry[]> {
    const { image, refs } = await this.#withRefs(ref, options);
    return history(image, { refs });
  }

  async #withRefs(ref: string, options: ImageOptions): Promise<{ image: Image; refs: string[] }> {
    const desc = await this.resolve(ref);
    const image = await this.image(desc.digest, options);
    const digests = new Set([desc.digest, await image.digest()]);
    const refs = (await this.list()).filter((e) => digests.has(e.descriptor.digest) && e.ref.includes(':')).map((e) => e.ref);
    return { image, refs };
  }

  /**
   * unpack applies the layers of the image `ref` names, bottom first, into `dir` with
   * @stratum/layer's `applyLayer` (OCI whiteouts unless told otherwise) — the vfs way, like
   * `umoci unpack` without the runtime bundle.
   */
  async unpack(ref: string, dir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
    const image = await this.image(ref, options.platform !== undefined ? { platform: options.platform } : {});
    return unpackImage(image, dir, options);
  }

  /** close removes this instance's lease file. The store stays usable; idempotent. */
  async close(): Promise<void> {
    await this.#leases.drop();
  }

  /** [Symbol.asyncDispose] is {@link Store.close}, for `await using store = await Store.open(…)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The media type a descriptor declares, when it is one `parseManifest` should check against. */
function declared(mediaType: string): string | undefined {
  return isManifestMediaType(mediaType) || isIndexMediaType(mediaType) ? mediaType : undefined;
}
