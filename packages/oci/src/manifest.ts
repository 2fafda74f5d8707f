import { type Digest, digestBytes, parseDigest } from './digest.js';
import { InvalidManifestError, type ManifestErrorKind } from './errors.js';
import { MediaType, type MediaTypeString, isIndexMediaType, isManifestMediaType, mediaTypeOf } from './media-types.js';
import type { Descriptor, ImageConfig, ImageIndexManifest, ImageManifest, Platform } from './types.js';

/** maxManifestSize: the largest manifest or index Stratum parses (4 MiB, what the distribution spec asks registries to accept). */
export const maxManifestSize = 4 * 1024 * 1024;
/** maxConfigSize: the largest image config Stratum parses (8 MiB; real configs are a few KiB, long histories some hundred). */
export const maxConfigSize = 8 * 1024 * 1024;

/** ParseDocumentOptions are the options of {@link parseManifest} and {@link parseImageConfig}. */
export interface ParseDocumentOptions {
  /** Refuse documents larger than this many bytes, before decoding them (default {@link maxManifestSize} / {@link maxConfigSize}). */
  maxSize?: number;
}

/** ParsedImageManifest: a parsed image manifest (OCI or Docker v2.2), with the descriptor of its bytes. */
export interface ParsedImageManifest {
  kind: 'manifest';
  /** The media type: the document's `mediaType`, else the one given, else OCI's by shape. */
  mediaType: MediaTypeString;
  manifest: ImageManifest;
  /** Descriptor of the exact bytes parsed (digest, size, media type). */
  descriptor: Descriptor;
}

/** ParsedIndexManifest: a parsed index (OCI image index or Docker manifest list), with the descriptor of its bytes. */
export interface ParsedIndexManifest {
  kind: 'index';
  mediaType: MediaTypeString;
  index: ImageIndexManifest;
  descriptor: Descriptor;
}

/** ParsedManifest is what {@link parseManifest} returns: an image manifest or an index, told apart by `kind`. */
export type ParsedManifest = ParsedImageManifest | ParsedIndexManifest;

/** Content types that say nothing about which manifest this is (some registries and servers send them). */
const genericTypes = new Set(['', 'application/json', 'text/plain', 'application/octet-stream', 'binary/octet-stream']);

/**
 * parseManifest validates the bytes of an image manifest or index (OCI, or Docker's v2.2
 * manifest and manifest list) and tells which it is. `mediaType` is what the source declared
 * (descriptor, `Content-Type` with parameters allowed); when the document has its own
 * `mediaType` they must agree, and without either the shape decides (`manifests` → index,
 * `config`/`layers` → manifest). Documents over {@link maxManifestSize} are refused before
 * decoding. Throws {@link InvalidManifestError} (`kind`: `TOO_LARGE`, `NOT_JSON`,
 * `INVALID_FIELD`, `MEDIA_TYPE_MISMATCH`, `UNSUPPORTED_MEDIA_TYPE` for schema 1 and others,
 * `UNKNOWN_SHAPE`). Unknown fields are kept. Pure.
 */
