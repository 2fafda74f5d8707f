import { type Digest, parseDigest } from './digest.js';
import { InvalidDigestError, InvalidReferenceError, type ReferenceErrorKind } from './errors.js';

/** dockerHubRegistry is the registry Docker Hub references normalize to: `docker.io`. */
export const dockerHubRegistry = 'docker.io';
/** dockerHubHost is the host Docker Hub's registry API is served from (what `docker.io` means on the wire). */
export const dockerHubHost = 'registry-1.docker.io';
/** Docker Hub's legacy name, normalized to {@link dockerHubRegistry}. */
const legacyDockerHub = 'index.docker.io';
/** The namespace of Docker Hub's official images (`nginx` is `library/nginx`). */
const officialPrefix = 'library/';
/** defaultTag is the tag added to a name that has neither tag nor digest: `latest`. */
export const defaultTag = 'latest';
/** maxNameLength is the longest full name (`registry/repository`) Docker accepts: 255. */
export const maxNameLength = 255;
const maxTagLength = 128;

/** ParseOptions are the options of {@link parseReference}. */
export interface ParseOptions {
  /**
   * Add the `latest` tag to a reference that has neither tag nor digest (default `true`, as
   * `docker pull nginx` does). A digest-only reference never gets a default tag.
   */
  defaultTag?: boolean;
}

/** ReferenceParts are the parts of a {@link Reference}, as its constructor takes them. */
export interface ReferenceParts {
  /** Domain, with optional port: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  registry: string;
  /** Path inside the registry: `library/nginx`. */
  repository: string;
  tag?: string | undefined;
  digest?: Digest | string | undefined;
}

/**
 * Reference is a parsed, validated and normalized image reference. It is immutable: `withTag`,
 * `withDigest` and friends return new references. `toString()` is the full normalized form
 * (`docker.io/library/nginx:latest`), `familiar` the short one Docker prints (`nginx:latest`).
 */
export class Reference {
  /** Registry domain with optional port; `docker.io` for Docker Hub (never `index.docker.io`). */
  readonly registry: string;
  /** Repository path inside the registry, lowercase: `library/nginx`, `coreos/flannel`. */
  readonly repository: string;
  /** Tag, if the reference has one. */
  readonly tag: string | undefined;
  /** Digest, if the reference pins one. */
  readonly digest: Digest | undefined;

  /**
   * Reference builds a reference from parts, validating each against the grammar of
   * {@link parseReference} and normalizing Docker Hub (`index.docker.io` → `docker.io`,
   * `docker.io` + `nginx` → `library/nginx`). Throws {@link InvalidReferenceError}.
   */
  constructor(parts: ReferenceParts) {
    let registry = parts.registry;
    let repository = parts.repository;
    const input = `${registry}/${repository}${parts.tag !== undefined ? `:${parts.tag}` : ''}${parts.digest !== undefined ? `@${parts.digest}` : ''}`;
    if (typeof registry !== 'string' || typeof repository !== 'string') throw new InvalidReferenceError(String(input), 'registry and repository must be strings', 'NOT_A_STRING');
    if (registry === legacyDockerHub) registry = dockerHubRegistry;
    if (registry === dockerHubRegistry && !repository.includes('/')) repository = officialPrefix + repository;
    const domainProblem = checkDomain(registry);
    if (domainProblem !== undefined) throw new InvalidReferenceError(input, domainProblem, 'DOMAIN_INVALID');
    if (!looksLikeDomain(registry)) {
      // Printed, `registry/repository` would parse back as a Docker Hub namespace.
      throw new InvalidReferenceError(input, `registry ${JSON.stringify(registry)} would read as a Docker Hub namespace (a domain has ".", ":", is "localhost" or has an uppercase letter)`, 'DOMAIN_INVALID');
    }
    checkPath(input, repository);
    if (registry.length + 1 + repository.length > maxNameLength) {
      throw new InvalidReferenceError(input, `repository name must not be longer than ${maxNameLength} characters`, 'NAME_TOO_LONG');
    }
    if (parts.tag !== undefined) checkTag(input, parts.tag);
    this.registry = registry;
    this.repository = repository;
    this.tag = parts.tag;
    this.digest = parts.digest === undefined ? undefined : checkDigest(input, parts.digest);
    Object.freeze(this);
  }

