export { Cgroup, type CgroupOptions, type WaitOptions, type CgroupEvents } from './cgroup.js';
export {
  detectHierarchy,
  cgroupOf,
  parseMountInfo,
  parseProcCgroups,
  type Hierarchy,
  type HierarchyMode,
  type DetectOptions,
  type MountInfoEntry,
  type ProcCgroupsEntry,
  type ProcessCgroups,
} from './hierarchy.js';
export {
  validateLimits,
  controllersOf,
  CONTROLLER_NAMES,
  type CgroupLimits,
  type MemoryLimits,
  type CpuLimits,
  type CpusetLimits,
  type PidsLimits,
  type IoLimits,
  type IoDeviceLimit,
  type Bytes,
  type ControllerName,
} from './limits.js';
export { planLimits, writePlan, applyLimits } from './apply.js';
export { placeCgroup, normalizeCgroupPath, availableControllers, type CgroupDir, type PlacementOptions } from './placement.js';
export { readStats, parseLimit, parseKeyed, type CgroupStats, type MemoryStats, type CpuStats, type PidsStats, type IoDeviceStats, type HugetlbStats } from './stats.js';
export { sharesToWeight, weightToShares, blkioToIoWeight, ioWeightToBlkio } from './convert.js';
export { nodeCgroupFs, type CgroupFs } from './fs.js';
export { memoryController } from './controllers/memory.js';
export { cpuController } from './controllers/cpu.js';
export { cpusetController } from './controllers/cpuset.js';
export { pidsController } from './controllers/pids.js';
export { ioController } from './controllers/io.js';
export { hugetlbController } from './controllers/hugetlb.js';
export { type Controller, type CgroupWrite, type PlanContext } from './controllers/types.js';
export {
  CgroupError,
  CgroupUnsupportedError,
  CgroupBusyError,
  CgroupPermissionError,
  CgroupNotFoundError,
  CgroupTimeoutError,
  toErrnoError,
  type HierarchyVersion,
} from './errors.js';
