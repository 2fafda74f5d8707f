import { Readable, Transform, type TransformCallback } from 'node:stream';
import {
  DigestMismatchError,
  DigestingStream,
  MediaType,
  Reference,
  verifyStream,
  digestAlgorithm,
  digestHex,
  isIndexMediaType,
  parseManifest,
  type Descriptor,
  type Digest,
  type Image,
  type ImageIndex,
  type ImageIndexManifest,
  type ReadOptions,
} from '@stratum/oci';
import { scopeFor } from './auth/authenticator.js';
import type { ClientContext } from './context.js';
import { RegistryError } from './errors.js';
import { discard, readLimited } from './http/body.js';
import { Backoff, wait } from './http/retry.js';
import { headerOf } from './http/transport.js';
import { type ProgressCallback, emitter } from './progress.js';
import { originOf } from './remote.js';
import { allOrNothing } from './tasks.js';

/** PushOptions: the options of `client.push`. */
export interface PushOptions {
  /** Per-blob progress (`waiting`, `uploading`, `done`, `skipped`, `mounted`). */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /**
   * Other repositories of the target registry that may hold the blobs: tried for a cross-repo
   * mount (`POST …/uploads/?mount=&from=`) before uploading. Images read from the same registry
   * through this client are mounted from their own repository without being listed.
   */
  mountFrom?: string[];
  /** Upload in `PATCH` chunks of this many bytes instead of one `PUT` (default: the client's `chunkSize`). */
  chunkSize?: number;
  /**
   * Hash every blob on its way out and fail with {@link DigestMismatchError} when a source's
   * bytes do not match its descriptor (default false: sizes are always checked, and the
   * registry verifies digests itself, answering `DIGEST_INVALID`).
   */
  verify?: boolean;
}

/** PushResult: what `push` wrote. */
export interface PushResult {
  /** The reference pushed to, normalized, with the digest: `host/repo:tag@sha256:…`. */
  reference: string;
  /** Descriptor of the manifest or index pushed. */
  descriptor: Descriptor;
}

/** isImageIndex tells an {@link ImageIndex} from an {@link Image} by its members. */
export function isImageIndex(x: Image | ImageIndex): x is ImageIndex {
  return typeof (x as ImageIndex).manifests === 'function' && typeof (x as ImageIndex).imageFor === 'function';
}

/**
 * Counter passes bytes through, reporting the running count, and enforces the descriptor's size:
 * a byte more, or fewer at the end, fails with {@link DigestMismatchError} before the request
 * body could complete.
 */
