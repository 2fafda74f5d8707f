import type { CgroupLimits } from '../limits.js';
import type { CgroupWrite, Controller, PlanContext } from './types.js';

/** pidsController plans `pids.max` (the same file and syntax on v1 and v2; `max` for no limit). */
export const pidsController: Controller = {
  name: 'pids',
  plan(limits: CgroupLimits, _ctx: PlanContext): CgroupWrite[] {
    const p = limits.pids;
    if (!p || p.max === undefined) return [];
    return [{ controller: 'pids', file: 'pids.max', value: String(p.max) }];
  },
};
