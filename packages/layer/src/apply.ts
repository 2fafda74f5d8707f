import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { AT, O, openat } from '@stratum/native';
import { DigestMismatchError, digestAlgorithm, parseDigest, type Digest } from '@stratum/oci';
import type { Compression } from './compression.js';
import { Extractor, type ApplyWarning } from './extract.js';
import { checkSource, openLayer, type LayerSource } from './source.js';
import { inUserNamespace } from './userns.js';
import { TarParser } from './tar/reader.js';
import type { OverlayXattrPrefix } from './whiteout.js';

/** ApplyProgress: what {@link ApplyOptions.onProgress} receives after each chunk. */
export interface ApplyProgress {
  /** Bytes read from the source (compressed). */
  sourceBytes: number;
  /** Bytes of the uncompressed tar parsed. */
  tarBytes: number;
  /** Entries applied so far. */
  entries: number;
}

/** ApplyOptions: the options of {@link applyLayer}. */
export interface ApplyOptions {
  /**
   * How whiteouts are applied. `'oci'` (default): `.wh.NAME` deletes NAME and `.wh..wh..opq`
   * empties its directory, in a flat directory (the vfs way). `'overlay'`: the target is an
   * overlay upper directory; a whiteout becomes a 0/0 character device and an opaque marker the
   * `<xattrPrefix>.overlay.opaque=y` xattr, as overlayfs reads them.
   */
  whiteouts?: 'oci' | 'overlay';
  /**
   * Unprivileged extraction (default: true unless running as uid 0 of the initial user namespace): no chown, devices skipped
   * with a warning, xattrs the kernel refuses skipped with a warning.
   */
  rootless?: boolean;
  /** Keep setuid/setgid bits of files and `security.capability` xattrs (default false: stripped). */
  keepSetuid?: boolean;
  /** Create char/block device nodes (default false: skipped with a `DEVICE_SKIPPED` warning). */
  keepDevices?: boolean;
  /** The overlay xattr namespace for `whiteouts: 'overlay'`: `'trusted'` (default as root) or `'user'` (default rootless, the `userxattr` mount option). */
  xattrPrefix?: OverlayXattrPrefix;
  /**
   * Refuse, with {@link UnsafeLayerEntryError}, names and hard link targets whose `..` climbs
   * above the root and relative symlinks pointing above it (Docker's behaviour) instead of
   * clamping them into the root (containerd's, the default). Either way nothing outside is touched.
   */
  strict?: boolean;
  /** Expected diffID (sha256 of the uncompressed tar): a mismatch rejects with DigestMismatchError after the apply. */
  diffID?: Digest | string;
  /** Resolve paths with the userspace walk even where openat2 exists (what kernels < 5.6 get). For tests. */
  forceFallback?: boolean;
  /** Aborts the apply: it rejects with the signal's reason; what was applied stays (discard the directory). */
  signal?: AbortSignal;
  /** Called after each chunk of the uncompressed tar. */
  onProgress?: (p: ApplyProgress) => void;
}

/** ApplyResult: what {@link applyLayer} did. */
export interface ApplyResult {
  /** The digest of the uncompressed tar (sha256, or the algorithm of `options.diffID`): compare it with the image config's `rootfs.diff_ids`. */
  diffID: Digest;
  /** Bytes of the uncompressed tar (including what followed the end-of-archive marker). */
  size: number;
  /** Bytes read from the source. */
  sourceSize: number;
  /** The compression found by magic bytes. */
  compression: Compression;
  /** Tar entries applied (whiteouts and skipped entries included). */
  entries: number;
  /** What was skipped on purpose (devices without keepDevices, refused xattrs …). */
  warnings: ApplyWarning[];
}

function bool(v: unknown, name: string): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  throw new TypeError(`applyLayer: options.${name} must be a boolean`);
}