  /** The full repository name: `docker.io/library/nginx`. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /**
   * The short repository name Docker prints: `nginx`, `jwilder/nginx-proxy`,
   * `quay.io/coreos/flannel`. Unlike Docker, a Docker Hub path whose first part would read as a
   * domain (`docker.io/a.b/c`) keeps its `docker.io/`, so the familiar form always parses back
   * to the same reference.
   */
  get familiarName(): string {
    if (this.registry !== dockerHubRegistry) return this.name;
    const rest = this.repository.slice(officialPrefix.length);
    if (this.repository.startsWith(officialPrefix) && !rest.includes('/')) return rest;
    const slash = this.repository.indexOf('/');
    return slash >= 0 && looksLikeDomain(this.repository.slice(0, slash)) ? this.name : this.repository;
  }

  /** The short form Docker prints: `nginx:latest`, `localhost:5000/a/b:tag`, `alpine@sha256:…`. */
  get familiar(): string {
    return this.familiarName + this.#suffix();
  }

  /** What a registry's `/v2/<name>/manifests/<identifier>` takes: the digest if pinned, else the tag. */
  get identifier(): string | undefined {
    return this.digest ?? this.tag;
  }

  /** Whether the registry is Docker Hub. */
  get isDockerHub(): boolean {
    return this.registry === dockerHubRegistry;
  }

  /** The host[:port] to contact: `registry-1.docker.io` for Docker Hub, else `registry`. */
  get host(): string {
    return this.registry === dockerHubRegistry ? dockerHubHost : this.registry;
  }

  /**
   * scope is the token scope for this repository (distribution's auth spec):
   * `repository:library/nginx:pull` by default, `…:pull,push` with both actions.
   */
  scope(actions: ReadonlyArray<'pull' | 'push' | 'delete' | (string & {})> = ['pull']): string {
    return `repository:${this.repository}:${actions.join(',')}`;
  }

  /** context is the repository alone (no tag, no digest), like go-containerregistry's `Context()`. */
  context(): Reference {
    return new Reference({ registry: this.registry, repository: this.repository });
  }

