import { closeSync, constants, fstatSync, openSync, rmSync } from 'node:fs';
import { Fd, MNT, MS, mount, umount2 } from '@stratum/native';
import { NS_PROC_NAME, refPath, type NamespaceKind, type NamespaceRef } from './spec.js';

/**
 * BoundNamespace is a namespace kept alive by a bind mount of its nsfs file (what `ip netns add`
 * and `unshare --net=FILE` do): it survives its processes and the Node process. `unmount()`
 * (or `await using`) detaches the mount and removes the file if it created it; idempotent.
 */
export class BoundNamespace implements AsyncDisposable {
  /** The namespace kind. */
  readonly kind: NamespaceKind;
  /** The bind-mounted file; pass it (or this object) as a namespace to join. */
  readonly path: string;
  readonly #created: boolean;
  #mounted = true;

  /** @internal */
  constructor(kind: NamespaceKind, path: string, created: boolean) {
    this.kind = kind;
    this.path = path;
    this.#created = created;
  }

  /** Unmounts (lazily, `umount -l`) and removes the file when bindMount created it. */
  unmount(): void {
    if (!this.#mounted) return;
    this.#mounted = false;
    umount2(this.path, MNT.DETACH);
    if (this.#created) rmSync(this.path, { force: true });
  }

  /** Same as {@link BoundNamespace.unmount}. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.unmount();
  }
}

/**
 * NamespaceHandle holds one namespace open by an fd on its nsfs file (/proc/PID/ns/KIND): the
 * namespace stays alive while the handle is open, even after every process in it has exited, and
 * the handle can be passed as `namespaces.KIND` to {@link spawn} to join it (through `path`,
 * `/proc/<node pid>/fd/<fd>`). Like `nsenter --net=/proc/PID/ns/net` without a process. Close it
 * (or `using`) when done; {@link NamespaceHandle.bindMount} persists it beyond this process.
 */
export class NamespaceHandle implements Disposable {
  /** The namespace kind. */
  readonly kind: NamespaceKind;
  /** The fd holding the namespace. */
  readonly fd: Fd;
  /** The namespace's inode number: two handles with equal `inode` name the same namespace (`lsns`). */
  readonly inode: number;

  /** @internal */
  constructor(kind: NamespaceKind, fd: Fd) {
    this.kind = kind;
    this.fd = fd;
    this.inode = fstatSync(fd.fd).ino;
  }

  /**
   * NamespaceHandle.open opens the `kind` namespace of a process (`{ pid }`, a Process) or at a
   * path (/run/netns/NAME, /proc/PID/ns/net).
   */
  static open(ref: NamespaceRef, kind: NamespaceKind): NamespaceHandle {
    if (NS_PROC_NAME[kind] === undefined) throw new TypeError(`NamespaceHandle.open: unknown kind ${JSON.stringify(kind)}`);
    const path = refPath(ref, kind);
    return new NamespaceHandle(kind, new Fd(openSync(path, constants.O_RDONLY)));
  }

  /** A path that opens this namespace while the handle is open: `/proc/<node pid>/fd/<fd>`. */
  get path(): string {
    if (this.fd.closed) throw new Error('NamespaceHandle: closed');
    return `/proc/${process.pid}/fd/${this.fd.fd}`;
  }

  /**
   * bindMount persists the namespace at `to` (an empty file is created if missing) with a bind
   * mount of its nsfs file, like `mount --bind /proc/PID/ns/net /run/netns/NAME`. Needs root (the
   * host's mount namespace). A mount namespace can only be bound from an older one (the kernel's
   * loop check), which a container's always is.
   */
  bindMount(to: string): BoundNamespace {
    if (typeof to !== 'string' || !to.startsWith('/')) throw new TypeError('NamespaceHandle.bindMount: to must be an absolute path');
    let created = false;
    try {
      closeSync(openSync(to, constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL, 0o444));
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      mount({ source: `/proc/self/fd/${this.fd.fd}`, target: to, flags: MS.BIND });
    } catch (e) {
      if (created) rmSync(to, { force: true });
      throw e;
    }
    return new BoundNamespace(this.kind, to, created);
  }

  /** Closes the fd; the namespace goes away when nothing else holds it. Idempotent. */
  close(): void {
    this.fd.close();
  }

  /** Same as {@link NamespaceHandle.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
