import { AT, MNT, MS, fstat, fstatat, mount, umount2, type Fd } from '@stratum/native';
import { wireMount } from '@stratum/namespace';
import { InvalidVolumeOptionError } from './errors.js';

/** LOCAL_DRIVER_OPTIONS: the options Docker's `local` driver takes (`docker volume create -o type=tmpfs -o device=tmpfs -o o=size=64m`). */
export const LOCAL_DRIVER_OPTIONS: readonly string[] = Object.freeze(['type', 'device', 'o']);

/** What mount(2) gets for a volume with driver options. */
interface DriverMount {
  source: string;
  fstype: string;
  flags: number;
  data: string;
}

function plan(options: Readonly<Record<string, string>>, target: string): DriverMount | undefined {
  const { type, device, o } = options;
  if (type === undefined && device === undefined) {
    if (o !== undefined) throw new InvalidVolumeOptionError('o', "mount options need 'type' and 'device'");
    return undefined;
  }
  if (type === undefined || type === '') throw new InvalidVolumeOptionError('type', "'device' needs a filesystem 'type' ('none' with o=bind for a bind)");
  if (device === undefined || device === '') throw new InvalidVolumeOptionError('device', `filesystem type ${JSON.stringify(type)} needs a 'device'`);
  try {
    // The OCI option grammar of @stratum/namespace: flags out of `o`, the rest as fs data.
    const w = wireMount({ destination: target, type: type === 'none' ? undefined : type, source: device, options: (o ?? '').split(',').filter(Boolean) }, 0);
    return { source: w.source, fstype: w.fstype, flags: w.flags, data: w.data };
  } catch (e) {
    throw new InvalidVolumeOptionError(e instanceof TypeError && /bind/.test(e.message) ? 'device' : 'o', e instanceof Error ? e.message.replace(/^spawn: mounts\[0\]/, 'the volume mount') : String(e));
  }
}

/**
 * checkDriver validates a volume's driver and options for `create` (Docker's local-driver rules):
 * the driver is `local`, the option keys are `type`, `device` and `o`, `type` and `device` come
 * together, and `o` parses as mount options. Throws {@link InvalidVolumeOptionError}.
 */
export function checkDriver(driver: string, options: Readonly<Record<string, string>>): void {
  if (driver !== 'local') throw new InvalidVolumeOptionError('driver', `volume driver ${JSON.stringify(driver)} is not available (only 'local')`);
  for (const k of Object.keys(options)) {
    if (!LOCAL_DRIVER_OPTIONS.includes(k)) throw new InvalidVolumeOptionError(k, `invalid option key ${JSON.stringify(k)} for the local driver (type, device, o)`);
  }
  plan(options, '/');
}

/** needsMount tells whether a volume's options make it a mount of its own (type/device), which is made on first use. */
export function needsMount(options: Readonly<Record<string, string>>): boolean {
  return options['type'] !== undefined || options['device'] !== undefined;
}

/** isMounted tells whether `<volumeDir>/_data` is a mount point (another mount id than its volume directory). */
export function isMounted(volumeDir: Fd): boolean {
  const inner = fstatat(volumeDir, '_data', AT.SYMLINK_NOFOLLOW);
  const outer = fstat(volumeDir);
  return inner.mntId !== undefined && outer.mntId !== undefined ? inner.mntId !== outer.mntId : inner.dev !== outer.dev;
}

/**
 * mountDriver mounts a volume's filesystem (from its `type`/`device`/`o` options) on its
 * mountpoint in the caller's mount namespace, as Docker's local driver does on first use.
 */
export function mountDriver(options: Readonly<Record<string, string>>, mountpoint: string): void {
  const p = plan(options, mountpoint);
  if (!p) return;
  if (p.flags & MS.BIND) {
    mount({ source: p.source, target: mountpoint, flags: MS.BIND | (p.flags & MS.REC) });
    const rest = p.flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME);
    if (rest) {
      try {
        mount({ target: mountpoint, flags: MS.BIND | MS.REMOUNT | rest });
      } catch (e) {
        umount2(mountpoint, MNT.DETACH);
        throw e;
      }
    }
    return;
  }
  mount({ source: p.source, target: mountpoint, fstype: p.fstype, flags: p.flags, data: p.data });
}

/** unmountDriver detaches what {@link mountDriver} mounted (lazily: a running container keeps its own copy). */
export function unmountDriver(mountpoint: string): void {
  umount2(mountpoint, MNT.DETACH);
}
