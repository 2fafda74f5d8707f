import type { Readable } from 'node:stream';
import {
  MediaType,
  Reference,
  isDigest,
  isIndexMediaType,
  mediaTypeOf,
  parseDigest,
  parseManifest,
  parseReference,
  parseRepository,
  type Descriptor,
  type Digest,
  type Image,
  type ImageIndex,
  type ParsedManifest,
  type Platform,
} from '@stratum/oci';
import { scopeFor } from './auth/authenticator.js';
import { type AuthOption, toProvider } from './auth/credentials.js';
import type { ClientContext } from './context.js';
import { RegistryError } from './errors.js';
import { discard, readLimited } from './http/body.js';
import { type RetryPolicy, resolveRetryPolicy } from './http/retry.js';
import { Transport, contentLength, headerOf } from './http/transport.js';
import { Limiter } from './limiter.js';
import { type PullOptions, type PullResult, pullImage } from './pull.js';
import { type PushOptions, type PushResult, Pusher } from './push.js';
import type { RateLimit } from './rate-limit.js';
import { fetchManifest, manifestAccept, openBlob, remoteImage, remoteIndex } from './remote.js';

/** RegistryClientOptions: how a {@link RegistryClient} connects and authenticates. */
export interface RegistryClientOptions {
  /** Credentials: a provider such as {@link dockerConfigAuth}`()`, or `{ 'host:port': { username, password } }`. Default: anonymous. */
  auth?: AuthOption;
  /**
   * Registries (`host[:port]`) that may be reached over plain HTTP or with unverified TLS (as
   * Docker's `insecure-registries`): HTTPS is tried first without verification, then HTTP.
   * Every other host gets verified HTTPS only.
   */
  insecure?: string[];
  /** Extra CA certificates (PEM) trusted besides the system's, for every registry. */
  ca?: string | Buffer | (string | Buffer)[];
  /** `User-Agent` header (default `stratum-registry-client/0.1 node/<version>`). */
  userAgent?: string;
  /**
   * Proxy URL used for every request (tunnelled with CONNECT). Default: `HTTPS_PROXY` /
   * `HTTP_PROXY` / `NO_PROXY` from the environment, never for loopback hosts; `false`: none.
   */
  proxy?: string | false;
  /**
   * Read mirrors per registry, tried in order before it for pulls and reads:
   * `{ 'docker.io': ['mirror.gcr.io'] }`. Pushes always go to the registry itself.
   */
  mirrors?: Record<string, string[]>;
  /** Blob transfers at once across a client (default 4). */
  concurrency?: number;
  /** Retry policy for temporary failures (see {@link RetryPolicy}). */
  retry?: RetryPolicy;
  /** Timeouts in ms: TCP/TLS connect (default 30 s), response headers (60 s), gaps in a body (60 s). */
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  /** Push blobs in `PATCH` chunks of this many bytes (default: one monolithic `PUT` per blob). */
  chunkSize?: number;
  /** Largest manifest read (default 4 MiB, the distribution spec's floor for registries). */
  maxManifestSize?: number;
  /** Largest image config read (default 8 MiB). */
  maxConfigSize?: number;
  /** Called with every rate limit a registry reports (Docker Hub's `ratelimit-*` headers). */
  onRateLimit?: (limit: RateLimit) => void;
}

/** ManifestResult: a manifest or index as `getManifest` returns it. */
export interface ManifestResult {
  /** Descriptor of the exact bytes (media type, digest, size). */
  descriptor: Descriptor;
  /** The bytes as the registry served them (verified against `descriptor.digest`). */
  raw: Uint8Array;
  /** The parsed manifest or index (`kind` tells which). */
  parsed: ParsedManifest;
}

/** ListOptions: paging of `tags()` and `catalog()`. */
export interface ListOptions {
  /** Page size asked of the registry (`n`); every page is followed regardless. */
  pageSize?: number;
  signal?: AbortSignal;
}

/** ReferrersOptions: filter of `referrers()`. */
export interface ReferrersOptions {
  /** Only referrers of this artifact type. */
  artifactType?: string;
  signal?: AbortSignal;
}