export function parseManifest(bytes: Uint8Array | string, mediaType?: string, options: ParseDocumentOptions = {}): ParsedManifest {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const given = mediaType === undefined ? undefined : mediaTypeOf(mediaType);
  const declaredGiven = given !== undefined && !genericTypes.has(given) ? given : undefined;
  if (declaredGiven === MediaType.DockerManifestV1Signed || declaredGiven === MediaType.DockerManifestV1) {
    throw new InvalidManifestError('Docker image manifest schema 1 is not supported', { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: declaredGiven });
  }
  if (declaredGiven !== undefined && !isManifestMediaType(declaredGiven) && !isIndexMediaType(declaredGiven)) {
    throw new InvalidManifestError(`not a manifest or index media type: ${JSON.stringify(declaredGiven)}`, { kind: 'UNSUPPORTED_MEDIA_TYPE', mediaType: declaredGiven });
  }
  const doc = parseJsonObject(data, options.maxSize ?? maxManifestSize, 'manifest');
  if (doc['schemaVersion'] === 1) {
    throw new InvalidManifestError('Docker image manifest schema 1 is not supported', { kind: 'UNSUPPORTED_MEDIA_TYPE', field: 'schemaVersion' });
  }
  if (doc['schemaVersion'] !== 2) fail('manifest', 'schemaVersion', 'must be 2');
  const declared = doc['mediaType'];
  if (declared !== undefined && typeof declared !== 'string') fail('manifest', 'mediaType', 'must be a string');
  if (declared !== undefined && declaredGiven !== undefined && declared !== declaredGiven) {
    throw new InvalidManifestError(`manifest declares media type ${JSON.stringify(declared)} but was served as ${JSON.stringify(declaredGiven)}`, {
      kind: 'MEDIA_TYPE_MISMATCH',
      field: 'mediaType',
      mediaType: declaredGiven,
    });
  }
  let mt: string | undefined = declared ?? declaredGiven;
  let kind: 'manifest' | 'index';
  if (mt !== undefined) {
    if (isIndexMediaType(mt)) kind = 'index';
    else if (isManifestMediaType(mt)) kind = 'manifest';
    else throw new InvalidManifestError(`not a manifest or index media type: ${JSON.stringify(mt)}`, { kind: 'UNSUPPORTED_MEDIA_TYPE', field: 'mediaType', mediaType: mt });
  } else {
    const isIndex = 'manifests' in doc;
    const isManifest = 'config' in doc || 'layers' in doc;
    if (isIndex === isManifest) {
      throw new InvalidManifestError('document has no mediaType and is neither clearly a manifest (config, layers) nor an index (manifests)', { kind: 'UNKNOWN_SHAPE' });
    }
    kind = isIndex ? 'index' : 'manifest';
    mt = isIndex ? MediaType.OciIndex : MediaType.OciManifest;
  }
  checkOptional(doc, 'manifest', '', 'artifactType', 'string');
  if (doc['annotations'] !== undefined) checkStringMap(doc['annotations'], 'manifest', 'annotations');
  if (doc['subject'] !== undefined) parseDescriptorAt(doc['subject'], 'manifest', 'subject');
  const descriptor: Descriptor = { mediaType: mt, digest: digestBytes(data), size: data.byteLength };
  if (kind === 'index') {
    const manifests = doc['manifests'];
    if (!Array.isArray(manifests)) fail('index', 'manifests', 'must be an array');
    manifests.forEach((d, i) => parseDescriptorAt(d, 'index', `manifests[${i}]`));
    return { kind, mediaType: mt, index: doc as unknown as ImageIndexManifest, descriptor };
  }
  parseDescriptorAt(doc['config'], 'manifest', 'config');
  const layers = doc['layers'];
  if (!Array.isArray(layers)) fail('manifest', 'layers', 'must be an array');
  layers.forEach((d, i) => parseDescriptorAt(d, 'manifest', `layers[${i}]`));
  return { kind, mediaType: mt, manifest: doc as unknown as ImageManifest, descriptor };
}

/**
 * parseImageConfig validates the bytes of an image config (OCI `application/vnd.oci.image.config.v1+json`
 * or Docker's `application/vnd.docker.container.image.v1+json`): a JSON object with string
 * `architecture` and `os`, `rootfs.type` `layers` with valid `diff_ids`, and well-typed
 * `config`, `history` and `created` when present (a `null` `config` or `Labels`, as old Docker
 * wrote, is dropped). Refuses more than {@link maxConfigSize} bytes before decoding. Throws
 * {@link InvalidManifestError}. Unknown fields are kept. Pure.
 */
