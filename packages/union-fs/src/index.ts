export { mountOverlay, type OverlayOptions, type OverlayMethodOption } from './overlay.js';
export { mountFuseOverlay, type FuseOverlayOptions } from './fuse.js';
export { Mount } from './mount.js';
export { type Driver, type DriverCheck, type PrepareOptions, type Rootfs } from './drivers/driver.js';
export { overlayDriver, type OverlayDriverOptions } from './drivers/overlay.js';
export { fuseOverlayDriver, type FuseOverlayDriverOptions } from './drivers/fuse-overlayfs.js';
export { vfsDriver } from './drivers/vfs.js';
export { selectDriver, driverByName, type SelectDriverOptions, type DriverChoice } from './drivers/select.js';
export {
  OverlayMountError,
  DriverUnavailableError,
  UnionPathError,
  UnmountError,
  type MountMethod,
  type DriverName,
  type UnionPathCode,
  type OverlayMountErrorInit,
} from './errors.js';
export { inUserNamespace } from './userns.js';
export { which } from './exec.js';
export { UnionView, type UnionLayerSource, type UnionViewOptions, type UnionDirent, type UnionWalkEntry } from './view/union-view.js';
export { UnionStats, type UnionStatsInit } from './view/stats.js';
export { type EntryType } from './view/layer.js';
