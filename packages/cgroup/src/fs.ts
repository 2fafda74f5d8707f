import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { toErrnoError } from './errors.js';

/**
 * CgroupFs is the file access the controllers and the manager use. cgroupfs is an in-memory
 * kernel filesystem where every operation is one short syscall, so the calls are synchronous:
 * a trip through libuv's thread pool would cost several times the syscall itself (see the
 * benchmark). Failures throw {@link ErrnoError} with the path. Tests pass a fixture directory,
 * never a fake of this interface.
 */
export interface CgroupFs {
  /** Reads a whole interface file as text. */
  read(path: string): string;
  /** Writes `value` to an existing interface file in one write(2) (never creates the file). */
  write(path: string, value: string): void;
  /** True when `path` exists. */
  exists(path: string): boolean;
  /** mkdir(2) of one directory (not recursive); throws EEXIST when it exists. */
  mkdir(path: string): void;
  /** rmdir(2) of one directory. */
  rmdir(path: string): void;
  /** Names of the subdirectories (child cgroups) of `path`. */
  subdirs(path: string): string[];
  /** Names of the regular files (interface files) in `path`. */
  files(path: string): string[];
  /** Owner uid of `path`. */
  owner(path: string): number;
}

// O_TRUNC: a no-op on cgroupfs, and what makes fixture directories (regular files) hold only the
// last value. Never O_CREAT: a missing interface file means the host lacks the feature. (libuv
// opens every file close-on-exec.)
const WRITE_FLAGS = constants.O_WRONLY | constants.O_TRUNC;

function wrap<T>(fn: () => T, path: string): T {
  try {
    return fn();
  } catch (err) {
    // write(2) on an fd carries no path in Node's error: add the file's.
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e === 'object' && e.path === undefined) e.path = path;
    throw toErrnoError(err);
  }
}

/** nodeCgroupFs is the real {@link CgroupFs}: synchronous node:fs calls, errors as ErrnoError. */
export const nodeCgroupFs: CgroupFs = {
  read: (path) => wrap(() => readFileSync(path, 'utf8'), path),
  write: (path, value) =>
    wrap(() => {
      const fd = openSync(path, WRITE_FLAGS);
      try {
        writeSync(fd, value);
      } finally {
        closeSync(fd);
      }
    }, path),
  exists: (path) => existsSync(path),
  mkdir: (path) => wrap(() => mkdirSync(path, 0o755), path),
  rmdir: (path) => wrap(() => rmdirSync(path), path),
  subdirs: (path) =>
    wrap(() =>
      readdirSync(path, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name),
      path,
    ),
  files: (path) =>
    wrap(() =>
      readdirSync(path, { withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name),
      path,
    ),
  owner: (path) => wrap(() => statSync(path).uid, path),
};
