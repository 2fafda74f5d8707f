import { StratumError } from '@stratum/oci';

/** MountMethod: how an overlay was (or was to be) mounted: see {@link OverlayMountError.method}. */
export type MountMethod = 'lowerdir+' | 'classic' | 'fuse-overlayfs';

/** OverlayMountErrorInit: the fields of an {@link OverlayMountError}. */
export interface OverlayMountErrorInit {
  target: string;
  method: MountMethod;
  /** errno name ('EINVAL', 'ENOENT', 'EPERM' …). */
  errno: string;
  /** The syscall (or program) that failed: 'fsconfig', 'fsmount', 'move_mount', 'mount', 'fuse-overlayfs' … */
  syscall: string;
  /** The option being set when it failed, as `key=value` (`lowerdir+=/l/3`), when known. */
  option?: string;
  /** The layer (index into `lower`, top first) the failing option names, when it names one. */
  layer?: number;
  /** The kernel's own explanation: the fs-context log, else the overlayfs lines of the kernel log (best effort), else fuse-overlayfs's stderr. */
  log?: string;
  cause?: unknown;
}

/**
 * OverlayMountError: mounting an overlay failed. Carries what the kernel said — `log` is the
 * fs-context log of the new mount API ("overlay: failed to resolve '/x': -2"), or, for problems
 * overlayfs only reports when the superblock is made (and for the classic mount(2) path), the
 * matching `overlayfs:` lines of the kernel log when this process may read it — plus `errno`,
 * `syscall`, the failing `option` and its `layer`. Code `OVERLAY_MOUNT_FAILED`. Nothing is left
 * mounted when it is thrown.
 */
export class OverlayMountError extends StratumError {
  readonly target: string;
  readonly method: MountMethod;
  readonly errno: string;
  readonly syscall: string;
  readonly option: string | undefined;
  readonly layer: number | undefined;
  readonly log: string | undefined;
  constructor(init: OverlayMountErrorInit) {
    const what = init.option ? ` (option ${init.option})` : '';
    super('OVERLAY_MOUNT_FAILED', `mounting an overlay on ${init.target} with ${init.method} failed: ${init.syscall}: ${init.errno}${what}${init.log ? `: ${init.log}` : ''}`, {
      cause: init.cause,
    });
    this.target = init.target;
    this.method = init.method;
    this.errno = init.errno;
    this.syscall = init.syscall;
    this.option = init.option;
    this.layer = init.layer;
    this.log = init.log;
  }
}

/** DriverName: the storage drivers — kernel `overlay`, `fuse-overlayfs`, `vfs` (full copies). */
export type DriverName = 'overlay' | 'fuse-overlayfs' | 'vfs';

/**
 * DriverUnavailableError: a storage driver cannot work on this host or for this caller; `driver`
 * names it, `reason` says why and what would make it work. Code `DRIVER_UNAVAILABLE`.
 */
export class DriverUnavailableError extends StratumError {
  readonly driver: DriverName;
  readonly reason: string;
  constructor(driver: DriverName, reason: string, options?: { cause?: unknown }) {
    super('DRIVER_UNAVAILABLE', `the ${driver} driver is not available here: ${reason}`, options);
    this.driver = driver;
    this.reason = reason;
  }
}

/** UnionPathCode: the errno-style codes a {@link UnionPathError} carries, as Node's fs uses them. */
export type UnionPathCode = 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' | 'EINVAL';

/**
 * UnionPathError: a path of a {@link UnionView} cannot be used the way asked — missing
 * (`ENOENT`, also for a whited-out name), a non-directory in the middle (`ENOTDIR`), a directory
 * read as a file (`EISDIR`), too many symlinks (`ELOOP`), readlink of a non-symlink (`EINVAL`).
 * `code` is the errno name, as Node's fs errors have it, so callers handle both alike;
 * `syscall` is the view method ('stat', 'readFile' …), `path` the path as given.
 */
export class UnionPathError extends StratumError {
  declare readonly code: UnionPathCode;
  readonly syscall: string;
  readonly path: string;
  constructor(code: UnionPathCode, syscall: string, path: string) {
    super(code, `${code}: ${MESSAGES[code]}, ${syscall} '${path}' (union view)`);
    this.syscall = syscall;
    this.path = path;
  }
}

const MESSAGES: Record<UnionPathCode, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  ELOOP: 'too many symbolic links encountered',
  EINVAL: 'invalid argument',
};

/** UnmountError: a union mount could not be taken down (`fusermount3 -u` refused); `target` is the mount point, `reason` what the tool said. Code `UNMOUNT_FAILED`. */
export class UnmountError extends StratumError {
  readonly target: string;
  readonly reason: string;
  constructor(target: string, reason: string, options?: { cause?: unknown }) {
    super('UNMOUNT_FAILED', `unmounting ${target} failed: ${reason}`, options);
    this.target = target;
    this.reason = reason;
  }
}
