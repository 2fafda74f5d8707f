import { Readable, PassThrough, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as zlib from 'node:zlib';
import {
  DigestMismatchError,
  InvalidManifestError,
  MediaType,
  Reference,
  StratumError,
  digestAlgorithm,
  digestBytes,
  imageFromParts,
  indexFromParts,
  isDigest,
  layerCompression,
  layerFromParts,
  parseManifest,
  verifyStream,
  type Descriptor,
  type Digest,
  type Image,
  type ImageIndex,
  type Layer,
  type ParsedManifest,
  type ReadOptions,
} from '@stratum/oci';
import { scopeFor } from './auth/authenticator.js';
import type { ClientContext } from './context.js';
import { blobChunks, firstAnswer } from './download.js';
import { RegistryError } from './errors.js';
import { BodyTooLargeError, readLimited } from './http/body.js';
import { Backoff, wait } from './http/retry.js';
import { contentLength, headerOf, isTransportError } from './http/transport.js';

/** The manifest media types the client asks for (`Accept`), most wanted first. */
export const manifestAccept = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');

/**
 * RemoteManifest is a manifest or index as a registry served it: the exact bytes (`raw`, whose
 * digest is `descriptor.digest`), the parsed document, and where it came from.
 */
export interface RemoteManifest {
  /** The reference asked for, normalized. */
  reference: Reference;
  /** Descriptor of the bytes: media type, digest, size. */
  descriptor: Descriptor;
  raw: Uint8Array;
  parsed: ParsedManifest;
}

/** Where a remote layer or image came from: lets `push` mount it instead of uploading. */
export interface RemoteOrigin {
  registry: string;
  repository: string;
}

const origins = new WeakMap<object, RemoteOrigin>();

/** originOf tells which registry repository a Layer or Image of this client was read from. */
export function originOf(x: object): RemoteOrigin | undefined {
  return origins.get(x);
}

function contentProblem(url: string, err: InvalidManifestError): RegistryError {
  const code = err.kind === 'UNSUPPORTED_MEDIA_TYPE' ? 'MANIFEST_UNSUPPORTED' : err.kind === 'TOO_LARGE' ? 'TOO_LARGE' : 'MANIFEST_INVALID';
  return new RegistryError(200, 'GET', url, { errors: [{ code, message: err.message }], temporary: false, cause: err });
}

/**
 * fetchManifest GETs a manifest or index by tag or digest, refusing bodies over the size bound
 * before reading them (`TOO_LARGE`), verifying the bytes against the reference's digest or the
 * registry's `Docker-Content-Digest` ({@link DigestMismatchError}), and validating the document
 * (`MANIFEST_INVALID`, `MANIFEST_UNSUPPORTED` as {@link RegistryError}). A body cut short is
 * fetched again under the retry policy. Mirrors are tried first for reads.
 */
export async function fetchManifest(ctx: ClientContext, ref: Reference, signal?: AbortSignal): Promise<RemoteManifest> {
  const id = ref.digest ?? ref.tag;
  if (id === undefined) throw new TypeError(`reference ${ref.toString()} has neither tag nor digest`);
  const endpoints = [...ctx.mirrors(ref.registry), ref.registry];
  return firstAnswer(endpoints, signal, async (registry) => {
    const backoff = new Backoff(ctx.retry);
    for (;;) {
      const res = await ctx.transport.send({
        registry,
        repository: ref.repository,
        method: 'GET',
        path: `/v2/${ref.repository}/manifests/${id}`,
        headers: { accept: manifestAccept },
        scopes: [scopeFor(ref.repository, ['pull'])],
        expect: [200],
        signal,
      });
      let raw: Buffer;
      try {
        raw = await readLimited(res.body, ctx.maxManifestSize, contentLength(res.headers));
      } catch (err) {
        if (signal?.aborted) throw signal.reason ?? err;
        if (err instanceof BodyTooLargeError) {
          throw new RegistryError(200, 'GET', res.url, {
            errors: [{ code: 'TOO_LARGE', message: `manifest is ${err.declared !== undefined ? `${err.declared} bytes` : 'larger than the limit'}, more than the ${ctx.maxManifestSize} bytes allowed` }],
            temporary: false,
          });
        }
        if (!isTransportError(err)) throw err;
        const delay = backoff.next();
        if (delay === undefined) {
          throw new RegistryError(200, 'GET', res.url, { errors: [{ code: 'BODY_INCOMPLETE', message: 'the manifest body broke off' }], temporary: true, cause: err });
        }
        await wait(delay, signal);
        continue;
      }
      const headerDigest = headerOf(res.headers, 'docker-content-digest');
      const expected = ref.digest ?? (headerDigest !== undefined && isDigest(headerDigest.trim()) ? (headerDigest.trim() as Digest) : undefined);
      const actual = digestBytes(raw, expected ? digestAlgorithm(expected) : 'sha256');
      if (expected !== undefined && actual !== expected) {
        throw new DigestMismatchError({ digest: expected }, { digest: actual, size: raw.byteLength });
      }
      let parsed: ParsedManifest;
      try {
        parsed = parseManifest(raw, headerOf(res.headers, 'content-type'), { maxSize: ctx.maxManifestSize });
      } catch (err) {
        if (err instanceof InvalidManifestError) throw contentProblem(res.url, err);
        throw err;
      }
      return {
        reference: ref,
        descriptor: { mediaType: parsed.mediaType, digest: expected ?? actual, size: raw.byteLength },
        raw,
        parsed,
      };
    }
  });
}

/**
 * fetchSmallBlob reads a whole small blob (a config) with a size bound, verified against its
 * descriptor. A descriptor declaring more than `limit` is refused before any request.
 */
export async function fetchSmallBlob(ctx: ClientContext, registry: string, repository: string, desc: Descriptor, limit: number, signal?: AbortSignal): Promise<Buffer> {
  if (desc.size > limit) {
    throw new InvalidManifestError(`blob ${desc.digest} is ${desc.size} bytes, more than the ${limit} allowed for a config`, { kind: 'TOO_LARGE', field: 'config.size' });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const v = verifyStream(
    Readable.from(blobChunks(ctx.transport, ctx.retry, { registry, repository, digest: desc.digest, size: desc.size, mirrors: ctx.mirrors(registry) }, { signal })),
    { digest: desc.digest, size: desc.size },
  );
  for await (const c of v) {
    total += (c as Buffer).byteLength;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/** openBlob opens a verified stream of a blob (resumes broken transfers with `Range`). */
export function openBlob(ctx: ClientContext, registry: string, repository: string, digest: Digest, size: number | undefined, opts: ReadOptions = {}): Readable {
  const chunks = blobChunks(ctx.transport, ctx.retry, { registry, repository, digest, size, mirrors: ctx.mirrors(registry) }, { signal: opts.signal });
  return verifyStream(Readable.from(chunks, { objectMode: false, highWaterMark: 1024 * 1024 }), { digest, ...(size !== undefined ? { size } : {}) });
}

/** UnsupportedCompressionError: a layer's compression can't be undone in this Node version. */
export class UnsupportedCompressionError extends StratumError {
  readonly mediaType: string;
  constructor(mediaType: string, reason: string) {
    super('UNSUPPORTED_COMPRESSION', `cannot decompress ${mediaType}: ${reason}`);
    this.mediaType = mediaType;
  }
}

/** decompress turns a layer blob stream into its tar stream, by the media type's compression. */
export function decompress(blob: Readable, mediaType: string): Readable {
  const kind = layerCompression(mediaType);
  if (kind === 'none') return blob;
  let inflate: NodeJS.ReadWriteStream;
  if (kind === 'gzip' || kind === undefined) {
    inflate = createGunzip({ chunkSize: 256 * 1024 });
  } else {
    const make = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
    if (typeof make !== 'function') {
      blob.destroy();
      throw new UnsupportedCompressionError(mediaType, `zstd needs Node ≥ 22.15 (this is ${process.version})`);
    }
    inflate = make();
  }
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  pipeline(blob, inflate, out, () => {});
  return out;
}

/** remoteLayer: a lazy {@link Layer} whose bytes stream from the registry when read. */
export function remoteLayer(ctx: ClientContext, registry: string, repository: string, descriptor: Descriptor, diffID: Digest): Layer {
  const compressed = async (opts?: ReadOptions): Promise<Readable> => openBlob(ctx, registry, repository, descriptor.digest, descriptor.size, opts);
  const layer = layerFromParts({
    descriptor,
    diffID,
    verify: false, // openBlob verifies already
    compressed,
    uncompressed: async (opts) => decompress(await compressed(opts), descriptor.mediaType),
  });
  origins.set(layer, { registry, repository });
  return layer;
}

/**
 * remoteImage makes a lazy {@link Image} over a fetched manifest: the config is fetched on
 * first use (bounded, verified), layers stream from the registry only when read.
 */
export function remoteImage(ctx: ClientContext, registry: string, repository: string, m: { raw: Uint8Array; descriptor: Descriptor }): Image {
  const image = imageFromParts({
    rawManifest: m.raw,
    mediaType: m.descriptor.mediaType,
    digest: m.descriptor.digest,
    rawConfig: (desc) => fetchSmallBlob(ctx, registry, repository, desc, ctx.maxConfigSize),
    layer: (desc, diffID) => remoteLayer(ctx, registry, repository, desc, diffID),
  });
  origins.set(image, { registry, repository });
  return image;
}

/** remoteIndex makes a lazy {@link ImageIndex}: child manifests are fetched by digest when opened. */
export function remoteIndex(ctx: ClientContext, ref: Reference, m: { raw: Uint8Array; descriptor: Descriptor }, signal?: AbortSignal): ImageIndex {
  const child = (d: Descriptor): Reference => new Reference({ registry: ref.registry, repository: ref.repository, digest: d.digest });
  const index = indexFromParts({
    rawManifest: m.raw,
    mediaType: m.descriptor.mediaType,
    digest: m.descriptor.digest,
    image: async (d) => remoteImage(ctx, ref.registry, ref.repository, await fetchManifest(ctx, child(d), signal)),
    index: async (d) => remoteIndex(ctx, ref, await fetchManifest(ctx, child(d), signal), signal),
  });
  origins.set(index, { registry: ref.registry, repository: ref.repository });
  return index;
}