export function parseImageConfig(bytes: Uint8Array | string, options: ParseDocumentOptions = {}): ImageConfig {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const doc = parseJsonObject(data, options.maxSize ?? maxConfigSize, 'config');
  const what = 'config';
  for (const f of ['architecture', 'os'] as const) {
    if (typeof doc[f] !== 'string') fail(what, f, 'must be a string');
  }
  checkOptional(doc, what, '', 'variant', 'string');
  checkOptional(doc, what, '', 'os.version', 'string');
  checkOptional(doc, what, '', 'created', 'string');
  checkOptional(doc, what, '', 'author', 'string');
  if (doc['os.features'] !== undefined) checkStringArray(doc['os.features'], what, 'os.features');
  const rootfs = doc['rootfs'];
  if (!isObject(rootfs)) fail(what, 'rootfs', 'must be an object');
  if (rootfs['type'] !== 'layers') fail(what, 'rootfs.type', 'must be "layers"');
  const diffIDs = rootfs['diff_ids'];
  if (!Array.isArray(diffIDs)) fail(what, 'rootfs.diff_ids', 'must be an array');
  diffIDs.forEach((d, i) => checkDigest(d, what, `rootfs.diff_ids[${i}]`));
  for (const key of ['config', 'container_config'] as const) {
    if (doc[key] === null) delete doc[key];
    else if (doc[key] !== undefined) checkContainerConfig(doc[key], what, key);
  }
  const history = doc['history'];
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history)) fail(what, 'history', 'must be an array');
    history.forEach((h, i) => {
      const at = `history[${i}]`;
      if (!isObject(h)) fail(what, at, 'must be an object');
      for (const f of ['created', 'created_by', 'author', 'comment']) checkOptional(h, what, `${at}.`, f, 'string');
      checkOptional(h, what, `${at}.`, 'empty_layer', 'boolean');
    });
  } else if (history === null) {
    delete doc['history'];
  }
  return doc as unknown as ImageConfig;
}

function checkContainerConfig(c: unknown, what: string, at: string): void {
  if (!isObject(c)) fail(what, at, 'must be an object');
  for (const f of ['User', 'WorkingDir', 'StopSignal', 'Hostname', 'Domainname', 'Image']) checkOptional(c, what, `${at}.`, f, 'string');
  checkOptional(c, what, `${at}.`, 'ArgsEscaped', 'boolean');
  if (c['Env'] !== undefined && c['Env'] !== null) checkStringArray(c['Env'], what, `${at}.Env`);
  for (const f of ['Entrypoint', 'Cmd', 'Shell', 'OnBuild']) {
    if (c[f] !== undefined && c[f] !== null) checkStringArray(c[f], what, `${at}.${f}`);
  }
  if (c['Labels'] === null) delete c['Labels'];
  else if (c['Labels'] !== undefined) checkStringMap(c['Labels'], what, `${at}.Labels`);
  for (const f of ['ExposedPorts', 'Volumes']) {
    if (c[f] === null) delete c[f];
    else if (c[f] !== undefined && !isObject(c[f])) fail(what, `${at}.${f}`, 'must be an object');
  }
}

/**
 * parseDescriptor validates one descriptor (media type per RFC 6838, digest, non-negative size, and the optional `urls`,
 * `annotations`, `platform`, `data`, `artifactType`) and returns it typed. Throws
 * {@link InvalidManifestError}; `field` prefixes the JSON path in the error. Pure.
 */
export function parseDescriptor(value: unknown, field = 'descriptor'): Descriptor {
  return parseDescriptorAt(value, 'descriptor', field);
}