  /** withTag returns this reference with `tag` (a digest, if any, is kept: `name:tag@digest`). */
  withTag(tag: string): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, tag, digest: this.digest });
  }

  /** withDigest returns this reference pinned to `digest` (a tag, if any, is kept). */
  withDigest(digest: Digest | string): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, tag: this.tag, digest });
  }

  /** withoutTag returns this reference without its tag. */
  withoutTag(): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, digest: this.digest });
  }

  /** withoutDigest returns this reference without its digest. */
  withoutDigest(): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, tag: this.tag });
  }

  /** equals compares the full normalized forms. */
  equals(other: Reference | string): boolean {
    const o = typeof other === 'string' ? tryParse(other) : other;
    return o !== undefined && o.toString() === this.toString();
  }

  /** The full normalized form: `docker.io/library/nginx:latest`, `host:5000/a@sha256:…`. */
  toString(): string {
    return this.name + this.#suffix();
  }

  /** JSON form: the full normalized string. */
  toJSON(): string {
    return this.toString();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Reference(${this.toString()})`;
  }

  #suffix(): string {
    return (this.tag !== undefined ? `:${this.tag}` : '') + (this.digest !== undefined ? `@${this.digest}` : '');
  }
}

/**
 * parseReference parses an image reference the way `docker pull` does (distribution/reference's
 * `ParseNormalizedNamed` + `TagNameOnly`) and returns it normalized. Pure; throws only
 * {@link InvalidReferenceError} (with `kind` and `reason`). A {@link Reference} passes through
 * unchanged.
 *
 * Grammar (the input, before normalization):
 * ```
 * reference        := name [ ":" tag ] [ "@" digest ]
 * name             := [ domain "/" ] path
 * domain           := host [ ":" port ]
 * host             := domain-name | "[" ipv6 "]"
 * domain-name      := domain-component ( "." domain-component )*
 * domain-component := /[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]/
 * ipv6             := /[a-fA-F0-9:]+/
 * port             := /[0-9]+/
 * path             := path-component ( "/" path-component )*
 * path-component   := alpha-numeric ( separator alpha-numeric )*
 * alpha-numeric    := /[a-z0-9]+/
 * separator        := /[_.]|__|[-]+/
 * tag              := /[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}/
 * digest           := "sha256:" /[a-f0-9]{64}/ | "sha512:" /[a-f0-9]{128}/
 * ```
 * Normalization:
 * - The first `/`-separated part is a domain only if it contains `.` or `:`, is `localhost`, or
 *   has an uppercase letter; otherwise the name is on Docker Hub (`docker.io`).
 *   `jwilder/nginx-proxy` → `docker.io/jwilder/nginx-proxy`; `localhost/foo` → domain `localhost`.
 * - `index.docker.io` → `docker.io`; a one-part Docker Hub path gets `library/`:
 *   `nginx` and `docker.io/nginx` → `docker.io/library/nginx`.
 * - Without tag and digest the tag `latest` is added (unless `defaultTag: false`); a digest-only
 *   reference gets no tag; `name:tag@digest` keeps both.
 * - The full name (`domain/path`, after normalization) is at most 255 characters; the path must be
 *   lowercase; a 64-hex string alone is refused (it is an image ID, not a name).
 *
 * CLI equivalent: the image argument of `docker pull`, `skopeo copy docker://…`.
 */
export function parseReference(input: string | Reference, options: ParseOptions = {}): Reference {
  if (input instanceof Reference) return input;
  if (typeof input !== 'string') throw new InvalidReferenceError(String(input), 'not a string', 'NOT_A_STRING');
  if (input === '') throw new InvalidReferenceError(input, 'repository name must have at least one component', 'NAME_EMPTY');
  if (/^[a-f0-9]{64}$/.test(input)) {
    throw new InvalidReferenceError(input, 'repository name cannot be a 64-character hexadecimal string (an image ID)', 'NAME_IS_IDENTIFIER');
  }

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = checkDigest(input, rest.slice(at + 1));
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    checkTag(input, tag);
    rest = rest.slice(0, colon);
  }
  if (rest === '') throw new InvalidReferenceError(input, 'repository name must have at least one component', 'NAME_EMPTY');

  const { registry, repository, byUppercase } = splitDomain(rest);
  const domainProblem = checkDomain(registry);
  if (domainProblem !== undefined) {
    // `Foo/bar` is read as domain "Foo" (Docker does so too); when that domain is not even valid,
    // the user most likely meant a path with an uppercase letter.
    if (byUppercase) throw new InvalidReferenceError(input, 'repository name must be lowercase', 'NAME_UPPERCASE');
    throw new InvalidReferenceError(input, domainProblem, 'DOMAIN_INVALID');
  }
  checkPath(input, repository);
  if (registry.length + 1 + repository.length > maxNameLength) {
    throw new InvalidReferenceError(input, `repository name must not be longer than ${maxNameLength} characters`, 'NAME_TOO_LONG');
  }
  if (tag === undefined && digest === undefined && (options.defaultTag ?? true)) tag = defaultTag;
  return new Reference({ registry, repository, tag, digest });
}

/**
 * parseRepository parses a repository name alone (no tag, no digest), normalized as
 * {@link parseReference} does: `nginx` → `docker.io/library/nginx`. Throws
 * {@link InvalidReferenceError} (kind `TAG_OR_DIGEST_NOT_ALLOWED` if a tag or digest is given).
 */
export function parseRepository(input: string): Reference {
  const ref = parseReference(input, { defaultTag: false });
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new InvalidReferenceError(input, 'a repository name takes no tag or digest', 'TAG_OR_DIGEST_NOT_ALLOWED');
  }
  return ref;
}

/** normalizeName returns the full normalized repository name: `nginx` → `docker.io/library/nginx`. Throws like {@link parseRepository}. */
export function normalizeName(input: string): string {
  return parseRepository(input).name;
}

/** isReference tells whether `s` parses as a reference, without throwing. */
export function isReference(s: unknown): s is string {
  return typeof s === 'string' && tryParse(s) !== undefined;
}

function tryParse(s: string): Reference | undefined {
  try {
    return parseReference(s);
  } catch (err) {
    if (err instanceof InvalidReferenceError) return undefined;
    throw err;
  }
}

