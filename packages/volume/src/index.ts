export { VolumeStore, defaultVolumeRoot, checkContainerId, ANONYMOUS_LABEL, type VolumeInfo, type CreateVolumeOptions, type VolumeFilters, type PruneOptions, type PruneResult } from './store.js';
export {
  mergeVolumeSpecs,
  imageVolumes,
  type AttachOptions,
  type AttachProgress,
  type AttachedVolumes,
  type DetachOptions,
  type DetachResult,
} from './attach.js';
export { bindMount, tmpfsMount, volumeMountSpec, mountMode, sortMounts, type VolumeMount, type BindMountInput } from './mounts.js';
export {
  normalizeSpec,
  isValidVolumeName,
  checkVolumeName,
  type VolumeSpec,
  type BindSpec,
  type NamedVolumeSpec,
  type TmpfsSpec,
  type SpecOrigin,
  type BindPropagation,
  type BindRecursive,
  type SelinuxRelabel,
} from './spec.js';
export { parseVolume, parseMount, parseTmpfs, parseVolumesFrom, parseSize, type ParseOptions, type VolumesFromRef } from './parse.js';
export { volumesFrom, type VolumesFromSource, type VolumesFromMount } from './volumes-from.js';
export { copyUp, STAGE_PREFIX, type CopyUpOptions, type CopyUpProgress, type CopyUpResult } from './copy-up.js';
export { LOCAL_DRIVER_OPTIONS } from './driver.js';
export {
  VolumeError,
  InvalidVolumeSpecError,
  InvalidVolumeNameError,
  InvalidVolumeOptionError,
  VolumeNotFoundError,
  VolumeInUseError,
  VolumeConflictError,
  DuplicateMountPointError,
  BindSourceNotFoundError,
  InvalidContainerIdError,
  SourceChangedError,
} from './errors.js';
