import type { ControllerName } from '../limits.js';
import { cpuController } from './cpu.js';
import { cpusetController } from './cpuset.js';
import { hugetlbController } from './hugetlb.js';
import { ioController } from './io.js';
import { memoryController } from './memory.js';
import { pidsController } from './pids.js';
import type { Controller } from './types.js';

/** The controllers that carry limits, by name. */
export const controllers: Partial<Record<ControllerName, Controller>> = {
  memory: memoryController,
  cpu: cpuController,
  cpuset: cpusetController,
  pids: pidsController,
  io: ioController,
  hugetlb: hugetlbController,
};
