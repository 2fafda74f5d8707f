import { ioWeightToBlkio } from '../convert.js';
import type { CgroupLimits } from '../limits.js';
import type { CgroupWrite, Controller, PlanContext } from './types.js';

const NO_WEIGHT = 'the block layer offers no proportional weight here (needs the BFQ scheduler or, on v2, io.cost)';
const NO_THROTTLE = 'the kernel has no block I/O throttling (CONFIG_BLK_DEV_THROTTLING)';

/**
 * ioController plans block I/O weight and per-device throttles.
 *
 * | limit | v2 | v1 (blkio) |
 * |---|---|---|
 * | weight | io.weight `default W`, else io.bfq.weight `default ioWeightToBlkio(W)` | blkio.weight, else blkio.bfq.weight = ioWeightToBlkio(W) |
 * | max[] | io.max `MAJ:MIN rbps=… wbps=… riops=… wiops=…` | blkio.throttle.{read,write}_{bps,iops}_device `MAJ:MIN N` (`0` for max) |
 */
export const ioController: Controller = {
  name: 'io',
  plan(limits: CgroupLimits, ctx: PlanContext): CgroupWrite[] {
    const io = limits.io;
    if (!io) return [];
    const out: CgroupWrite[] = [];
    const has = ctx.has ?? (() => true);
    const w = (file: string, value: string, missing?: string): void => {
      out.push({ controller: 'io', file, value, ...(missing ? { missing } : {}) });
    };
    if (ctx.version === 'v2') {
      if (io.weight !== undefined) {
        if (!has('io.weight') && has('io.bfq.weight')) w('io.bfq.weight', `default ${ioWeightToBlkio(io.weight)}`);
        else w('io.weight', `default ${io.weight}`, NO_WEIGHT);
      }
      for (const d of io.max ?? []) {
        const parts = (['rbps', 'wbps', 'riops', 'wiops'] as const).filter((k) => d[k] !== undefined).map((k) => `${k}=${d[k]}`);
        if (parts.length) w('io.max', `${d.device} ${parts.join(' ')}`, NO_THROTTLE);
      }
      return out;
    }
    if (io.weight !== undefined) {
      const file = !has('blkio.weight') && has('blkio.bfq.weight') ? 'blkio.bfq.weight' : 'blkio.weight';
      w(file, String(ioWeightToBlkio(io.weight)), NO_WEIGHT);
    }
    const files = { rbps: 'read_bps_device', wbps: 'write_bps_device', riops: 'read_iops_device', wiops: 'write_iops_device' } as const;
    for (const d of io.max ?? []) {
      for (const k of ['rbps', 'wbps', 'riops', 'wiops'] as const) {
        const v = d[k];
        if (v !== undefined) w(`blkio.throttle.${files[k]}`, `${d.device} ${v === 'max' ? 0 : v}`, NO_THROTTLE);
      }
    }
    return out;
  },
};
