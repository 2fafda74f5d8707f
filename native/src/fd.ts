import { closeSync } from 'node:fs';
import { ErrnoError } from './errors.js';

/**
 * Fd owns one file descriptor that the addon opened (always O_CLOEXEC). `close()` is idempotent;
 * `using fd = openat(...)` closes it at the end of the block. The number stays readable after
 * close (`fd.fd`) but every function of this package refuses a closed Fd with EBADF rather than
 * touching a number the process may have reused.
 */
export class Fd {
  #fd: number;
  #closed = false;

  /** Wraps a descriptor this process owns; the Fd closes it. */
  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`Fd: expected a non-negative integer, got ${String(fd)}`);
    this.#fd = fd;
  }

  /** The descriptor number (for APIs outside this package, e.g. `fs.readSync(fd.fd, …)`). */
  get fd(): number {
    return this.#fd;
  }

  /** True once {@link Fd.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the descriptor; a second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  /**
   * release hands the descriptor to a new owner (e.g. `net.Socket({ fd })`) and returns its
   * number: the Fd counts as closed afterwards and will not close it.
   */
  release(): number {
    if (this.#closed) throw new ErrnoError({ code: 'EBADF', errno: 9, syscall: 'release', message: 'Bad file descriptor (Fd is closed)' });
    this.#closed = true;
    return this.#fd;
  }

  /** Same as {@link Fd.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Shows the number and whether it is closed. */
  toString(): string {
    return `Fd(${this.#fd}${this.#closed ? ', closed' : ''})`;
  }
}

/** A directory (or file) descriptor argument: a plain number (including AT.FDCWD) or an {@link Fd}. */
export type FdLike = number | Fd;

const EBADF = 9;

/** fdNumber returns the descriptor behind `fd`, throwing EBADF for a closed Fd and TypeError for junk. */
export function fdNumber(fd: FdLike, syscall: string, what = 'fd'): number {
  if (fd instanceof Fd) {
    if (fd.closed) throw new ErrnoError({ code: 'EBADF', errno: EBADF, syscall, message: 'Bad file descriptor (Fd is closed)' });
    return fd.fd;
  }
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < -100 || (fd < 0 && fd !== -100)) {
    throw new TypeError(`${syscall}: ${what} must be an Fd, a non-negative integer or AT.FDCWD, got ${describe(fd)}`);
  }
  return fd;
}

/** describe renders a value for a TypeError message. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}
