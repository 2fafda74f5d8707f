import type { CgroupLimits } from '../limits.js';
import type { CgroupWrite, Controller, PlanContext } from './types.js';

/**
 * cpusetController plans `cpuset.cpus` and `cpuset.mems` (the same files on v1 and v2). On v1 a
 * new cpuset cgroup starts with both empty and refuses processes until they are set: the
 * manager copies them from the parent when it creates the directory, before these writes.
 */
export const cpusetController: Controller = {
  name: 'cpuset',
  plan(limits: CgroupLimits, _ctx: PlanContext): CgroupWrite[] {
    const c = limits.cpuset;
    if (!c) return [];
    const out: CgroupWrite[] = [];
    // mems before cpus mirrors what a fresh v1 cpuset needs; both are independent on v2.
    if (c.mems !== undefined) out.push({ controller: 'cpuset', file: 'cpuset.mems', value: c.mems.trim() });
    if (c.cpus !== undefined) out.push({ controller: 'cpuset', file: 'cpuset.cpus', value: c.cpus.trim() });
    return out;
  },
};