class Counter extends Transform {
  #n = 0;
  constructor(
    private readonly expected: { digest: Digest; size: number },
    private readonly onBytes: (n: number) => void,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#n += chunk.byteLength;
    if (this.#n > this.expected.size) {
      cb(new DigestMismatchError({ ...this.expected }, { size: this.#n }));
      return;
    }
    this.onBytes(this.#n);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    cb(this.#n === this.expected.size ? null : new DigestMismatchError({ ...this.expected }, { size: this.#n }));
  }
}

async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let buf = Buffer.allocUnsafe(size);
  let used = 0;
  for await (const chunk of source) {
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (c.byteLength > 0) {
      const n = Math.min(size - used, c.byteLength);
      c.copy(buf, used, 0, n);
      used += n;
      c = c.subarray(n);
      if (used === size) {
        yield buf;
        buf = Buffer.allocUnsafe(size);
        used = 0;
      }
    }
  }
  if (used > 0) yield buf.subarray(0, used);
}

type Opener = (opts?: ReadOptions) => Promise<Readable>;

/**
 * Pusher pushes one image or index to one repository. Blobs are pushed once per call even when
 * several images of an index share them; each is checked with HEAD first (skipped when
 * present), then mounted from another repository of the same registry when a source is known,
 * then uploaded (monolithic `POST`+`PUT`, or chunked `PATCH`es with `Content-Range` and a final
 * `PUT`). A failed upload starts a new upload session under the retry policy.
 */
export class Pusher {
  readonly #ctx: ClientContext;
  readonly #target: Reference;
  readonly #opts: PushOptions;
  readonly #emit: ProgressCallback;
  readonly #blobs = new Map<Digest, Promise<void>>();
  readonly #chunkSize: number | undefined;

  constructor(ctx: ClientContext, target: Reference, opts: PushOptions, defaultChunkSize: number | undefined) {
    this.#ctx = ctx;
    this.#target = target;
    this.#opts = opts;
    this.#emit = emitter(opts.onProgress);
    this.#chunkSize = opts.chunkSize ?? defaultChunkSize;
    if (this.#chunkSize !== undefined && (!Number.isInteger(this.#chunkSize) || this.#chunkSize < 1)) throw new TypeError('chunkSize must be a positive integer');
    if (opts.mountFrom !== undefined && (!Array.isArray(opts.mountFrom) || !opts.mountFrom.every((r) => typeof r === 'string'))) {
      throw new TypeError('mountFrom must be an array of repository names');
    }
  }

  get #repo(): string {
    return this.#target.repository;
  }

  #scopes(extra: string[] = []): string[] {
    return [scopeFor(this.#repo, ['pull', 'push']), ...extra.filter((r) => r !== this.#repo).map((r) => scopeFor(r, ['pull']))];
  }

  /** push pushes `src` and tags it with the target's tag (or by digest). */
  async push(src: Image | ImageIndex, signal: AbortSignal | undefined): Promise<Descriptor> {
    const id = this.#target.tag ?? this.#target.digest;
    const desc = isImageIndex(src) ? await this.#pushIndex(src, id, signal) : await this.#pushImage(src, id, signal);
    if (this.#target.digest !== undefined && this.#target.digest !== desc.digest) {
      throw new RegistryError(0, 'PUT', this.#target.toString(), {
        errors: [{ code: 'DIGEST_INVALID', message: `the reference pins ${this.#target.digest} but the content is ${desc.digest}` }],
        temporary: false,
      });
    }
    return desc;
  }

  async #pushIndex(index: ImageIndex, id: string | undefined, signal: AbortSignal | undefined): Promise<Descriptor> {
    const children = await index.manifests();
    await allOrNothing(
      children.map((d) => async (s: AbortSignal) => {
        if (isIndexMediaType(d.mediaType)) {
          if (!index.index) throw new TypeError(`the index lists a nested index ${d.digest} but cannot open it`);
          await this.#pushIndex(await index.index(d), d.digest, s);
        } else {
          await this.#pushImage(await index.image(d), d.digest, s);
        }
      }),
      signal,
    );
    const raw = await index.rawManifest();
    const mediaType = await index.mediaType();
    return this.#putManifest(raw, mediaType, await index.digest(), id, signal);
  }

  async #pushImage(image: Image, id: string | undefined, signal: AbortSignal | undefined): Promise<Descriptor> {
    const manifest = await image.manifest();
    const imageOrigin = originOf(image);
    const tasks: ((s: AbortSignal) => Promise<void>)[] = [];
    const cfg = manifest.config;
    tasks.push((s) => this.#blob(cfg, 'config', async () => Readable.from([Buffer.from(await image.rawConfig())]), imageOrigin?.registry === this.#target.registry ? imageOrigin.repository : undefined, s));
    if (manifest.layers.length > 0) {
      const layers = await image.layers();
      manifest.layers.forEach((d, i) => {
        // Foreign / non-distributable layers stay where their `urls` say (as Docker does).
        if (d.urls?.length && (d.mediaType === MediaType.DockerForeignLayer || d.mediaType.includes('nondistributable'))) return;
        const layer = layers[i];
        if (!layer) throw new TypeError(`the image has ${layers.length} layers but its manifest lists ${manifest.layers.length}`);
        const origin = originOf(layer) ?? imageOrigin;
        tasks.push((s) => this.#blob(d, 'layer', (o) => layer.compressed(o), origin?.registry === this.#target.registry ? origin.repository : undefined, s));
      });
    }
    await allOrNothing(tasks, signal);
    return this.#putManifest(await image.rawManifest(), await image.mediaType(), await image.digest(), id, signal);
  }

  #blob(desc: Descriptor, kind: 'config' | 'layer', open: Opener, sameRegistryOrigin: string | undefined, signal: AbortSignal): Promise<void> {
    let p = this.#blobs.get(desc.digest);
    if (p === undefined) {
      p = this.#pushBlob(desc, kind, open, sameRegistryOrigin, signal);
      this.#blobs.set(desc.digest, p);
      p.catch(() => this.#blobs.delete(desc.digest));
    }
    return p;
  }

  async #pushBlob(desc: Descriptor, kind: 'config' | 'layer', open: Opener, sameRegistryOrigin: string | undefined, signal: AbortSignal): Promise<void> {
    const base = { digest: desc.digest, mediaType: desc.mediaType, kind, total: desc.size } as const;
    this.#emit({ ...base, state: 'waiting', current: 0 });
    await this.#ctx.limiter.run(async () => {
      const { transport } = this.#ctx;
      const mountSources = [...new Set([...(sameRegistryOrigin !== undefined ? [sameRegistryOrigin] : []), ...(this.#opts.mountFrom ?? [])])].filter((r) => r !== this.#repo);
      const scopes = this.#scopes(mountSources);
      const head = await transport.send({
        registry: this.#target.registry,
        repository: this.#repo,
        method: 'HEAD',
        path: `/v2/${this.#repo}/blobs/${desc.digest}`,
        scopes,
        expect: [200, 404],
        signal,
      });
      discard(head.body);
      if (head.status === 200) {
        this.#emit({ ...base, state: 'skipped', current: desc.size });
        return;
      }
      let location: string | undefined;
      for (const from of mountSources) {
        const q = new URLSearchParams({ mount: desc.digest, from });
        const res = await transport.send({
          registry: this.#target.registry,
          repository: this.#repo,
          method: 'POST',
          path: `/v2/${this.#repo}/blobs/uploads/?${q}`,
          headers: { 'content-length': '0' },
          scopes,
          expect: [201, 202],
          signal,
        });
        discard(res.body);
        if (res.status === 201) {
          this.#emit({ ...base, state: 'mounted', current: desc.size });
          return;
        }
        // 202: the registry declined the mount and opened an upload session instead.
        location = absolute(headerOf(res.headers, 'location'), res.url);
        break;
      }
      const backoff = new Backoff(this.#ctx.retry);
      for (;;) {
        try {
          location ??= await this.#startUpload(scopes, signal);
          await this.#upload(location, desc, open, scopes, signal, (n) => this.#emit({ ...base, state: 'uploading', current: n }));
          break;
        } catch (err) {
          if (signal.aborted) throw signal.reason ?? err;
          location = undefined; // a broken session is not reused
          const temporary = err instanceof RegistryError ? err.temporary : false;
          const delay = temporary ? backoff.next(err instanceof RegistryError ? err.retryAfterMs : undefined) : undefined;
          if (delay === undefined) throw err;
          await wait(delay, signal);
        }
      }
      this.#emit({ ...base, state: 'done', current: desc.size });
    }, signal);
  }

  async #startUpload(scopes: string[], signal: AbortSignal): Promise<string> {
    const res = await this.#ctx.transport.send({
      registry: this.#target.registry,
      repository: this.#repo,
      method: 'POST',
      path: `/v2/${this.#repo}/blobs/uploads/`,
      headers: { 'content-length': '0' },
      scopes,
      expect: [202],
      signal,
    });
    discard(res.body);
    const loc = absolute(headerOf(res.headers, 'location'), res.url);
    if (loc === undefined) {
      throw new RegistryError(202, 'POST', res.url, { errors: [{ code: 'BLOB_UPLOAD_INVALID', message: 'the registry opened an upload without a Location' }], temporary: true });
    }
    return loc;
  }

  async #upload(location: string, desc: Descriptor, open: Opener, scopes: string[], signal: AbortSignal, progress: (n: number) => void): Promise<void> {
    const { transport } = this.#ctx;
    // The registry verifies every blob against the digest it is PUT under (the spec says it
    // must), so bytes are only counted here, as skopeo does; `verify: true` hashes them too, so
    // a lying source fails with DigestMismatchError before the registry sees the last byte.
    const chunked = this.#chunkSize !== undefined && desc.size > this.#chunkSize;
    const opened = async (): Promise<Readable> => {
      const src = await open({ signal });
      const checked = this.#opts.verify && !(src instanceof DigestingStream) ? verifyStream(src, { digest: desc.digest, size: desc.size }) : src;
      // Chunked uploads report after each PATCH the registry accepted; monolithic ones as bytes leave.
      const c = new Counter({ digest: desc.digest, size: desc.size }, chunked ? () => {} : progress);
      checked.on('error', (e) => c.destroy(e));
      return checked.pipe(c);
    };
    let finalUrl = location;
    if (chunked) {
      let offset = 0;
      const src = await opened();
      for await (const chunk of rechunk(src, this.#chunkSize!)) {
        const res = await transport.send({
          registry: this.#target.registry,
          repository: this.#repo,
          method: 'PATCH',
          url: finalUrl,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.byteLength - 1}`,
            'content-length': String(chunk.byteLength),
          },
          body: chunk,
          scopes,
          expect: [202],
          signal,
          retry: false,
        });
        discard(res.body);
        offset += chunk.byteLength;
        progress(offset);
        finalUrl = absolute(headerOf(res.headers, 'location'), res.url) ?? finalUrl;
      }
      const res = await transport.send({
        registry: this.#target.registry,
        repository: this.#repo,
        method: 'PUT',
        url: withQuery(finalUrl, 'digest', desc.digest),
        headers: { 'content-length': '0' },
        scopes,
        expect: [201, 204],
        signal,
        retry: false,
      });
      checkDigestHeader(res, desc.digest);
      discard(res.body);
      return;
    }
    const res = await transport.send({
      registry: this.#target.registry,
      repository: this.#repo,
      method: 'PUT',
      url: withQuery(finalUrl, 'digest', desc.digest),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: opened,
      scopes,
      expect: [201, 204],
      signal,
      retry: false,
    });
    checkDigestHeader(res, desc.digest);
    discard(res.body);
  }

  async #putManifest(raw: Uint8Array, mediaType: string, digest: Digest, id: string | undefined, signal: AbortSignal | undefined): Promise<Descriptor> {
    const ref = id ?? digest;
    const res = await this.#ctx.transport.send({
      registry: this.#target.registry,
      repository: this.#repo,
      method: 'PUT',
      path: `/v2/${this.#repo}/manifests/${ref}`,
      headers: { 'content-type': mediaType },
      body: raw,
      scopes: this.#scopes(),
      expect: [201, 204],
      signal,
    });
    checkDigestHeader(res, digest);
    const subjectHandled = headerOf(res.headers, 'oci-subject') !== undefined;
    discard(res.body);
    const desc: Descriptor = { mediaType, digest, size: raw.byteLength };
    if (!subjectHandled) await this.#referrersFallback(raw, mediaType, desc, signal);
    return desc;
  }

  /**
   * The referrers tag schema (distribution spec 1.1): a registry without the referrers API
   * learns about a manifest with a `subject` from the index tagged `<alg>-<hex>` of the subject.
   */
  async #referrersFallback(raw: Uint8Array, mediaType: string, desc: Descriptor, signal: AbortSignal | undefined): Promise<void> {
    const parsed = parseManifest(raw, mediaType);
    const subject = parsed.kind === 'manifest' ? parsed.manifest.subject : parsed.index.subject;
    if (!subject) return;
    const tag = `${digestAlgorithm(subject.digest)}-${digestHex(subject.digest)}`;
    const { transport } = this.#ctx;
    const got = await transport.send({
      registry: this.#target.registry,
      repository: this.#repo,
      method: 'GET',
      path: `/v2/${this.#repo}/manifests/${tag}`,
      headers: { accept: MediaType.OciIndex },
      scopes: this.#scopes(),
      expect: [200, 404],
      signal,
    });
    let index: ImageIndexManifest = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
    if (got.status === 200) {
      const body = await readLimited(got.body, this.#ctx.maxManifestSize);
      try {
        const p = parseManifest(body, headerOf(got.headers, 'content-type'));
        if (p.kind === 'index') index = p.index;
      } catch {
        // an unreadable fallback index is replaced
      }
    } else {
      discard(got.body);
    }
    if (index.manifests.some((m) => m.digest === desc.digest)) return;
    const entry: Descriptor = { ...desc };
    const doc = parsed.kind === 'manifest' ? parsed.manifest : parsed.index;
    const artifactType = doc.artifactType ?? (parsed.kind === 'manifest' ? parsed.manifest.config.mediaType : undefined);
    if (artifactType !== undefined) entry.artifactType = artifactType;
    if (doc.annotations) entry.annotations = doc.annotations;
    const next = Buffer.from(JSON.stringify({ ...index, mediaType: MediaType.OciIndex, manifests: [...index.manifests, entry] }));
    const put = await transport.send({
      registry: this.#target.registry,
      repository: this.#repo,
      method: 'PUT',
      path: `/v2/${this.#repo}/manifests/${tag}`,
      headers: { 'content-type': MediaType.OciIndex },
      body: next,
      scopes: this.#scopes(),
      expect: [201, 204],
      signal,
    });
    discard(put.body);
  }
}

function absolute(location: string | undefined, base: string): string | undefined {
  if (location === undefined || location === '') return undefined;
  return new URL(location, base).href;
}

function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.append(key, value);
  return u.href;
}

function checkDigestHeader(res: { headers: Record<string, unknown>; url: string }, digest: Digest): void {
  const got = headerOf(res.headers as Record<string, string | string[] | undefined>, 'docker-content-digest');
  if (got !== undefined && got.trim() !== '' && got.trim() !== digest) {
    throw new RegistryError(201, 'PUT', res.url, { errors: [{ code: 'DIGEST_INVALID', message: `the registry stored ${got.trim()} for ${digest}` }], temporary: false });
  }
}