/** RFC 6838 §4.2 restricted names, `type/subtype`, as the OCI descriptor schema means it. */
const mediaTypePattern = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function parseDescriptorAt(value: unknown, what: string, at: string): Descriptor {
  if (!isObject(value)) fail(what, at, 'must be a descriptor object');
  if (typeof value['mediaType'] !== 'string' || !mediaTypePattern.test(value['mediaType'])) fail(what, `${at}.mediaType`, 'must be a media type (RFC 6838: type/subtype)');
  checkDigest(value['digest'], what, `${at}.digest`);
  const size = value['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(what, `${at}.size`, 'must be a non-negative integer');
  if (value['urls'] !== undefined) checkStringArray(value['urls'], what, `${at}.urls`);
  if (value['annotations'] !== undefined) checkStringMap(value['annotations'], what, `${at}.annotations`);
  checkOptional(value, what, `${at}.`, 'data', 'string');
  checkOptional(value, what, `${at}.`, 'artifactType', 'string');
  if (value['platform'] !== undefined) checkPlatform(value['platform'], what, `${at}.platform`);
  return value as unknown as Descriptor;
}

function checkPlatform(p: unknown, what: string, at: string): asserts p is Platform {
  if (!isObject(p)) fail(what, at, 'must be an object');
  if (typeof p['os'] !== 'string') fail(what, `${at}.os`, 'must be a string');
  if (typeof p['architecture'] !== 'string') fail(what, `${at}.architecture`, 'must be a string');
  checkOptional(p, what, `${at}.`, 'variant', 'string');
  checkOptional(p, what, `${at}.`, 'os.version', 'string');
  if (p['os.features'] !== undefined) checkStringArray(p['os.features'], what, `${at}.os.features`);
  if (p['features'] !== undefined) checkStringArray(p['features'], what, `${at}.features`);
}

/**
 * descriptorOf describes `bytes` as content of `mediaType`: its sha256 digest and size, plus any
 * `extra` fields (annotations, platform…). Pure; the bytes are hashed once.
 */
export function descriptorOf(bytes: Uint8Array | string, mediaType: MediaTypeString, extra: Partial<Omit<Descriptor, 'digest' | 'size' | 'mediaType'>> = {}): Descriptor {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return { mediaType, digest: digestBytes(data), size: data.byteLength, ...extra };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(data: Uint8Array, maxSize: number, what: string): Record<string, unknown> {
  if (!(data instanceof Uint8Array)) throw new TypeError(`${what} bytes must be a Uint8Array or string`);
  if (data.byteLength > maxSize) {
    throw new InvalidManifestError(`${what} is ${data.byteLength} bytes, more than the ${maxSize} allowed`, { kind: 'TOO_LARGE' });
  }
  let text: string;
  try {
    text = decoder.decode(data);
  } catch (cause) {
    throw new InvalidManifestError(`${what} is not valid UTF-8`, { kind: 'NOT_JSON', cause });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new InvalidManifestError(`${what} is not JSON: ${(cause as Error).message}`, { kind: 'NOT_JSON', cause });
  }
  if (!isObject(doc)) throw new InvalidManifestError(`${what} must be a JSON object`, { kind: 'NOT_JSON' });
  return doc;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(what: string, field: string, problem: string, kind: ManifestErrorKind = 'INVALID_FIELD', cause?: unknown): never {
  throw new InvalidManifestError(`invalid ${what}: ${field} ${problem}`, { kind, field, ...(cause === undefined ? {} : { cause }) });
}

function checkOptional(obj: Record<string, unknown>, what: string, prefix: string, key: string, type: 'string' | 'boolean' | 'number'): void {
  if (obj[key] !== undefined && typeof obj[key] !== type) fail(what, `${prefix}${key}`, `must be a ${type}`);
}

function checkDigest(d: unknown, what: string, at: string): asserts d is Digest {
  if (typeof d !== 'string') fail(what, at, 'must be a digest string');
  try {
    parseDigest(d);
  } catch (cause) {
    fail(what, at, `is not a valid digest (${(cause as { reason?: string }).reason ?? String(cause)})`, 'INVALID_FIELD', cause);
  }
}

function checkStringArray(v: unknown, what: string, at: string): void {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) fail(what, at, 'must be an array of strings');
}

function checkStringMap(v: unknown, what: string, at: string): void {
  if (!isObject(v) || !Object.values(v).every((s) => typeof s === 'string')) fail(what, at, 'must be an object of strings');
}
