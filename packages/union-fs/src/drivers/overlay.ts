import { features } from '@stratum/native';
import { OverlayMountError } from '../errors.js';
import { mountOverlay, type OverlayOptions } from '../overlay.js';
import { inUserNamespace } from '../userns.js';
import type { Driver } from './driver.js';
import { tryUnion, unionDriver } from './union.js';

/** OverlayDriverOptions: the options of {@link overlayDriver}: mountOverlay options every prepare uses (method, extra overlay parameters, mount flags). */
export type OverlayDriverOptions = Pick<OverlayOptions, 'method' | 'options' | 'userxattr' | 'nosuid' | 'nodev' | 'noexec'>;

function hint(e: OverlayMountError): string | undefined {
  if (e.errno === 'ENODEV') return 'the kernel has no overlay filesystem (modprobe overlay)';
  if (e.errno === 'EPERM') {
    return inUserNamespace()
      ? `the kernel refuses overlay mounts in a user namespace (Linux ${features().kernelRelease}; rootless overlay needs ≥ 5.11): use fuse-overlayfs or vfs`
      : 'mounting needs root (CAP_SYS_ADMIN) or a user namespace (`unshare -Urm`, Linux ≥ 5.11): run as root, inside a user namespace, or use fuse-overlayfs or vfs';
  }
  return undefined;
}

/**
 * overlayDriver is the kernel overlayfs driver (Docker's overlay2): prepare mounts the layers
 * with {@link mountOverlay} (lowerdir+ or classic, userxattr in a user namespace) over a fresh
 * or kept upper directory; diff() is that upper directory. The fastest driver: nothing is copied.
 */
export function overlayDriver(defaults: OverlayDriverOptions = {}): Driver {
  const mount = (o: OverlayOptions) => mountOverlay({ ...defaults, ...o });
  return unionDriver({
    name: 'overlay',
    mount,
    xattrPrefix: (m) => (m.userxattr ? 'user' : 'trusted'),
    unavailable: (e) => (e instanceof OverlayMountError ? hint(e) : undefined),
    async check(scratch) {
      const r = await tryUnion(mount, scratch);
      if (!r.ok) {
        const why = r.error instanceof OverlayMountError ? hint(r.error) : undefined;
        return { available: false, reason: `kernel overlayfs: ${r.reason}${why ? `: ${why}` : ''}` };
      }
      const how = r.mount.method === 'lowerdir+' ? 'new mount API, one lowerdir+ per layer' : 'classic mount(2) with short layer links';
      return { available: true, reason: `kernel overlayfs works for this process (${how}${r.mount.userxattr ? ', userxattr in a user namespace' : ''}; a test mount copied up and whited out)` };
    },
  });
}
