export { ErrnoError } from './errors.js';
export { packageRoot } from './binding.js';
export { Fd, type FdLike } from './fd.js';
export { O, RESOLVE, AT, MS, MNT, CLONE, RENAME, MOUNT_ATTR, FSCONFIG, MOVE_MOUNT, OPEN_TREE, XATTR, S, UTIME, LOCK } from './constants.js';
export {
  openat, openat2, mkdirat, symlinkat, linkat, mknodat, unlinkat, renameat2, fchownat, fchown, fchmod, fchmodat, utimensat,
  fstatat, fstat, readlinkat, fdPath, flock, fsyncDir, fileType,
  type OpenHow, type Stat, type FileType, type Timestamp, type FlockOp,
} from './fs.js';
export { resolveInRoot, type ResolveInRootOptions } from './resolve.js';
export { features, type Features } from './features.js';
export { initHelperPath } from './init-helper.js';
export { lgetxattr, lsetxattr, llistxattr, lremovexattr, fgetxattr, fsetxattr, flistxattr, fremovexattr } from './xattr.js';
export {
  mount, mountAt, umount2, pivotRoot, fsopen, fsconfig, fsmount, moveMount, openTree, mountSetattr, mountFs,
  type MountOptions, type FsconfigCmd, type MountAttr, type MountFsOptions,
} from './mount.js';
export { unshare, setns, sethostname, pidfdOpen, pidfdSendSignal } from './ns.js';
export { spawnProcess, watchPidfd, canSpawnProcess, pipe, socketpair, type SpawnProcessOptions, type Spawned, type PidfdExit } from './spawn.js';
export { netlinkOpen, NETLINK_PROTOCOLS, type NetlinkSocket, type NetlinkOpenOptions, type NetlinkProtocol } from './netlink.js';
export { netnsCreate, netnsShareDir, netnsUnmount } from './netns.js';