function toRef(ref: string | Reference): Reference {
  return ref instanceof Reference ? ref : parseReference(ref);
}

function toRepo(repository: string | Reference): Reference {
  if (repository instanceof Reference) return repository;
  return parseRepository(repository);
}

const defaultUserAgent = `stratum-registry-client/0.1 node/${process.version}`;

function checkOptions(o: RegistryClientOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('RegistryClient options must be an object');
  if (o.insecure !== undefined && (!Array.isArray(o.insecure) || !o.insecure.every((h) => typeof h === 'string' && h !== '' && !h.includes('/')))) {
    throw new TypeError('insecure must be an array of host[:port] strings');
  }
  if (o.userAgent !== undefined && (typeof o.userAgent !== 'string' || /[\r\n]/.test(o.userAgent))) throw new TypeError('userAgent must be a single-line string');
  if (o.proxy !== undefined && o.proxy !== false && typeof o.proxy !== 'string') throw new TypeError('proxy must be a URL string or false');
  if (o.concurrency !== undefined && (!Number.isInteger(o.concurrency) || o.concurrency < 1)) throw new TypeError('concurrency must be an integer ≥ 1');
  if (o.chunkSize !== undefined && (!Number.isInteger(o.chunkSize) || o.chunkSize < 1)) throw new TypeError('chunkSize must be a positive integer');
  for (const k of ['maxManifestSize', 'maxConfigSize'] as const) {
    if (o[k] !== undefined && (!Number.isInteger(o[k]) || o[k]! < 1)) throw new TypeError(`${k} must be a positive integer`);
  }
  if (o.mirrors !== undefined) {
    if (typeof o.mirrors !== 'object' || o.mirrors === null) throw new TypeError('mirrors must map registries to arrays of hosts');
    for (const [k, v] of Object.entries(o.mirrors)) {
      if (!Array.isArray(v) || !v.every((h) => typeof h === 'string' && h !== '')) throw new TypeError(`mirrors[${JSON.stringify(k)}] must be an array of host[:port] strings`);
    }
  }
  if (o.onRateLimit !== undefined && typeof o.onRateLimit !== 'function') throw new TypeError('onRateLimit must be a function');
  if (o.timeouts !== undefined) {
    for (const [k, v] of Object.entries(o.timeouts)) {
      if (typeof v !== 'number' || !(v > 0)) throw new TypeError(`timeouts.${k} must be a positive number of milliseconds`);
    }
  }
}

/**
 * RegistryClient talks the OCI distribution protocol to any registry (Docker Hub, a private
 * docker-distribution, quay, Harbor, GHCR, ECR): `docker pull`/`push`, `skopeo inspect`/`copy`,
 * `crane ls/catalog/digest/delete/tag` in one object. One client keeps its connections alive
 * (undici), its tokens cached and its blob transfers bounded by `concurrency`; close it (or
 * `await using`) when done.
 *
 * @example
 * await using client = new RegistryClient({ auth: dockerConfigAuth(), insecure: ['127.0.0.1:5000'] });
 * await client.pull('127.0.0.1:5000/app:1', { store, onProgress: (e) => bar.update(e) });
 */
export class RegistryClient {
  readonly #ctx: ClientContext;
  readonly #transport: Transport;
  readonly #chunkSize: number | undefined;

