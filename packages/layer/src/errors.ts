import { StratumError } from '@stratum/oci';

/** UnsafeReason: why {@link UnsafeLayerEntryError} refused an entry (stable, for programs). */
export type UnsafeReason =
  /** A name or link name holds a NUL byte (C would cut it short, naming something else). */
  | 'NUL_IN_NAME'
  /** A whiteout whose target is `.`, `..` or empty (`.wh..`, `.wh...`): it would delete a parent or the directory itself. */
  | 'WHITEOUT_TARGET'
  /** `strict` mode: a name or hard link target climbs above the root with `..` (Docker's "breakout" check; containerd clamps). */
  | 'PATH_ESCAPE'
  /** `strict` mode: a symlink whose target, read relative to its directory, climbs above the root (Docker refuses these). */
  | 'SYMLINK_ESCAPE';

/**
 * UnsafeLayerEntryError: {@link applyLayer} refused a tar entry that could only be applied by
 * touching something it must not (see the README's Caveats for what is refused and what is
 * clamped into the root as containerd does). `entry` is the entry's name as the tar gave it,
 * `offset` the byte offset of its header in the uncompressed tar. Nothing outside the root was
 * changed; entries before this one were applied (discard the directory).
 */
export class UnsafeLayerEntryError extends StratumError {
  readonly entry: string;
  readonly reason: UnsafeReason;
  readonly offset: number;
  constructor(entry: string, reason: UnsafeReason, offset: number, detail: string) {
    super('UNSAFE_LAYER_ENTRY', `unsafe layer entry ${JSON.stringify(entry)} at tar offset ${offset}: ${detail}`);
    this.entry = entry;
    this.reason = reason;
    this.offset = offset;
  }
}

/** CorruptFormat: which stream a {@link CorruptLayerError} offset counts bytes of. */
export type CorruptFormat = 'tar' | 'gzip' | 'zstd';

/**
 * CorruptLayerError: the layer's bytes are not a valid (compressed) tar: a bad header checksum,
 * a truncated entry, a missing end-of-archive marker, a broken gzip/zstd stream. `offset` is
 * where the problem was found, in bytes of the uncompressed tar (`format: 'tar'`) or of the
 * compressed input (`'gzip'`/`'zstd'`: how much the decompressor had consumed). An apply that
 * throws it has not finished: discard the directory.
 */
export class CorruptLayerError extends StratumError {
  readonly format: CorruptFormat;
  readonly offset: number;
  readonly reason: string;
  constructor(format: CorruptFormat, offset: number, reason: string, options?: { cause?: unknown }) {
    super('CORRUPT_LAYER', `corrupt layer (${format} at byte ${offset}): ${reason}`, options);
    this.format = format;
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * InvalidLayerEntryError: a well-formed tar entry that cannot be applied: a hard link to a
 * missing file or to a directory, a parent that is not a directory, an entry type this package
 * does not handle. `entry` is the entry's name as the tar gave it, `offset` its header's offset.
 */
export class InvalidLayerEntryError extends StratumError {
  readonly entry: string;
  readonly offset: number;
  readonly reason: string;
  constructor(entry: string, offset: number, reason: string, options?: { cause?: unknown }) {
    super('INVALID_LAYER_ENTRY', `cannot apply layer entry ${JSON.stringify(entry)} at tar offset ${offset}: ${reason}`, options);
    this.entry = entry;
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * UnsupportedLayerError: the layer uses a compression this package does not read (bzip2, xz),
 * or zstd when neither node:zlib nor a `zstd` executable can do it here; or the tree to diff
 * uses overlay features a tar layer cannot express (redirect_dir, metacopy).
 */
export class UnsupportedLayerError extends StratumError {
  readonly feature: string;
  constructor(feature: string, message: string) {
    super('UNSUPPORTED_LAYER', message);
    this.feature = feature;
  }
}
