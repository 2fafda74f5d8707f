import { native } from './native.js';

/** What the running kernel supports, as found by {@link features}. */
export interface Features {
  /** openat2(2) works (Linux ≥ 5.6): {@link resolveInRoot} uses it instead of the userspace walk. */
  openat2: boolean;
  /** The new mount API (fsopen/fsconfig/fsmount/move_mount, Linux ≥ 5.2) exists. */
  mountApi: boolean;
  /** overlayfs accepts the repeatable `lowerdir+` option (Linux ≥ 6.8), so lower dirs need no colon-joined string length limit. */
  overlayLowerdirPlus: boolean;
  /** mount_setattr(2) exists (Linux ≥ 5.12), the way MOUNT_ATTR_IDMAP mounts are made (the filesystem must support it too). */
  idmappedMounts: boolean;
  /** fchmodat2(2) exists (Linux ≥ 6.6); {@link fchmodat} works without it. */
  fchmodat2: boolean;
  /** This process can create user namespaces (tried with a short-lived child). */
  userns: boolean;
  /** `uname -r`. */
  kernelRelease: string;
}

let cached: Features | undefined;

function atLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

/**
 * features probes the kernel by TRYING each syscall (not by parsing the version), once per
 * process; later calls return the cached object. Only `overlayLowerdirPlus` falls back to the
 * kernel version when this process may not open an overlay fs context (not root).
 */
export function features(): Readonly<Features> {
  if (cached) return cached;
  const r = native.probeFeatures();
  cached = Object.freeze({
    openat2: r.openat2,
    mountApi: r.mountApi,
    overlayLowerdirPlus: r.overlayLowerdirPlus ?? (r.mountApi && atLeast(r.kernelRelease, 6, 8)),
    idmappedMounts: r.mountSetattr,
    fchmodat2: r.fchmodat2,
    userns: r.userns,
    kernelRelease: r.kernelRelease,
  });
  return cached;
}
