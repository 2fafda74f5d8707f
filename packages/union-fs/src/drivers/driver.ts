import type { LayerChange } from '@stratum/layer';
import type { DriverName } from '../errors.js';

/** PrepareOptions: the options of {@link Driver.prepare}. */
export interface PrepareOptions {
  /**
   * The directory that holds this root filesystem's state (created if missing): `upper/`,
   * `work/` and `merged/` for the union drivers, `base/` and `rootfs/` for vfs. Preparing the
   * same directory again (a container restarted) reuses what is there: the upper directory
   * keeps its changes, vfs keeps its copy.
   */
  dir: string;
  /** A read-only root filesystem (overlay and fuse-overlayfs mount it read-only; vfs cannot enforce it, see the README). */
  readonly?: boolean;
  /** Aborts a long prepare (the vfs copy); what was made is removed. */
  signal?: AbortSignal;
}

/**
 * Rootfs: a root filesystem a {@link Driver} prepared from layers. `path` is the directory a
 * container sees as `/`. `diff()` says what changed since prepare, in the shape
 * `createLayer` of @stratum/layer takes; `release()` (and `await using`) unmounts and keeps the
 * changes; `remove()` deletes everything prepare made.
 */
export interface Rootfs extends AsyncDisposable {
  /** The driver that made it. */
  readonly driver: DriverName;
  /** The root filesystem (the merged mount point, or the vfs copy). */
  readonly path: string;
  /** The state directory given to prepare (absolute). */
  readonly dir: string;
  /** The layers, top first, absolute. */
  readonly layers: readonly string[];
  readonly readonly: boolean;
  /**
   * diff returns the change since prepare for `createLayer`: `{ upper, xattrPrefix }` (the
   * overlay upper directory; `'user'` when mounted with userxattr) for the union drivers,
   * `{ from, to }` (the untouched copy and the live one) for vfs. Read it while nothing writes to
   * the root filesystem (a paused or stopped container), as `docker commit` does. For overlay and
   * vfs it only names directories; for fuse-overlayfs it first rebuilds `diff/`, a hard-link
   * copy of the upper directory in the kernel's form (fuse-overlayfs marks opaque directories
   * its own way).
   */
  diff(): Promise<LayerChange>;
  /** release unmounts (union drivers; nothing to do for vfs) and keeps every change on disk. Idempotent. */
  release(): Promise<void>;
  /** remove releases, then deletes what prepare made under `dir` (and `dir` when that leaves it empty). Idempotent. */
  remove(): Promise<void>;
}

/** DriverCheck: what {@link Driver.check} found: whether the driver works here, and why (or why not). */
export interface DriverCheck {
  available: boolean;
  reason: string;
}

/**
 * Driver: one way of making a root filesystem from layer directories, as Docker's storage
 * drivers are. Every driver passes the same conformance suite (test/drivers.test.ts).
 *
 * Layers are directories of unpacked layers, TOP FIRST (as overlay's lowerdir lists them; an
 * image manifest lists them bottom first: reverse it), in overlay form — what
 * `applyLayer(tar, dir, { whiteouts: 'overlay' })` of @stratum/layer makes: whiteouts are 0/0
 * character devices, opaque directories carry `trusted.overlay.opaque=y` (`user.overlay.opaque`
 * for a rootless overlay). vfs also reads OCI-form layer directories (`.wh.` names).
 */
export interface Driver {
  readonly name: DriverName;
  /**
   * check tries the driver for real in a scratch directory under `dir` (default the OS temp dir)
   * — a test mount, a copy-up, a whiteout — and says whether it works for this process and why.
   * Cached per process and directory.
   */
  check(opts?: { dir?: string }): Promise<DriverCheck>;
  /** prepare makes the root filesystem of `layers` (top first) under `opts.dir`. Throws {@link DriverUnavailableError} when the driver cannot work here. */
  prepare(layers: readonly string[], opts: PrepareOptions): Promise<Rootfs>;
}
