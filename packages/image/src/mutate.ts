/**
 * mutate: a new Image from any Image (store, registry, archive, memory) — config changes,
 * appended layers, history, annotations — computed lazily, with the base's layers passed
 * through untouched (go-containerregistry's `mutate`, umoci's config/repack model).
 */
import {
  MediaType,
  NotFoundError,
  canonicalJson,
  digestBytes,
  memoize,
  type ContainerConfig,
  type Descriptor,
  type Digest,
  type History,
  type Image,
  type ImageConfig,
  type ImageManifest,
  type Layer,
  type MediaTypeString,
} from '@stratum/oci';
import { applyChanges, parseChanges } from './change.js';

/** AppendedLayer: a layer to append, with its history entry (fields default from the mutation's `history`, `author`, `message`, `created`). */
export interface AppendedLayer {
  layer: Layer;
  history?: Partial<History>;
}

/** MutateOptions: what {@link mutate} changes. Everything is optional; what is not given is kept. */
export interface MutateOptions {
  /** Runtime config fields to set (`Cmd`, `Env`, `Labels`…), each replacing the base's; `null` removes a field. */
  config?: { [K in keyof ContainerConfig]?: ContainerConfig[K] | null };
  /** Changes in `docker commit -c` syntax, applied after `config` ({@link applyChanges}). */
  changes?: string[];
  /** Layers to put on top, bottom first. */
  append?: Array<Layer | AppendedLayer>;
  /**
   * The history entry of each appended layer (unless it brings its own); with nothing
   * appended, one `empty_layer` entry with these fields is added (like a Dockerfile's `CMD`).
   */
  history?: Partial<History>;
  /** The author (`docker commit -a`): the config's `author` and the new history entries'. */
  author?: string;
  /** The message (`docker commit -m`): the config's `comment` and the new history entries' `comment`. */
  message?: string;
  /** Manifest annotations to add (or replace). */
  annotations?: Record<string, string>;
  /** When the new image was made (config `created` and new history entries; default: now). */
  created?: Date | string;
}