/**
 * applyLayer streams a layer (a path, a `Readable` or an `AsyncIterable<Uint8Array>`; tar,
 * tar+gzip or tar+zstd detected by magic bytes) into the directory `root` (created if missing).
 * Regular files (sparse ones with their holes), directories, symlinks, hard links (to earlier
 * entries or to files already in root), fifos, devices (`keepDevices`), PAX and GNU long names,
 * xattrs, owner (not rootless), mode and nanosecond mtimes (directories' after their contents);
 * whiteouts in OCI or overlay form (`whiteouts`). Like `tar -xpf layer -C root` plus whiteouts,
 * or `umoci unpack` of one layer.
 *
 * Safe on hostile input: every path is resolved inside root (openat2 RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS, or the addon's checked userspace walk), the final component is never
 * followed, so `..`, absolute names, symlinks and hard links pointing out, whiteouts through
 * symlinks and entries replacing a symlinked parent never create, change or delete anything
 * outside root. `..` and absolute names are clamped into root as containerd does (or refused
 * with `strict`); see the README's refuse-vs-clamp table.
 *
 * Resolves with the diffID once every entry is applied and the whole source was read and
 * verified (gzip checksum included). Rejects with {@link CorruptLayerError} (byte offset) for a
 * truncated or corrupt tar/gzip/zstd, {@link UnsafeLayerEntryError} or
 * {@link InvalidLayerEntryError} naming the entry, {@link UnsupportedLayerError}, or the
 * signal's reason. A rejected apply has stopped part-way: discard the directory. Not atomic,
 * not fsynced; memory stays constant whatever the layer's size.
 */
export async function applyLayer(source: LayerSource, root: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  checkSource(source, 'applyLayer');
  if (typeof root !== 'string' || root === '') throw new TypeError('applyLayer: root must be a non-empty path');
  if (opts === null || typeof opts !== 'object') throw new TypeError('applyLayer: options must be an object');
  const whiteouts = opts.whiteouts ?? 'oci';
  if (whiteouts !== 'oci' && whiteouts !== 'overlay') throw new TypeError("applyLayer: options.whiteouts must be 'oci' or 'overlay'");
  // uid 0 inside a user namespace is not root of the host: no trusted.* xattrs, no device nodes.
  const rootless = bool(opts.rootless, 'rootless') ?? (process.geteuid?.() !== 0 || inUserNamespace());
  const prefix = opts.xattrPrefix ?? (rootless ? 'user' : 'trusted');
  if (prefix !== 'trusted' && prefix !== 'user') throw new TypeError("applyLayer: options.xattrPrefix must be 'trusted' or 'user'");
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new TypeError('applyLayer: options.onProgress must be a function');
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new TypeError('applyLayer: options.signal must be an AbortSignal');
  const expected = opts.diffID === undefined ? undefined : parseDigest(opts.diffID);
  const signal = opts.signal;
  signal?.throwIfAborted();

  const warnings: ApplyWarning[] = [];
  const dir = resolve(root);
  mkdirSync(dir, { recursive: true });
  const rootFd = openat(AT.FDCWD, dir, O.PATH | O.DIRECTORY);
  const extractor = new Extractor(rootFd, {
    whiteouts,
    rootless,
    keepSetuid: bool(opts.keepSetuid, 'keepSetuid') ?? false,
    keepDevices: bool(opts.keepDevices, 'keepDevices') ?? false,
    xattrPrefix: prefix,
    strict: bool(opts.strict, 'strict') ?? false,
    fallback: bool(opts.forceFallback, 'forceFallback') ?? false,
    warn: (w) => warnings.push(w),
  });
  const parser = new TarParser(extractor);
  const algorithm = expected === undefined ? 'sha256' : digestAlgorithm(expected);
  const hash = createHash(algorithm);
  let size = 0;
  try {
    const layer = await openLayer(source, { signal });
    for await (const chunk of layer.chunks) {
      hash.update(chunk);
      size += chunk.length;
      parser.write(chunk);
      opts.onProgress?.({ sourceBytes: layer.sourceBytes, tarBytes: size, entries: parser.entries });
    }
    parser.end();
    extractor.finish();
    const diffID = `${algorithm}:${hash.digest('hex')}` as Digest;
    if (expected !== undefined && expected !== diffID) throw new DigestMismatchError({ digest: expected }, { digest: diffID, size });
    return { diffID, size, sourceSize: layer.sourceBytes, compression: layer.compression, entries: parser.entries, warnings };
  } finally {
    extractor.close();
    rootFd.close();
  }
}
