/**
 * The container's root filesystem: an overlay of the image's layers (or a given directory),
 * Docker's "init layer" (the mount points and /etc files a container always has, kept out of
 * commits) and the container's own upper dir.
 */
import { chownSync, closeSync, lstatSync, mkdirSync, openSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { AT, MNT, MOUNT_ATTR, features, mountFs, mountSetattr, umount2 } from '@stratum/native';
import { FeatureUnavailableError } from './errors.js';
import { isErrno } from './fsutil.js';

const INIT_DIRS = ['dev', 'dev/pts', 'dev/shm', 'dev/mqueue', 'proc', 'sys', 'etc'];
const INIT_FILES = ['etc/hosts', 'etc/hostname', 'etc/resolv.conf'];

function lookup(lowers: readonly string[], rel: string): { mode: number; uid: number; gid: number; dir: boolean } | undefined {
  for (const lower of lowers) {
    // Component by component without following symlinks: a lower's symlink must not make us read the host.
    let cur = lower;
    let ok = true;
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      cur = join(cur, parts[i]!);
      let st;
      try {
        st = lstatSync(cur);
      } catch {
        ok = false;
        break;
      }
      const whiteout = st.isCharacterDevice() && st.rdev === 0;
      if (whiteout) return undefined;
      if (i < parts.length - 1 && !st.isDirectory()) {
        ok = false;
        break;
      }
      if (i === parts.length - 1) return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, dir: st.isDirectory() };
    }
    if (!ok) continue;
  }
  return undefined;
}

/**
 * prepareInitLayer fills `init` (a lower dir above the image, below the container's upper) like
 * Docker's init layer: /dev, /dev/pts, /dev/shm, /dev/mqueue, /proc, /sys, /etc as directories
 * (mode and owner of the image's own when it has them) and empty /etc/hosts, /etc/hostname,
 * /etc/resolv.conf to bind the container's files onto. So these mount points never land in the
 * upper dir (and never in a commit), and they exist even under a read-only root.
 * `lowers` are the image's layer dirs, top first.
 */
export function prepareInitLayer(init: string, lowers: readonly string[]): void {
  mkdirSync(init, { recursive: true, mode: 0o755 });
  for (const d of INIT_DIRS) {
    const have = lookup(lowers, d);
    const p = join(init, d);
    mkdirSync(p, { mode: have?.dir ? have.mode : 0o755 });
    if (have?.dir) chownSync(p, have.uid, have.gid);
  }
  for (const f of INIT_FILES) closeSync(openSync(join(init, f), fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644));
}

/** OverlayMountOptions: the dirs of a container's overlay. */
export interface OverlayMountOptions {
  /** Lower dirs, top first. */
  lowers: readonly string[];
  upper: string;
  work: string;
  target: string;
  readOnly?: boolean;
  /** Shows in /proc/mounts (keep `stratum` in it). */
  source?: string;
}

/**
 * mountOverlayRoot mounts the overlay with the new mount API (`lowerdir+` per layer on
 * Linux ≥ 6.8, else one colon-joined `lowerdir`); `index=off` so that the shared layer dirs can
 * sit under any number of overlays. Read-only with MOUNT_ATTR_RDONLY. Like
 * `mount -t overlay -o lowerdir=…,upperdir=…,workdir=… stratum TARGET`.
 */
export function mountOverlayRoot(o: OverlayMountOptions): void {
  mkdirSync(o.upper, { recursive: true, mode: 0o755 });
  mkdirSync(o.work, { recursive: true, mode: 0o700 });
  mkdirSync(o.target, { recursive: true, mode: 0o755 });
  const opts: Array<[string, string?]> = [];
  if (features().overlayLowerdirPlus) for (const l of o.lowers) opts.push(['lowerdir+', l]);
  else opts.push(['lowerdir', o.lowers.join(':')]);
  opts.push(['upperdir', o.upper], ['workdir', o.work], ['index', 'off']);
  try {
    mountFs({ fstype: 'overlay', source: o.source ?? 'stratum', options: opts, target: o.target, attrs: MOUNT_ATTR.NODEV | (o.readOnly ? MOUNT_ATTR.RDONLY : 0) });
  } catch (e) {
    if (isErrno(e, 'ENODEV')) throw new FeatureUnavailableError('overlay root filesystems', 'the kernel has no overlay filesystem (modprobe overlay); a vfs copy fallback belongs to @stratum/union-fs, which this runtime does not use yet');
    throw e;
  }
}

/** makeReadOnly turns the mount at `target` read-only (mount_setattr MOUNT_ATTR_RDONLY), like `mount -o remount,ro,bind`. */
export function makeReadOnly(target: string): void {
  mountSetattr(AT.FDCWD, target, 0, { attrSet: MOUNT_ATTR.RDONLY });
}

/** unmountRoot detaches the mount at `target` (`umount -l`); fine when nothing is mounted there. Idempotent. */
export function unmountRoot(target: string): void {
  try {
    umount2(target, MNT.DETACH);
  } catch (e) {
    if (!isErrno(e, 'EINVAL', 'ENOENT')) throw e;
  }
}

/** isMountPoint is true when `path` is a mount point in this process's mount namespace. */
export function isMountPoint(path: string, mountinfo: string): boolean {
  const esc = path.replace(/[\s\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return mountinfo.split('\n').some((l) => l.split(' ')[4] === esc);
}
