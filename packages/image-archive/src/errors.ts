import { StratumError, type Digest } from '@stratum/oci';

/**
 * ArchiveErrorKind: what was wrong with an archive ({@link InvalidArchiveError.kind}); stable, for
 * programs.
 * - `NOT_A_TAR`: the input is not a tar (bad header checksum, garbage) or is cut short (`TRUNCATED`).
 * - `UNSUPPORTED_COMPRESSION`: the archive is compressed with something other than gzip.
 * - `MISSING_MEMBER`: a file the archive's own metadata names is not in it.
 * - `UNEXPECTED_MEMBER`: a file that no known layout has and nothing references.
 * - `DUPLICATE_MEMBER`: two members with the same name.
 * - `NOT_A_FILE`: a referenced member is a directory, device…
 * - `INVALID_MANIFEST_JSON`: `manifest.json` / `repositories` / `index.json` / `oci-layout` is not what the format says.
 * - `INVALID_CONFIG`: an image config is not JSON or not a valid config (the cause says which field).
 * - `LAYER_COUNT_MISMATCH`: `manifest.json` lists another number of layers than the config has diffIDs.
 * - `TOO_LARGE`: a metadata file is larger than Stratum parses.
 * - `NO_IMAGES`: neither `manifest.json` nor `index.json`: not an image archive.
 */
export type ArchiveErrorKind =
  | 'NOT_A_TAR'
  | 'TRUNCATED'
  | 'UNSUPPORTED_COMPRESSION'
  | 'MISSING_MEMBER'
  | 'UNEXPECTED_MEMBER'
  | 'DUPLICATE_MEMBER'
  | 'NOT_A_FILE'
  | 'INVALID_MANIFEST_JSON'
  | 'INVALID_CONFIG'
  | 'LAYER_COUNT_MISMATCH'
  | 'TOO_LARGE'
  | 'NO_IMAGES';

/**
 * InvalidArchiveError: a `docker save` archive or an OCI image layout (tar or directory) is not
 * what its format promises. `kind` says what (stable), `path` which member (archive-relative),
 * `offset` where in the (uncompressed) tar stream when known. Nothing was tagged in the store.
 */
export class InvalidArchiveError extends StratumError {
  readonly kind: ArchiveErrorKind;
  readonly path: string | undefined;
  readonly offset: number | undefined;
  constructor(kind: ArchiveErrorKind, message: string, options: { path?: string; offset?: number; cause?: unknown } = {}) {
    super('INVALID_ARCHIVE', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.path = options.path;
    this.offset = options.offset;
  }
}

/**
 * UnsafeArchivePathReason: why a path was refused ({@link UnsafeArchivePathError.reason}).
 * `absolute`: starts with `/`; `escapes`: `..` climbs above the archive root; `symlink-escapes`:
 * a symlink or hardlink member on the way points outside the archive (or is absolute);
 * `symlink-loop`: too many links followed; `invalid`: empty, NUL byte, backslash.
 */
export type UnsafeArchivePathReason = 'absolute' | 'escapes' | 'symlink-escapes' | 'symlink-loop' | 'invalid';

/**
 * UnsafeArchivePathError: a path inside an archive — a member name, a path in `manifest.json`, a
 * link target — points outside the archive. Stratum refuses it instead of clamping it into the
 * archive root as Docker does. Nothing was tagged in the store.
 */
export class UnsafeArchivePathError extends StratumError {
  readonly path: string;
  readonly reason: UnsafeArchivePathReason;
  constructor(path: string, reason: UnsafeArchivePathReason) {
    super('UNSAFE_ARCHIVE_PATH', `unsafe path in archive ${JSON.stringify(path.slice(0, 300))}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * DiffIDMismatchError: the uncompressed bytes of layer `index` (archive member `path`) do not hash
 * to the diffID its image config lists (`expected`). Raised when the layer is loaded or streamed.
 */
export class DiffIDMismatchError extends StratumError {
  readonly path: string | undefined;
  readonly index: number;
  readonly expected: Digest;
  readonly actual: Digest;
  constructor(expected: Digest, actual: Digest, options: { path?: string; index: number }) {
    super('DIFFID_MISMATCH', `layer ${options.index}${options.path ? ` (${options.path})` : ''} has diffID ${actual}, the config says ${expected}`);
    this.path = options.path;
    this.index = options.index;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * DuplicateTagError: one tag is given to two different images (two `manifest.json` entries, two
 * `index.json` entries, or two save requests). `tag` is the normalized reference, `images` the
 * config digests (Docker image IDs) that claim it.
 */
export class DuplicateTagError extends StratumError {
  readonly tag: string;
  readonly images: Digest[];
  constructor(tag: string, images: Digest[]) {
    super('DUPLICATE_TAG', `tag ${tag} names two images: ${images.join(', ')}`);
    this.tag = tag;
    this.images = images;
  }
}
