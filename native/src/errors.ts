/**
 * ErrnoError is what every failing syscall of the addon throws: the same fields as Node's
 * SystemError (`code` such as 'EPERM', `errno`, `syscall`, `path`, `dest`). The addon constructs
 * real instances of this class (registered once at load), so `instanceof` works. `detail` holds
 * extra text the kernel gave, e.g. the fs-context log of a failed overlay mount
 * ("overlay: failed to resolve '/x': -2"); it is also part of `message`.
 */
export class ErrnoError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;
  readonly dest?: string;
  readonly detail?: string;
  constructor(opts: { code: string; errno: number; syscall: string; path?: string; dest?: string; message?: string; detail?: string }) {
    const where = opts.path !== undefined ? ` '${opts.path}'${opts.dest !== undefined ? ` -> '${opts.dest}'` : ''}` : '';
    super(`${opts.code}: ${opts.message ?? 'error'}, ${opts.syscall}${where}${opts.detail ? ` (${opts.detail})` : ''}`);
    this.name = 'ErrnoError';
    this.code = opts.code;
    this.errno = opts.errno;
    this.syscall = opts.syscall;
    if (opts.path !== undefined) this.path = opts.path;
    if (opts.dest !== undefined) this.dest = opts.dest;
    if (opts.detail !== undefined) this.detail = opts.detail;
  }
}
