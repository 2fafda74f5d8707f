export { Container, type CreateOptions, type RunOptions, type ExitResult, type ExecOptions, type TopResult, type ContainerStats } from './container.js';
export { runtimeSpec, type ExportBundleOptions } from './bundle.js';
export { commitConfig, scratchImage, type CommitOptions, type CommitResult } from './commit.js';
export { DEFAULT_CAPABILITIES, capabilitySet } from './process-spec.js';
export { Runtime, defaultRoot, type RuntimeOptions } from './runtime.js';
export { type GcReport, type GcOptions } from './gc.js';
export { Networks, DEFAULT_NETWORK, NetworkNotFoundError, NetworkExistsError, NetworkInUseError, type NetworkConfig } from './networks.js';
export { checkSpec, type ContainerSpec, type NetworkSpec, type StartIO, type ContainerLike } from './spec.js';
export { composeCommand, toArgv, type CommandInput, type ComposedCommand } from './command.js';
export { mergeEnv, processEnv, envEntries, type EnvInput } from './env.js';
export { resolveUser, parsePasswd, parseGroup, type ExecUser, type PasswdEntry, type GroupEntry } from './user.js';
export { parseBytes, normalizeResources, cgroupLimits, type ResourcesSpec, type NormalizedResources } from './resources.js';
export { newContainerId, shortId, isContainerId, validateContainerName, generateName } from './ids.js';
export { readJsonLog, JsonLogWriter, rfc3339Nano, type LogLine, type LogsOptions, type LogStream } from './logs.js';
export { type ContainerInspect, type ContainerSummary, type GraphDriverData, humanDuration } from './inspect.js';
export { type ContainerRecord, type StateRecord, type HostConfigRecord, type MountRecord, type ContainerStatus, type EndpointRecord, type PortBinding, type ImageRecord } from './record.js';
export {
  ContainerError,
  ContainerNotFoundError,
  AmbiguousContainerError,
  NameConflictError,
  ContainerStateError,
  NoCommandError,
  UserNotFoundError,
  ImageUnavailableError,
  MonitorError,
  FeatureUnavailableError,
  WaitTimeoutError,
  CommitError,
} from './errors.js';
export { isRootless, rootlessIdMaps, type RootlessIds } from './rootless.js';
