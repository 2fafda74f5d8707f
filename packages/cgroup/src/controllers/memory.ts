import { CgroupUnsupportedError } from '../errors.js';
import type { Bytes, CgroupLimits } from '../limits.js';
import type { CgroupWrite, Controller, PlanContext } from './types.js';

const v1Bytes = (b: Bytes): string => (b === 'max' ? '-1' : String(b));
const v2Bytes = (b: Bytes): string => String(b);
const NO_SWAP = 'the kernel does not account swap (boot with swapaccount=1, or CONFIG_MEMCG_SWAP is off)';

/**
 * memoryController plans the memory limits.
 *
 * | limit | v2 | v1 |
 * |---|---|---|
 * | max | memory.max | memory.limit_in_bytes |
 * | high | memory.high | unsupported (v1 has no throttling threshold) |
 * | low | memory.low | memory.soft_limit_in_bytes |
 * | swap | memory.swap.max | memory.memsw.limit_in_bytes = max + swap (needs max) |
 *
 * `'max'` is written as `max` on v2 and `-1` on v1.
 */
export const memoryController: Controller = {
  name: 'memory',
  plan(limits: CgroupLimits, ctx: PlanContext): CgroupWrite[] {
    const m = limits.memory;
    if (!m) return [];
    const out: CgroupWrite[] = [];
    const w = (file: string, value: string, missing?: string): void => {
      out.push({ controller: 'memory', file, value, ...(missing ? { missing } : {}) });
    };
    if (ctx.version === 'v2') {
      if (m.max !== undefined) w('memory.max', v2Bytes(m.max));
      if (m.high !== undefined) w('memory.high', v2Bytes(m.high));
      if (m.low !== undefined) w('memory.low', v2Bytes(m.low));
      if (m.swap !== undefined) w('memory.swap.max', v2Bytes(m.swap), NO_SWAP);
      return out;
    }
    if (m.high !== undefined) {
      throw new CgroupUnsupportedError({
        controller: 'memory',
        hierarchy: 'v1',
        limit: 'memory.high',
        reason: 'v1 has no throttling threshold (memory.soft_limit_in_bytes only matters under global pressure; use memory.low for that, or memory.max)',
      });
    }
    if (m.swap !== undefined && m.max === undefined) {
      throw new TypeError('limits.memory.swap on a v1 hierarchy needs limits.memory.max in the same call (v1 limits memory+swap together in memory.memsw.limit_in_bytes)');
    }
    // Order: limit_in_bytes before memsw. When the new memsw is above the current limit but the
    // new limit is above the current memsw, the first write fails EINVAL and apply retries it last.
    if (m.max !== undefined) w('memory.limit_in_bytes', v1Bytes(m.max));
    if (m.swap !== undefined) {
      const total = m.max === 'max' || m.swap === 'max' ? 'max' : (m.max as number) + m.swap;
      w('memory.memsw.limit_in_bytes', v1Bytes(total), NO_SWAP);
    }
    if (m.low !== undefined) w('memory.soft_limit_in_bytes', v1Bytes(m.low));
    return out;
  },
};
