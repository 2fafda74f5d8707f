import { binding } from './binding.js';

/** The raw stat object the addon returns (see {@link Stat} for the documented shape). */
export interface RawStat {
  dev: number;
  ino: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  rdevMajor: number;
  rdevMinor: number;
  size: number;
  blocks: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mntId: number | undefined;
}

/** What the addon's probe returns before the TypeScript side fills in defaults. */
export interface RawFeatures {
  openat2: boolean;
  mountApi: boolean;
  mountApiUsable: boolean;
  overlayLowerdirPlus: boolean | null;
  mountSetattr: boolean;
  fchmodat2: boolean;
  userns: boolean;
  kernelRelease: string;
}

type Group = Record<string, number>;

/**
 * Hand-written declarations of the raw addon functions this package's wrappers call. Arguments
 * are positional and already validated; every fd returned is a plain O_CLOEXEC number that the
 * wrappers put into an {@link Fd}. Internal: other packages use the typed wrappers.
 */
export interface NativeBinding {
  constants: Record<
    'O' | 'RESOLVE' | 'AT' | 'MS' | 'MNT' | 'CLONE' | 'RENAME' | 'MOUNT_ATTR' | 'FSCONFIG' | 'MOVE_MOUNT' | 'OPEN_TREE' | 'XATTR' | 'S' | 'UTIME' | 'LOCK',
    Group
  >;
  probeFeatures(): RawFeatures;
  openat(dirfd: number, path: string, flags: number, mode: number): number;
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number;
  mkdirat(dirfd: number, path: string, mode: number): void;
  symlinkat(target: string, dirfd: number, path: string): void;
  linkat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): void;
  mknodat(dirfd: number, path: string, mode: number, major: number, minor: number): void;
  unlinkat(dirfd: number, path: string, flags: number): void;
  renameat2(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): void;
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void;
  fchown(fd: number, uid: number, gid: number): void;
  fchmod(fd: number, mode: number): void;
  fchmodat(dirfd: number, path: string, mode: number, flags: number): void;
  utimensat(dirfd: number, path: string | null, aSec: number, aNsec: number, mSec: number, mNsec: number, flags: number): void;
  statx(dirfd: number, path: string, flags: number): RawStat;
  readlinkat(dirfd: number, path: string): string;
  fsType(fd: number): number;
  lgetxattr(path: string, name: string): Buffer;
  fgetxattr(fd: number, name: string): Buffer;
  llistxattr(path: string): string[];
  flistxattr(fd: number): string[];
  lsetxattr(path: string, name: string, value: Buffer, flags: number): void;
  fsetxattr(fd: number, name: string, value: Buffer, flags: number): void;
  lremovexattr(path: string, name: string): void;
  fremovexattr(fd: number, name: string): void;
  flock(fd: number, op: number): Promise<void>;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  mountAt(dirfd: number, source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  fsopen(fsname: string, flags: number): number;
  fsconfig(fd: number, cmd: number, key: string | null, value: string | Buffer | null, aux: number): void;
  fsmount(fd: number, flags: number, attrs: number): number;
  moveMount(fromDirfd: number, fromPath: string, toDirfd: number, toPath: string, flags: number): void;
  openTree(dirfd: number, path: string, flags: number): number;
  mountSetattr(dirfd: number, path: string, flags: number, attrSet: number, attrClr: number, propagation: number, userns: number): void;
  mountFs(fstype: string, source: string | null, keys: string[], values: Array<string | null>, target: string, attrs: number, moveFlags: number): void;
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  sethostname(name: string): void;
  pidfdOpen(pid: number, flags: number): number;
  pidfdSendSignal(fd: number, signal: number): void;
  pipe(): [number, number];
  socketpair(): [number, number];
  spawnProcess(path: string, argv: string[], env: string[], fds: number[]): { pid: number; pidfd: number };
  watchPidfd(pidfd: number, cb: (code: number | null, signal: number | null, error: Error | null) => void): void;
}

/** The addon, typed. */
export const native = binding as NativeBinding;