/** OCI and Docker names of the same layer blob types; a manifest's layers use its own family. */
const toDocker: Record<string, string> = {
  [MediaType.OciLayer]: MediaType.DockerLayer,
  [MediaType.OciLayerGzip]: MediaType.DockerLayerGzip,
  [MediaType.OciLayerZstd]: MediaType.DockerLayerZstd,
};
const toOci: Record<string, string> = {
  [MediaType.DockerLayer]: MediaType.OciLayer,
  [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
  [MediaType.DockerLayerZstd]: MediaType.OciLayerZstd,
  [MediaType.DockerForeignLayer]: MediaType.OciLayerNondistributableGzip,
};

/** The layer as this manifest must list it: the same object when its media type fits, else a view with the converted type. */
function fitLayer(layer: Layer, manifestType: MediaTypeString): Layer & { descriptor(): Promise<Descriptor> } {
  const table = manifestType === MediaType.DockerManifest ? toDocker : toOci;
  const mediaType = memoize(async () => {
    const mt = await layer.mediaType();
    return (table[mt] ?? mt) as MediaTypeString;
  });
  const descriptor = memoize(async (): Promise<Descriptor> => {
    const own = layer.descriptor ? await layer.descriptor() : undefined;
    const base: Descriptor = own ?? { mediaType: await layer.mediaType(), digest: await layer.digest(), size: await layer.size() };
    return { ...base, mediaType: await mediaType() };
  });
  return {
    digest: () => layer.digest(),
    diffID: () => layer.diffID(),
    size: () => layer.size(),
    mediaType,
    compressed: (o) => layer.compressed(o),
    uncompressed: (o) => layer.uncompressed(o),
    descriptor,
  };
}

/** A date as RFC 3339 (UTC, milliseconds only when there are some). */
function rfc3339(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

function checkOptions(o: MutateOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('mutate options must be an object');
  if (o.config !== undefined && (typeof o.config !== 'object' || o.config === null || Array.isArray(o.config))) throw new TypeError('mutate: config must be an object');
  if (o.append !== undefined && !Array.isArray(o.append)) throw new TypeError('mutate: append must be an array');
  for (const a of o.append ?? []) {
    const l = 'layer' in a ? a.layer : a;
    if (typeof l?.digest !== 'function' || typeof l.diffID !== 'function' || typeof l.compressed !== 'function') throw new TypeError('mutate: append takes Layers or { layer, history }');
  }
  for (const k of ['author', 'message'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') throw new TypeError(`mutate: ${k} must be a string`);
  if (o.annotations !== undefined && (typeof o.annotations !== 'object' || o.annotations === null || !Object.values(o.annotations).every((v) => typeof v === 'string'))) {
    throw new TypeError('mutate: annotations must be an object of strings');
  }
  if (o.created !== undefined && Number.isNaN(new Date(o.created).getTime())) throw new TypeError(`mutate: invalid created ${String(o.created)}`);
}

/**
 * mutate returns a new lazy Image: `image` with its runtime config changed (`config`, then
 * `changes` in `docker commit -c` syntax), `append`ed layers on top (their history from
 * `history`, `author`, `message`), and manifest `annotations` added. The base's layers are
 * passed through as the same objects, never read, re-downloaded or recompressed: writing the
 * result to a store that has them, or pushing it to a registry that has them, moves only the new
 * blobs. Works on any Image. The config and manifest are re-serialized (canonical JSON) only
 * when they change; appended layers take the manifest's media type family (OCI or Docker v2.2).
 * Options and change lines are checked at once (`TypeError`, {@link InvalidChangeError}); the
 * rest happens when an accessor is first awaited (memoized). Like `docker commit` without the
 * container, or go-containerregistry's `mutate.Append` + `mutate.Config`.
 */
export function mutate(image: Image, options: MutateOptions = {}): Image {
  checkOptions(options);
  const changes = options.changes ?? [];
  parseChanges(changes); // bad lines fail now, not at the first await
  const appended = (options.append ?? []).map((a) => ('layer' in a ? a : { layer: a }));
  const created = rfc3339(options.created !== undefined ? new Date(options.created) : new Date());
  const configChanges =
    options.config !== undefined || changes.length > 0 || appended.length > 0 || options.history !== undefined || options.author !== undefined || options.message !== undefined || options.created !== undefined;
  const manifestChanges = configChanges || options.annotations !== undefined;

  const historyEntry = (own: Partial<History> | undefined, empty: boolean): History => {
    const h: History = { created, ...options.history, ...own };
    if (options.author !== undefined && h.author === undefined) h.author = options.author;
    if (options.message !== undefined && h.comment === undefined) h.comment = options.message;
    if (empty) h.empty_layer = true;
    else delete h.empty_layer;
    return h;
  };

  const config = memoize(async (): Promise<ImageConfig> => {
    const base = await image.config();
    if (!configChanges) return base;
    const next: ImageConfig = structuredClone(base);
    let runtime: ContainerConfig = { ...(base.config ?? {}) };
    for (const [k, v] of Object.entries(options.config ?? {})) {
      if (v === undefined) continue;
      if (v === null) delete (runtime as Record<string, unknown>)[k];
      else (runtime as Record<string, unknown>)[k] = structuredClone(v);
    }
    if (changes.length > 0) runtime = applyChanges(runtime, changes);
    next.config = runtime;
    const diffIDs = await Promise.all(appended.map((a) => a.layer.diffID()));
    next.rootfs = { type: 'layers', diff_ids: [...base.rootfs.diff_ids, ...diffIDs] };
    const history = [...(base.history ?? [])];
    for (const a of appended) history.push(historyEntry(a.history, false));
    if (appended.length === 0 && options.history !== undefined) history.push(historyEntry(undefined, true));
    if (history.length > 0) next.history = history;
    next.created = created;
    if (options.author !== undefined) next.author = options.author;
    if (options.message !== undefined) next.comment = options.message;
    return next;
  });
  const rawConfig = memoize(async (): Promise<Uint8Array> => (configChanges ? canonicalJson(await config()) : image.rawConfig()));
  const baseManifest = memoize(() => image.manifest());
  const mediaType = memoize(async () => image.mediaType());
  const layers = memoize(async (): Promise<Layer[]> => {
    const mt = await mediaType();
    return [...(await image.layers()), ...appended.map((a) => fitLayer(a.layer, mt))];
  });
  const manifest = memoize(async (): Promise<ImageManifest> => {
    const base = await baseManifest();
    if (!manifestChanges) return base;
    const mt = await mediaType();
    const raw = await rawConfig();
    const added = await Promise.all(appended.map((a) => fitLayer(a.layer, mt).descriptor()));
    const next: ImageManifest = {
      ...base,
      config: { ...base.config, digest: digestBytes(raw), size: raw.byteLength },
      layers: [...base.layers, ...added],
    };
    if (options.annotations !== undefined) next.annotations = { ...(base.annotations ?? {}), ...options.annotations };
    return next;
  });
  const rawManifest = memoize(async (): Promise<Uint8Array> => (manifestChanges ? canonicalJson(await manifest()) : image.rawManifest()));
  const digest = memoize(async (): Promise<Digest> => (manifestChanges ? digestBytes(await rawManifest()) : image.digest()));

  return {
    mediaType,
    rawManifest,
    manifest,
    digest,
    size: async () => (await rawManifest()).byteLength,
    rawConfig,
    config,
    configDigest: async () => (configChanges ? digestBytes(await rawConfig()) : image.configDigest()),
    layers,
    async layerByDigest(d: Digest): Promise<Layer> {
      const all = await layers();
      for (const l of all) if ((await l.digest()) === d) return l;
      for (const l of all) if ((await l.diffID()) === d) return l;
      throw new NotFoundError(d, `no layer with digest or diffID ${d} in this image`);
    },
  };
}
