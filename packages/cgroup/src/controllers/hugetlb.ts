import type { CgroupLimits } from '../limits.js';
import type { CgroupWrite, Controller, PlanContext } from './types.js';

/**
 * hugetlbController plans huge page limits per page size: v2 `hugetlb.SIZE.max` (`max` for no
 * limit), v1 `hugetlb.SIZE.limit_in_bytes` (`-1`). A size the host has no pool for is missing.
 */
export const hugetlbController: Controller = {
  name: 'hugetlb',
  plan(limits: CgroupLimits, ctx: PlanContext): CgroupWrite[] {
    const h = limits.hugetlb;
    if (!h) return [];
    return Object.entries(h).map(([size, v]) => ({
      controller: 'hugetlb' as const,
      file: ctx.version === 'v2' ? `hugetlb.${size}.max` : `hugetlb.${size}.limit_in_bytes`,
      value: ctx.version === 'v2' ? String(v) : v === 'max' ? '-1' : String(v),
      missing: `the host has no ${size} huge pages (see /sys/kernel/mm/hugepages)`,
    }));
  },
};
