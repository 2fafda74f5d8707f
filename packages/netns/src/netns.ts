import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { netnsCreate, netnsShareDir, netnsUnmount } from '@stratum/native';
import { NetnsError } from './errors.js';

/** NETNS_RUN_DIR: where named network namespaces are bind-mounted, as iproute2 does. */
export const NETNS_RUN_DIR = '/run/netns';

/** NetnsRef: a network namespace argument: a {@link Netns}, an fd of a netns file, or a path to one. */
export type NetnsRef = Netns | number | string;

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0') || Buffer.byteLength(name) > 255) {
    throw new TypeError(`invalid netns name ${JSON.stringify(name)}: must be 1-255 bytes, not "." or "..", without "/"`);
  }
  return name;
}

function errCode(e: unknown): string | undefined {
  return (e as { code?: string })?.code;
}

/**
 * Netns is one network namespace held open by this process: by an fd (always), and for a named
 * namespace also by its bind mount at /run/netns/NAME (so it outlives the process, like `ip netns
 * add`). Nothing here switches the namespace of a Node thread: operations take the namespace as
 * an argument ({@link Netlink.open} with `{ netns }`, `links.setNetns`, veth `peer.netns`).
 *
 * Disposal: a namespace this handle created ({@link Netns.create}) is deleted by
 * `[Symbol.asyncDispose]`; one it only opened ({@link Netns.open}) is just closed.
 */
export class Netns implements AsyncDisposable, Disposable {
  /** The name under /run/netns, for named namespaces. */
  readonly name: string | undefined;
  /**
   * A path that opens this namespace from any process while the handle lives: /run/netns/NAME
   * for named ones, /proc/PID/fd/N (this process's fd) for anonymous ones. Usable as
   * `nsenter --net=PATH`.
   */
  readonly path: string;
  #fd: number;
  readonly #created: boolean;
  #deleted = false;

  private constructor(fd: number, path: string, name: string | undefined, created: boolean) {
    this.#fd = fd;
    this.path = path;
    this.name = name;
    this.#created = created;
  }

  /**
   * Netns.create makes a new network namespace on a short-lived native thread (Node's threads
   * never change namespace). With a name it is bind-mounted at /run/netns/NAME exactly like `ip
   * netns add NAME` (including making /run/netns a shared mount); without one it lives as long as
   * this handle's fd (or anything else holding it: a process inside, a bind mount). The new
   * namespace has only `lo`, down. Throws {@link NetnsError} `NETNS_EXISTS` when the name is
   * taken, ErrnoError for failed syscalls. Not idempotent.
   */
  static async create(name?: string): Promise<Netns> {
    if (name === undefined) {
      const fd = netnsCreate();
      return new Netns(fd, `/proc/${process.pid}/fd/${fd}`, undefined, true);
    }
    checkName(name);
    mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
    netnsShareDir(NETNS_RUN_DIR);
    const path = join(NETNS_RUN_DIR, name);
    try {
      closeSync(openSync(path, fsc.O_RDONLY | fsc.O_CREAT | fsc.O_EXCL, 0));
    } catch (e) {
      if (errCode(e) === 'EEXIST') throw new NetnsError('NETNS_EXISTS', name, `network namespace "${name}" already exists (${path})`);
      throw e;
    }
    try {
      const fd = netnsCreate({ bindTo: path });
      return new Netns(fd, path, name, true);
    } catch (e) {
      try {
        unlinkSync(path);
      } catch {
        // leave nothing behind but the error
      }
      throw e;
    }
  }

  /**
   * Netns.open opens an existing namespace: a bare name means /run/netns/NAME (`ip netns exec
   * NAME` resolves it the same way), anything with a `/` is a path such as /proc/PID/ns/net.
   * Throws {@link NetnsError} `NETNS_NOT_FOUND` when it does not exist and `NETNS_INVALID` when
   * the file is not a namespace. Disposing the handle only closes it.
   */
  static async open(nameOrPath: string): Promise<Netns> {
    if (typeof nameOrPath !== 'string' || nameOrPath === '') throw new TypeError('Netns.open: expected a name or a path');
    const named = !nameOrPath.includes('/');
    const path = named ? join(NETNS_RUN_DIR, checkName(nameOrPath)) : nameOrPath;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      if (errCode(e) === 'ENOENT') throw new NetnsError('NETNS_NOT_FOUND', nameOrPath, `network namespace ${JSON.stringify(nameOrPath)} does not exist (${path})`);
      throw e;
    }
    // Namespace files live on nsfs: same device as our own /proc/self/ns/net.
    if (fstatSync(fd).dev !== statSync('/proc/self/ns/net').dev) {
      closeSync(fd);
      throw new NetnsError('NETNS_INVALID', nameOrPath, `${path} is not a namespace file (is the namespace still mounted there?)`);
    }
    return new Netns(fd, path, named ? nameOrPath : undefined, false);
  }

  /** Netns.list returns the names under /run/netns, sorted, like `ip netns list`. */
  static async list(): Promise<string[]> {
    try {
      return readdirSync(NETNS_RUN_DIR).sort();
    } catch (e) {
      if (errCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  /** The namespace fd (O_CLOEXEC). Throws once the handle is closed. */
  get fd(): number {
    if (this.#fd < 0) throw new NetnsError('NETNS_CLOSED', this.name ?? this.path, 'this Netns handle is closed');
    return this.#fd;
  }

  /** True once closed or deleted. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * inode identifies the namespace (the `net:[INODE]` of /proc/PID/ns/net); two handles with the
   * same inode are the same namespace. Like `ip netns identify`.
   */
  get inode(): number {
    return fstatSync(this.fd).ino;
  }

  /**
   * delete removes the namespace's name, like `ip netns delete NAME`: it lazily unmounts and
   * unlinks /run/netns/NAME and closes this handle. The kernel frees the namespace (and the
   * interfaces in it, e.g. the peer of a veth pair) once no process, fd or mount holds it any
   * more. For an anonymous namespace this is {@link Netns.close}. Idempotent.
   */
  async delete(): Promise<void> {
    if (this.#deleted) return;
    this.#deleted = true;
    if (this.name !== undefined) {
      try {
        netnsUnmount(this.path);
      } catch (e) {
        if (errCode(e) !== 'EINVAL' && errCode(e) !== 'ENOENT') throw e;
      }
      try {
        unlinkSync(this.path);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
      }
    }
    this.close();
  }

  /** close closes this handle's fd only; a named namespace stays. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }

  /** Closes the handle (never deletes): for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Deletes a namespace this handle created; closes one it opened. For `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#created) await this.delete();
    else this.close();
  }

  /** Shows name or path. */
  toString(): string {
    return `Netns(${this.name ?? this.path})`;
  }
}

/**
 * withNetnsFd runs `fn` with a numeric fd for `ref` (opening and closing a path when given one).
 * @internal
 */
export function withNetnsFd<T>(ref: NetnsRef, fn: (fd: number) => T): T {
  if (ref instanceof Netns) return fn(ref.fd);
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref) || ref < 0) throw new TypeError(`netns fd must be a non-negative integer, got ${ref}`);
    return fn(ref);
  }
  if (typeof ref !== 'string' || ref === '') throw new TypeError('netns must be a Netns, an fd or a path');
  const fd = openSync(ref.includes('/') ? ref : join(NETNS_RUN_DIR, checkName(ref)), 'r');
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}
