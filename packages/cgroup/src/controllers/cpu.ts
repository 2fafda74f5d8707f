import { sharesToWeight, weightToShares } from '../convert.js';
import type { CgroupLimits } from '../limits.js';
import type { CgroupWrite, Controller, PlanContext } from './types.js';

/**
 * cpuController plans CPU bandwidth and weight.
 *
 * | limit | v2 | v1 |
 * |---|---|---|
 * | max {quota, period} | cpu.max `QUOTA PERIOD` | cpu.cfs_period_us, cpu.cfs_quota_us (`-1` for max) |
 * | weight | cpu.weight | cpu.shares = weightToShares(weight) |
 * | shares | cpu.weight = sharesToWeight(shares) (runc's map) | cpu.shares |
 */
export const cpuController: Controller = {
  name: 'cpu',
  plan(limits: CgroupLimits, ctx: PlanContext): CgroupWrite[] {
    const c = limits.cpu;
    if (!c) return [];
    const out: CgroupWrite[] = [];
    const w = (file: string, value: string): void => {
      out.push({ controller: 'cpu', file, value });
    };
    const max = c.max === 'max' ? { quota: 'max' as const } : c.max;
    if (ctx.version === 'v2') {
      if (max) w('cpu.max', max.period !== undefined ? `${max.quota} ${max.period}` : String(max.quota));
      if (c.weight !== undefined) w('cpu.weight', String(c.weight));
      if (c.shares !== undefined) w('cpu.weight', String(sharesToWeight(c.shares)));
      return out;
    }
    if (max) {
      // Period first: the kernel checks quota against the period in place. Where lowering the
      // period under the old quota is refused (EINVAL), apply retries it after the quota.
      if (max.period !== undefined) w('cpu.cfs_period_us', String(max.period));
      w('cpu.cfs_quota_us', max.quota === 'max' ? '-1' : String(max.quota));
    }
    if (c.weight !== undefined) w('cpu.shares', String(weightToShares(c.weight)));
    if (c.shares !== undefined) w('cpu.shares', String(c.shares));
    return out;
  },
};