  /** RegistryClient validates `options` (TypeError on anything malformed) and connects lazily. */
  constructor(options: RegistryClientOptions = {}) {
    checkOptions(options);
    const retry = resolveRetryPolicy(options.retry);
    const ca = options.ca === undefined ? undefined : (Array.isArray(options.ca) ? options.ca : [options.ca]).map((c) => (typeof c === 'string' ? c : c.toString('utf8')));
    this.#transport = new Transport({
      auth: toProvider(options.auth),
      insecure: new Set(options.insecure ?? []),
      ca,
      userAgent: options.userAgent ?? defaultUserAgent,
      proxy: options.proxy,
      retry,
      connectTimeoutMs: options.timeouts?.connectMs ?? 30_000,
      headersTimeoutMs: options.timeouts?.headersMs ?? 60_000,
      bodyTimeoutMs: options.timeouts?.bodyMs ?? 60_000,
      onRateLimit: options.onRateLimit,
    });
    const mirrors = new Map(Object.entries(options.mirrors ?? {}).map(([k, v]) => [parseRepository(`${k}/x`).registry, [...v]]));
    this.#ctx = {
      transport: this.#transport,
      retry,
      limiter: new Limiter(options.concurrency ?? 4),
      maxManifestSize: options.maxManifestSize ?? 4 * 1024 * 1024,
      maxConfigSize: options.maxConfigSize ?? 8 * 1024 * 1024,
      mirrors: (registry) => mirrors.get(registry) ?? [],
    };
    this.#chunkSize = options.chunkSize;
  }

  /**
   * getManifest fetches a manifest or index by tag or digest (`docker manifest inspect`,
   * `skopeo inspect --raw`): the exact bytes, verified against the reference's digest or the
   * registry's `Docker-Content-Digest`, and validated. Accepts the four media types (OCI
   * manifest/index, Docker v2.2 manifest/list). Throws {@link RegistryError}
   * (`MANIFEST_UNKNOWN`, `TOO_LARGE` over 4 MiB, `MANIFEST_INVALID`, `MANIFEST_UNSUPPORTED`…) or
   * {@link DigestMismatchError}.
   */
  async getManifest(ref: string | Reference, opts: { signal?: AbortSignal } = {}): Promise<ManifestResult> {
    const m = await fetchManifest(this.#ctx, toRef(ref), opts.signal);
    return { descriptor: m.descriptor, raw: m.raw, parsed: m.parsed };
  }

  /**
   * resolve finds the descriptor a tag (or digest) points at (`crane digest`): a `HEAD` first,
   * a `GET` when the registry's `HEAD` lacks the digest, type or length (the bytes are then
   * hashed). Idempotent, reads only.
   */
  async resolve(ref: string | Reference, opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
    const r = toRef(ref);
    const id = r.digest ?? r.tag!;
    for (const registry of [...this.#ctx.mirrors(r.registry), r.registry]) {
      try {
        const res = await this.#transport.send({
          registry,
          repository: r.repository,
          method: 'HEAD',
          path: `/v2/${r.repository}/manifests/${id}`,
          headers: { accept: manifestAccept },
          scopes: [scopeFor(r.repository, ['pull'])],
          expect: [200],
          signal: opts.signal,
        });
        discard(res.body);
        const digest = headerOf(res.headers, 'docker-content-digest')?.trim();
        const type = headerOf(res.headers, 'content-type');
        const size = contentLength(res.headers);
        const mediaType = type !== undefined ? mediaTypeOf(type) : undefined;
        if (digest !== undefined && isDigest(digest) && (r.digest === undefined || digest === r.digest) && size !== undefined && mediaType !== undefined && (isIndexMediaType(mediaType) || mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest)) {
          return { mediaType, digest, size };
        }
        break; // HEAD answered but incompletely: GET below
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? err;
        if (registry === r.registry) {
          // A registry that refuses HEAD (405) still answers GET.
          if (!(err instanceof RegistryError) || (err.status !== 405 && err.status !== 400)) throw err;
        }
      }
    }
    return (await fetchManifest(this.#ctx, r, opts.signal)).descriptor;
  }

  /**
   * fetchBlob streams a blob of `repository` (`host/name`, or a Reference) verified against
   * `digest` (and `size` when given): the stream errors with {@link DigestMismatchError} at the
   * end when the bytes are wrong, and never lets more than `size` bytes through. A broken
   * transfer resumes with `Range`. Redirects to storage backends are followed without
   * credentials. Nothing is buffered whole.
   */
  async fetchBlob(repository: string | Reference, digest: Digest | string, opts: { size?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const repo = toRepo(repository);
    const d = parseDigest(digest);
    if (opts.size !== undefined && (!Number.isSafeInteger(opts.size) || opts.size < 0)) throw new TypeError('size must be a non-negative integer');
    return openBlob(this.#ctx, repo.registry, repo.repository, d, opts.size, { ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /**
   * statBlob tells whether a registry repository holds a blob (`HEAD`), and its size.
   * Read-only; `undefined` when absent.
   */
  async statBlob(repository: string | Reference, digest: Digest | string, opts: { signal?: AbortSignal } = {}): Promise<{ size: number | undefined } | undefined> {
    const repo = toRepo(repository);
    const d = parseDigest(digest);
    const res = await this.#transport.send({
      registry: repo.registry,
      repository: repo.repository,
      method: 'HEAD',
      path: `/v2/${repo.repository}/blobs/${d}`,
      scopes: [scopeFor(repo.repository, ['pull'])],
      expect: [200, 404],
      signal: opts.signal,
    });
    discard(res.body);
    return res.status === 200 ? { size: contentLength(res.headers) } : undefined;
  }

  /**
   * image returns a lazy remote {@link Image} (go-containerregistry's `remote.Image`): the
   * manifest is fetched now (an index picks `platform`, default the host's), the config on
   * first use, layer bytes only when a layer is read. Pass it to any sink: `store.write`, an
   * archive, or `push` to another registry (blobs of the same registry are mounted, not copied).
   */
  async image(ref: string | Reference, opts: { platform?: Platform | string; signal?: AbortSignal } = {}): Promise<Image> {
    const r = toRef(ref);
    const m = await fetchManifest(this.#ctx, r, opts.signal);
    if (m.parsed.kind === 'index') return remoteIndex(this.#ctx, r, m, opts.signal).imageFor(opts.platform);
    return remoteImage(this.#ctx, r.registry, r.repository, m);
  }

  /**
   * index returns a lazy remote {@link ImageIndex} (a multi-platform image): child manifests are
   * fetched by digest when opened. Throws `InvalidManifestError` if `ref` is a single image.
   */
  async index(ref: string | Reference, opts: { signal?: AbortSignal } = {}): Promise<ImageIndex> {
    const r = toRef(ref);
    const m = await fetchManifest(this.#ctx, r, opts.signal);
    const index = remoteIndex(this.#ctx, r, m, opts.signal);
    await index.manifest(); // refuses a single image now rather than later
    return index;
  }

  /**
   * pull copies an image into a content store, like `docker pull`: the platform's manifest,
   * its config and layers (in parallel, present blobs skipped, broken downloads resumed — also
   * across processes through partial files in the store's `tmp/`), then records the tag. Every
   * blob is verified by the store before it becomes visible; an abort or a failure leaves no
   * partial blob visible and no tag.
   */
  async pull(ref: string | Reference, opts: PullOptions): Promise<PullResult> {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('pull options must be an object with a store');
    return pullImage(this.#ctx, toRef(ref), opts);
  }

  /**
   * push uploads any {@link Image} or {@link ImageIndex} (from a store, an archive, `mutate`,
   * or another registry) and tags it, like `docker push` / `skopeo copy`: blobs the registry
   * has are skipped (`HEAD`), blobs in another repository of the same registry are mounted,
   * the rest are uploaded (monolithic, or chunked with `chunkSize`), then the manifest (for an
   * index: every child first). Idempotent: pushing twice uploads nothing the second time.
   */
  async push(image: Image | ImageIndex, remoteRef: string | Reference, opts: PushOptions = {}): Promise<PushResult> {
    if (typeof image !== 'object' || image === null || typeof (image as Image).rawManifest !== 'function') throw new TypeError('push needs an Image or ImageIndex');
    if (typeof opts !== 'object' || opts === null) throw new TypeError('push options must be an object');
    const target = toRef(remoteRef);
    const descriptor = await new Pusher(this.#ctx, target, opts, this.#chunkSize).push(image, opts.signal);
    const pinned = new Reference({ registry: target.registry, repository: target.repository, tag: target.tag, digest: descriptor.digest });
    return { reference: pinned.toString(), descriptor };
  }

  /**
   * tags lists a repository's tags (`skopeo list-tags`, `crane ls`), following `Link`
   * pagination to the end. A repository the registry does not know throws `NAME_UNKNOWN`.
   */
  async tags(repository: string | Reference, opts: ListOptions = {}): Promise<string[]> {
    const repo = toRepo(repository);
    return this.#paged(repo.registry, repo.repository, `/v2/${repo.repository}/tags/list`, 'tags', [scopeFor(repo.repository, ['pull'])], opts);
  }

  /**
   * catalog lists the repositories of a registry (`GET /v2/_catalog`, `crane catalog`),
   * following `Link` pagination. Many public registries refuse it (`UNSUPPORTED`, `DENIED`).
   */
  async catalog(registry: string, opts: ListOptions = {}): Promise<string[]> {
    if (typeof registry !== 'string' || registry === '') throw new TypeError('registry must be a host[:port] string');
    const reg = parseRepository(`${registry}/x`).registry;
    return this.#paged(reg, undefined, '/v2/_catalog', 'repositories', ['registry:catalog:*'], opts);
  }

  async #paged(registry: string, repository: string | undefined, path: string, field: 'tags' | 'repositories', scopes: string[], opts: ListOptions): Promise<string[]> {
    if (opts.pageSize !== undefined && (!Number.isInteger(opts.pageSize) || opts.pageSize < 1)) throw new TypeError('pageSize must be a positive integer');
    const out: string[] = [];
    let next: string | undefined = opts.pageSize !== undefined ? `${path}?n=${opts.pageSize}` : path;
    const seen = new Set<string>();
    while (next !== undefined) {
      if (seen.has(next) || seen.size > 100_000) throw new RegistryError(200, 'GET', next, { errors: [{ code: 'PAGINATION_INVALID', message: 'the registry sent a Link page already read' }], temporary: false });
      seen.add(next);
      const absolute = /^https?:\/\//.test(next);
      const res = await this.#transport.send({
        registry,
        repository,
        method: 'GET',
        ...(absolute ? { url: next } : { path: next }),
        headers: { accept: 'application/json' },
        scopes,
        expect: [200],
        signal: opts.signal,
      });
      const body = await readLimited(res.body, 16 * 1024 * 1024, contentLength(res.headers));
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch (cause) {
        throw new RegistryError(200, 'GET', res.url, { errors: [{ code: 'INVALID_RESPONSE', message: `the ${field} list is not JSON` }], temporary: false, cause });
      }
      const list = doc[field];
      if (list !== null && list !== undefined && (!Array.isArray(list) || !list.every((t) => typeof t === 'string'))) {
        throw new RegistryError(200, 'GET', res.url, { errors: [{ code: 'INVALID_RESPONSE', message: `${field} must be an array of strings` }], temporary: false });
      }
      out.push(...((list as string[] | null | undefined) ?? []));
      next = nextLink(headerOf(res.headers, 'link'), res.url);
    }
    return out;
  }

  /**
   * referrers lists the manifests whose `subject` is `ref` (signatures, SBOMs, attestations):
   * the distribution spec 1.1 referrers API, or — on registries without it, like
   * distribution 2.8 — the tag schema fallback (the index tagged `sha256-<hex>`). A tag is
   * resolved to its digest first. Filtered by `artifactType` when asked.
   */
  async referrers(ref: string | Reference, opts: ReferrersOptions = {}): Promise<Descriptor[]> {
    const r = toRef(ref);
    const digest = r.digest ?? (await this.resolve(r, opts)).digest;
    const q = opts.artifactType !== undefined ? `?artifactType=${encodeURIComponent(opts.artifactType)}` : '';
    const res = await this.#transport.send({
      registry: r.registry,
      repository: r.repository,
      method: 'GET',
      path: `/v2/${r.repository}/referrers/${digest}${q}`,
      headers: { accept: MediaType.OciIndex },
      scopes: [scopeFor(r.repository, ['pull'])],
      expect: [200, 404],
      signal: opts.signal,
    });
    let manifests: Descriptor[];
    let filtered = false;
    const type = headerOf(res.headers, 'content-type');
    if (res.status === 200 && type !== undefined && mediaTypeOf(type) === MediaType.OciIndex) {
      const body = await readLimited(res.body, this.#ctx.maxManifestSize, contentLength(res.headers));
      const p = parseManifest(body, MediaType.OciIndex);
      manifests = p.kind === 'index' ? p.index.manifests : [];
      filtered = (headerOf(res.headers, 'oci-filters-applied') ?? '').split(',').map((s) => s.trim()).includes('artifactType');
    } else {
      discard(res.body);
      const tag = `${digest.slice(0, digest.indexOf(':'))}-${digest.slice(digest.indexOf(':') + 1)}`;
      try {
        const m = await fetchManifest(this.#ctx, new Reference({ registry: r.registry, repository: r.repository, tag }), opts.signal);
        manifests = m.parsed.kind === 'index' ? m.parsed.index.manifests : [];
      } catch (err) {
        if (err instanceof RegistryError && err.status === 404) return [];
        throw err;
      }
    }
    return opts.artifactType !== undefined && !filtered ? manifests.filter((d) => d.artifactType === opts.artifactType) : manifests;
  }

  /**
   * delete removes a manifest (`skopeo delete`, `crane delete`). A tag is resolved to its
   * digest and the manifest deleted by digest (distribution 2.8 deletes by digest only), which
   * removes every tag pointing at it. Needs `storage.delete.enabled` on distribution.
   */
  async delete(ref: string | Reference, opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
    const r = toRef(ref);
    const desc = r.digest !== undefined ? { mediaType: '', digest: r.digest, size: 0 } : await this.resolve(r, opts);
    const res = await this.#transport.send({
      registry: r.registry,
      repository: r.repository,
      method: 'DELETE',
      path: `/v2/${r.repository}/manifests/${desc.digest}`,
      scopes: [scopeFor(r.repository, ['delete', 'pull', 'push'])],
      expect: [202, 200, 204],
      signal: opts.signal,
    });
    discard(res.body);
    return desc;
  }

  /**
   * deleteBlob removes a blob from a repository (`DELETE /v2/<name>/blobs/<digest>`); the
   * registry may refuse (`UNSUPPORTED`) when deletes are disabled.
   */
  async deleteBlob(repository: string | Reference, digest: Digest | string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const repo = toRepo(repository);
    const d = parseDigest(digest);
    const res = await this.#transport.send({
      registry: repo.registry,
      repository: repo.repository,
      method: 'DELETE',
      path: `/v2/${repo.repository}/blobs/${d}`,
      scopes: [scopeFor(repo.repository, ['delete', 'pull', 'push'])],
      expect: [202, 200, 204],
      signal: opts.signal,
    });
    discard(res.body);
  }

  /**
   * tag points another tag of the same repository at what `ref` names (`crane tag`,
   * `docker tag` + push without re-uploading): the manifest bytes are fetched and put under
   * the new tag unchanged, so the digest stays the same. Idempotent.
   */
  async tag(ref: string | Reference, newTag: string, opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
    const r = toRef(ref);
    const target = new Reference({ registry: r.registry, repository: r.repository, tag: newTag });
    const m = await fetchManifest(this.#ctx, r, opts.signal);
    const res = await this.#transport.send({
      registry: r.registry,
      repository: r.repository,
      method: 'PUT',
      path: `/v2/${r.repository}/manifests/${target.tag}`,
      headers: { 'content-type': m.descriptor.mediaType },
      body: m.raw,
      scopes: [scopeFor(r.repository, ['pull', 'push'])],
      expect: [201, 204],
      signal: opts.signal,
    });
    discard(res.body);
    return m.descriptor;
  }

  /** rateLimit returns the last rate limit `registry` reported (Docker Hub: pulls left), if any. */
  rateLimit(registry: string): RateLimit | undefined {
    return this.#transport.rateLimit(registry);
  }

  /** close ends the client's keep-alive connections; later calls fail. Idempotent. */
  close(): Promise<void> {
    return this.#transport.close();
  }

  /** The client closes with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** nextLink reads RFC 5988 `Link: <url>; rel="next"`, resolved against the page's URL. */
export function nextLink(link: string | undefined, base: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (!m) continue;
    if (/(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(m[2]!)) {
      const u = new URL(m[1]!, base);
      const b = new URL(base);
      // Same origin: keep it a path so the registry's auth applies; elsewhere is refused.
      if (u.origin !== b.origin) return undefined;
      return u.pathname + u.search;
    }
  }
  return undefined;
}

