import { fdNumber, describe, type FdLike } from './fd.js';
import { native } from './native.js';
import { flags as flagsArg, str } from './validate.js';

function value(v: unknown, fn: string): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v);
  throw new TypeError(`${fn}: value must be a Buffer, Uint8Array or string, got ${describe(v)}`);
}

/** lgetxattr returns the value of extended attribute `name` of `path` itself (symlinks not followed); ENODATA when absent. `getfattr -h -n NAME`. */
export function lgetxattr(path: string, name: string): Buffer {
  return native.lgetxattr(str(path, 'lgetxattr', 'path'), str(name, 'lgetxattr', 'name'));
}

/** lsetxattr sets extended attribute `name` of `path` (symlinks not followed); `XATTR.CREATE`/`XATTR.REPLACE` make it fail with EEXIST/ENODATA instead of replacing/creating. `setfattr -h`. */
export function lsetxattr(path: string, name: string, value_: Buffer | Uint8Array | string, flags = 0): void {
  native.lsetxattr(str(path, 'lsetxattr', 'path'), str(name, 'lsetxattr', 'name'), value(value_, 'lsetxattr'), flagsArg(flags, 'lsetxattr'));
}

/** llistxattr lists the extended attribute names of `path` (symlinks not followed) that this process may see. `getfattr -h -d -m-`. */
export function llistxattr(path: string): string[] {
  return native.llistxattr(str(path, 'llistxattr', 'path'));
}

/** lremovexattr removes extended attribute `name` of `path` (symlinks not followed); ENODATA when absent. `setfattr -h -x NAME`. */
export function lremovexattr(path: string, name: string): void {
  native.lremovexattr(str(path, 'lremovexattr', 'path'), str(name, 'lremovexattr', 'name'));
}

/** fgetxattr returns the value of extended attribute `name` of an open file (not an O_PATH fd: EBADF); ENODATA when absent. */
export function fgetxattr(fd: FdLike, name: string): Buffer {
  return native.fgetxattr(fdNumber(fd, 'fgetxattr'), str(name, 'fgetxattr', 'name'));
}

/** fsetxattr sets extended attribute `name` of an open file; see {@link lsetxattr} for flags. */
export function fsetxattr(fd: FdLike, name: string, value_: Buffer | Uint8Array | string, flags = 0): void {
  native.fsetxattr(fdNumber(fd, 'fsetxattr'), str(name, 'fsetxattr', 'name'), value(value_, 'fsetxattr'), flagsArg(flags, 'fsetxattr'));
}

/** flistxattr lists the extended attribute names of an open file. */
export function flistxattr(fd: FdLike): string[] {
  return native.flistxattr(fdNumber(fd, 'flistxattr'));
}

/** fremovexattr removes extended attribute `name` of an open file; ENODATA when absent. */
export function fremovexattr(fd: FdLike, name: string): void {
  native.fremovexattr(fdNumber(fd, 'fremovexattr'), str(name, 'fremovexattr', 'name'));
}
