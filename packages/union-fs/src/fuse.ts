import { OverlayMountError } from './errors.js';
import { run } from './exec.js';
import { Mount } from './mount.js';
import { resolveOverlayOptions, type OverlayOptions } from './overlay.js';
import { shortLinks } from './short-links.js';

/** FuseOverlayOptions: the options of {@link mountFuseOverlay}: those of mountOverlay; `options` are fuse-overlayfs `-o` options, `method` and `userxattr` do not apply. */
export type FuseOverlayOptions = Omit<OverlayOptions, 'method' | 'userxattr'> & {
  /** The fuse-overlayfs executable (default: `fuse-overlayfs` on PATH). */
  binary?: string;
};

const ERRNO: Array<[RegExp, string]> = [
  [/permission denied/i, 'EACCES'],
  [/operation not permitted/i, 'EPERM'],
  [/no such file or directory/i, 'ENOENT'],
  [/not a directory/i, 'ENOTDIR'],
  [/invalid argument/i, 'EINVAL'],
];

/**
 * mountFuseOverlay mounts the same union as mountOverlay through fuse-overlayfs (a FUSE daemon
 * that keeps running until the mount goes away), for hosts whose kernel cannot mount overlayfs
 * for this caller (rootless before Linux 5.11). Lower dirs are passed through short links (as the
 * classic kernel path does), so any path works. Resolves once the mount is in
 * place; the {@link Mount} takes it down (umount2 as root, `fusermount3 -u` otherwise), and the
 * daemon exits with it. Upper-dir format: whiteouts as 0/0 character devices where the daemon may
 * make them (else `.wh.NAME` files), opaque directories with `trusted.overlay.opaque` (else
 * `user.fuseoverlayfs.opaque`) plus a `.wh..wh..opq` file. Like
 * `fuse-overlayfs -o lowerdir=…,upperdir=…,workdir=… TARGET`.
 */
export async function mountFuseOverlay(opts: FuseOverlayOptions): Promise<Mount> {
  const o = resolveOverlayOptions({ ...opts, userxattr: false }, 'mountFuseOverlay', false);
  opts.signal?.throwIfAborted();
  const bin = opts.binary ?? 'fuse-overlayfs';
  const links = shortLinks(o);
  const parts = [`lowerdir=${links.lower.join(':')}`];
  if (links.upper !== undefined) parts.push(`upperdir=${links.upper}`, `workdir=${links.work!}`);
  if (o.readonly) parts.push('ro');
  if (o.nosuid) parts.push('nosuid');
  if (o.nodev) parts.push('nodev');
  if (o.noexec) parts.push('noexec');
  for (const [k, v] of o.params) parts.push(v === undefined ? k : `${k}=${v}`);
  let r;
  try {
    r = await run([bin, '-o', parts.join(','), o.target], { cwd: links.dir, signal: opts.signal });
  } catch (e) {
    throw new OverlayMountError({ target: o.target, method: 'fuse-overlayfs', errno: (e as NodeJS.ErrnoException).code ?? 'EIO', syscall: bin, log: (e as Error).message, cause: e });
  }
  if (r.code !== 0) {
    // fuse-overlayfs prints "unknown argument ignored: lazytime" on every run: not a reason.
    const log = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('unknown argument ignored')).join('; ');
    const errno = ERRNO.find(([re]) => re.test(log))?.[1] ?? 'EIO';
    throw new OverlayMountError({ target: o.target, method: 'fuse-overlayfs', errno, syscall: bin, log: log || `exit ${r.code ?? r.signal}` });
  }
  return new Mount({ target: o.target, method: 'fuse-overlayfs', lower: o.lower, upper: o.upper, work: o.work, readonly: o.readonly, userxattr: false });
}
