export { spawn } from './spawn.js';
export { enter, cgroupDirs, type EnterSpec } from './enter.js';
export { Process, type ExitStatus } from './process.js';
export { SpawnError, type SpawnErrorInit } from './errors.js';
export { NamespaceHandle, BoundNamespace } from './handle.js';
export {
  prepareSpec,
  cloneFlag,
  DEFAULT_PATH,
  NAMESPACE_KINDS,
  type SpawnSpec,
  type PreparedSpec,
  type NamespaceKind,
  type NamespaceRef,
  type NamespacesSpec,
  type IdMapping,
  type UserNamespaceOptions,
  type StdioItem,
  type TtyOptions,
  type RlimitSpec,
} from './spec.js';
export {
  DEFAULT_MOUNTS,
  DEFAULT_DEVICES,
  DEFAULT_DEV_SYMLINKS,
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  wireMount,
  type MountSpec,
  type DeviceSpec,
  type Propagation,
} from './mounts.js';
export { CAPABILITY_NAMES, DOCKER_DEFAULT_CAPABILITIES, capabilityNumber, capabilityMasks, type Capability, type CapabilitySets } from './capabilities.js';
export { writeIdMaps } from './idmap.js';
export { encodeSpec, MessageReader, type WireSpec, type WireMount, type WireDevice, type HelperMessage } from './protocol.js';