/** Docker's domain split (distribution/reference's `splitDockerDomain`). */
function splitDomain(name: string): { registry: string; repository: string; byUppercase: boolean } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  let registry: string;
  let repository: string;
  let byUppercase = false;
  if (slash < 0 || !looksLikeDomain(first)) {
    registry = dockerHubRegistry;
    repository = name;
  } else {
    byUppercase = !/[.:]/.test(first) && first !== 'localhost';
    registry = first;
    repository = name.slice(slash + 1);
  }
  if (registry === legacyDockerHub) registry = dockerHubRegistry;
  if (registry === dockerHubRegistry && !repository.includes('/')) repository = officialPrefix + repository;
  return { registry, repository, byUppercase };
}

/** Whether Docker reads the first part of a name as a domain rather than a Docker Hub namespace. */
function looksLikeDomain(first: string): boolean {
  return /[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first;
}

/** checkDomain returns why `d` is not `host[:port]`, or undefined when it is. */
function checkDomain(d: string): string | undefined {
  if (d === '') return 'empty domain';
  let port: string | undefined;
  if (d.startsWith('[')) {
    const close = d.indexOf(']');
    if (close < 0) return `unclosed "[" in domain ${JSON.stringify(d)}`;
    if (!/^[0-9a-fA-F:]+$/.test(d.slice(1, close))) return `invalid IPv6 address in domain ${JSON.stringify(d)}`;
    const after = d.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return `unexpected characters after "]" in domain ${JSON.stringify(d)}`;
      port = after.slice(1);
    }
  } else {
    const colon = d.indexOf(':');
    const host = colon < 0 ? d : d.slice(0, colon);
    if (colon >= 0) port = d.slice(colon + 1);
    for (const part of host.split('.')) {
      if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(part)) {
        return `invalid domain component ${JSON.stringify(part)} in ${JSON.stringify(d)} (letters, digits and inner "-" only)`;
      }
    }
  }
  if (port !== undefined && !/^[0-9]+$/.test(port)) return `invalid port ${JSON.stringify(port)} in domain ${JSON.stringify(d)}`;
  return undefined;
}

const separatorChars = new Set(['.', '_', '-']);

/** checkPath throws unless `path` is `component ( "/" component )*` with lowercase components. */
function checkPath(input: string, path: string): void {
  const fail = (reason: string, kind: ReferenceErrorKind = 'PATH_INVALID'): never => {
    throw new InvalidReferenceError(input, reason, kind);
  };
  if (/[A-Z]/.test(path)) fail('repository name must be lowercase', 'NAME_UPPERCASE');
  if (path === '') fail('empty repository path');
  for (const c of path.split('/')) {
    if (c === '') fail(path.startsWith('/') || path.endsWith('/') ? 'repository path must not start or end with "/"' : 'empty path component ("//")');
    const bad = /[^a-z0-9._-]/.exec(c);
    if (bad) fail(`invalid character ${JSON.stringify(bad[0])} in path component ${JSON.stringify(c)}`);
    if (separatorChars.has(c[0]!)) fail(`path component ${JSON.stringify(c)} starts with a separator`);
    if (separatorChars.has(c[c.length - 1]!)) fail(`path component ${JSON.stringify(c)} ends with a separator`);
    for (const run of c.match(/[._-]+/g) ?? []) {
      if (run !== '.' && run !== '_' && run !== '__' && !/^-+$/.test(run)) {
        fail(`invalid separator ${JSON.stringify(run)} in path component ${JSON.stringify(c)} (one of ".", "_", "__" or a run of "-")`);
      }
    }
  }
}

function checkTag(input: string, tag: string): void {
  if (typeof tag !== 'string') throw new InvalidReferenceError(input, 'tag must be a string', 'TAG_INVALID');
  if (tag === '') throw new InvalidReferenceError(input, 'empty tag', 'TAG_EMPTY');
  if (tag.length > maxTagLength) throw new InvalidReferenceError(input, `tag must not be longer than ${maxTagLength} characters`, 'TAG_INVALID');
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(tag)) {
    throw new InvalidReferenceError(input, `invalid tag ${JSON.stringify(tag)} (letters, digits, "_", "." and "-", not starting with "." or "-")`, 'TAG_INVALID');
  }
}

function checkDigest(input: string, digest: string): Digest {
  if (digest === '') throw new InvalidReferenceError(input, 'empty digest after "@"', 'DIGEST_INVALID');
  try {
    return parseDigest(digest);
  } catch (err) {
    if (err instanceof InvalidDigestError) throw new InvalidReferenceError(input, `invalid digest: ${err.reason}`, 'DIGEST_INVALID');
    throw err;
  }
}
