import { DriverUnavailableError, type DriverName } from '../errors.js';
import type { Driver } from './driver.js';
import { fuseOverlayDriver } from './fuse-overlayfs.js';
import { overlayDriver } from './overlay.js';
import { vfsDriver } from './vfs.js';

/** SelectDriverOptions: the options of {@link selectDriver}. */
export interface SelectDriverOptions {
  /** The drivers to consider, best first (default `['overlay', 'fuse-overlayfs', 'vfs']`). */
  prefer?: readonly DriverName[];
  /** Where the test mounts are tried: put it on the filesystem the layers live on (default the OS temp dir). */
  dir?: string;
}

/** DriverChoice: the driver {@link selectDriver} chose, why, and why each better one was passed over. */
export interface DriverChoice {
  driver: Driver;
  /** Why this driver: what its check found. */
  reason: string;
  /** The drivers tried before it, each with the reason it cannot work here. */
  rejected: Array<{ name: DriverName; reason: string }>;
}

/** driverByName returns a driver with default options: `overlay`, `fuse-overlayfs` or `vfs`. */
export function driverByName(name: DriverName): Driver {
  switch (name) {
    case 'overlay':
      return overlayDriver();
    case 'fuse-overlayfs':
      return fuseOverlayDriver();
    case 'vfs':
      return vfsDriver();
    default:
      throw new TypeError(`unknown driver ${JSON.stringify(name)} (overlay, fuse-overlayfs or vfs)`);
  }
}

/**
 * selectDriver picks the best storage driver that works for this process, trying each for real
 * (a test mount with a copy-up and a whiteout, see {@link Driver.check}) in the order kernel
 * overlayfs → fuse-overlayfs → vfs, as Docker and podman choose: overlay as root or in a user
 * namespace on Linux ≥ 5.11; fuse-overlayfs when the kernel refuses and the FUSE daemon can
 * mount; vfs (full copies) otherwise. The choice comes with its reason and the reasons the
 * better drivers were rejected. Checks are cached per process, so calling it again is cheap.
 * Rejects with TypeError for unknown names; with vfs in the list it always finds one.
 */
export async function selectDriver(opts: SelectDriverOptions = {}): Promise<DriverChoice> {
  const order = opts.prefer ?? (['overlay', 'fuse-overlayfs', 'vfs'] as const);
  if (!Array.isArray(order) || order.length === 0) throw new TypeError('selectDriver: options.prefer must be a non-empty array of driver names');
  const rejected: DriverChoice['rejected'] = [];
  for (const name of order) {
    const driver = driverByName(name);
    const c = await driver.check({ dir: opts.dir });
    if (c.available) return { driver, reason: c.reason, rejected };
    rejected.push({ name, reason: c.reason });
  }
  throw new DriverUnavailableError(order[order.length - 1]!, `no driver of ${order.join(', ')} works here: ${rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')}`);
}
