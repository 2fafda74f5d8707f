import { accessSync, constants } from 'node:fs';
import { OverlayMountError } from '../errors.js';
import { which } from '../exec.js';
import { mountFuseOverlay, type FuseOverlayOptions } from '../fuse.js';
import type { Driver } from './driver.js';
import { kernelFormUpper } from './fuse-diff.js';
import { tryUnion, unionDriver } from './union.js';

/** FuseOverlayDriverOptions: the options of {@link fuseOverlayDriver}: fuse-overlayfs options every prepare uses. */
export type FuseOverlayDriverOptions = Pick<FuseOverlayOptions, 'binary' | 'options' | 'nosuid' | 'nodev' | 'noexec'>;

const NOT_INSTALLED = 'fuse-overlayfs is not installed (Debian: apt-get install fuse-overlayfs)';

function fuseDevice(): string | undefined {
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    return undefined;
  } catch (e) {
    return `/dev/fuse cannot be opened by this process (${(e as NodeJS.ErrnoException).code}): load the fuse module and give the user access to /dev/fuse`;
  }
}

/**
 * fuseOverlayDriver is the fuse-overlayfs driver (podman's rootless fallback): the same union
 * as overlay, served by a FUSE daemon, for kernels that cannot mount overlayfs for this caller.
 * Needs the fuse-overlayfs executable and access to /dev/fuse. diff() is `diff/`, the upper
 * directory rebuilt in the kernel's form with hard links (see kernelFormUpper).
 */
export function fuseOverlayDriver(defaults: FuseOverlayDriverOptions = {}): Driver {
  const mount = (o: FuseOverlayOptions) => mountFuseOverlay({ ...defaults, ...o });
  const unavailable = (e: unknown): string | undefined => {
    if (!(e instanceof OverlayMountError)) return undefined;
    if (!which(defaults.binary ?? 'fuse-overlayfs')) return NOT_INSTALLED;
    return fuseDevice() ?? (e.errno === 'EPERM' || e.errno === 'EACCES' ? `fuse-overlayfs could not mount: ${e.log ?? e.errno}` : undefined);
  };
  return unionDriver({
    name: 'fuse-overlayfs',
    mount,
    xattrPrefix: () => (process.getuid?.() === 0 ? 'trusted' : 'user'),
    unavailable,
    kernelForm: kernelFormUpper,
    async check(scratch) {
      if (!which(defaults.binary ?? 'fuse-overlayfs')) return { available: false, reason: NOT_INSTALLED };
      const dev = fuseDevice();
      if (dev) return { available: false, reason: dev };
      const r = await tryUnion(mount, scratch);
      if (!r.ok) return { available: false, reason: `fuse-overlayfs: ${r.reason}` };
      return { available: true, reason: 'fuse-overlayfs works for this process (a test mount copied up and whited out)' };
    },
  });
}
