import { readFileSync } from 'node:fs';
import { AT, MNT, fstatat, umount2, type ErrnoError } from '@stratum/native';
import { UnmountError, type MountMethod } from './errors.js';
import { run } from './exec.js';

/** What a {@link Mount} needs to know to take itself down. */
export interface MountInit {
  target: string;
  method: MountMethod;
  lower: readonly string[];
  upper: string | undefined;
  work: string | undefined;
  readonly: boolean;
  userxattr: boolean;
}

/** The mount id of whatever is mounted at `path` now, or undefined when it cannot be told. */
export function mountIdAt(path: string): number | undefined {
  try {
    return fstatat(AT.FDCWD, path, AT.SYMLINK_NOFOLLOW).mntId;
  } catch {
    return undefined;
  }
}

function mountIdListed(id: number): boolean {
  const prefix = `${id} `;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.startsWith(prefix));
}

/**
 * Mount is a mounted union filesystem (kernel overlay or fuse-overlayfs) owned by this handle:
 * `await using m = await mountOverlay(...)` unmounts it at the end of the block. `unmount()` is
 * idempotent and only ever takes down this mount: when it is already gone it does nothing, and
 * when another mount is stacked on top of it at `target` it throws {@link UnmountError} rather
 * than take that one down. Like `umount TARGET`; a busy mount is detached lazily (`umount -l`).
 */
export class Mount implements AsyncDisposable {
  /** Where the union is mounted (absolute). */
  readonly target: string;
  /** How it was mounted: `lowerdir+` (new mount API), `classic` (mount(2) with short links) or `fuse-overlayfs`. */
  readonly method: MountMethod;
  /** The lower layer directories, top first, absolute. */
  readonly lower: readonly string[];
  /** The writable upper directory, or undefined for a lower-only (read-only) overlay. */
  readonly upper: string | undefined;
  readonly work: string | undefined;
  /** True when mounted read-only. */
  readonly readonly: boolean;
  /** True when mounted with `userxattr` (overlay metadata in `user.overlay.*`, rootless). */
  readonly userxattr: boolean;
  /** The kernel's mount id (statx STATX_MNT_ID), how this handle recognises its own mount. */
  readonly mountId: number | undefined;
  #mounted = true;

  /** @internal Made by mountOverlay and the drivers, not by callers. */
  constructor(init: MountInit) {
    this.target = init.target;
    this.method = init.method;
    this.lower = Object.freeze([...init.lower]);
    this.upper = init.upper;
    this.work = init.work;
    this.readonly = init.readonly;
    this.userxattr = init.userxattr;
    this.mountId = mountIdAt(init.target);
  }

  /** True until {@link Mount.unmount} has run (it does not notice an unmount done behind its back). */
  get mounted(): boolean {
    return this.#mounted;
  }

  /**
   * unmount takes the mount down (umount2; on EBUSY, a lazy detach). Idempotent. With
   * `{ lazy: true }` it detaches at once (`umount -l`): gone from the tree now, freed when unused.
   * A FUSE mount of an unprivileged caller is unmounted with `fusermount3 -u`.
   */
  async unmount(opts: { lazy?: boolean } = {}): Promise<void> {
    if (!this.#mounted) return;
    const now = mountIdAt(this.target);
    if (this.mountId !== undefined && now !== this.mountId) {
      // Not ours on top: either ours is gone already, or another mount hides it.
      if (!mountIdListed(this.mountId)) {
        this.#mounted = false;
        return;
      }
      throw new UnmountError(this.target, `another mount is stacked on top of this overlay at ${this.target}: unmount that one first`);
    }
    if (this.method === 'fuse-overlayfs' && process.getuid?.() !== 0) {
      await fusermount(this.target, opts.lazy === true);
    } else {
      try {
        umount2(this.target, opts.lazy ? MNT.DETACH : 0);
      } catch (e) {
        const code = (e as ErrnoError).code;
        if (code === 'EBUSY') umount2(this.target, MNT.DETACH);
        else if (code !== 'EINVAL' && code !== 'ENOENT') throw e;
      }
    }
    this.#mounted = false;
  }

  /** Same as {@link Mount.unmount}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.unmount();
  }
}

async function fusermount(target: string, lazy: boolean): Promise<void> {
  let last: unknown;
  for (const bin of ['fusermount3', 'fusermount']) {
    let r;
    try {
      r = await run([bin, '-u', ...(lazy ? ['-z'] : []), target]);
    } catch (e) {
      last = e;
      continue; // not installed: try the other name
    }
    if (r.code === 0) return;
    throw new UnmountError(target, `${bin} -u: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  throw new UnmountError(target, 'neither fusermount3 nor fusermount could be run', { cause: last });
}
