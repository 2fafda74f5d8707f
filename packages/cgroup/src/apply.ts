import { join } from 'node:path';
import { ErrnoError } from '@stratum/native';
import { controllers } from './controllers/index.js';
import type { CgroupWrite } from './controllers/types.js';
import { CgroupUnsupportedError, type HierarchyVersion } from './errors.js';
import { nodeCgroupFs, type CgroupFs } from './fs.js';
import { controllersOf, validateLimits, type CgroupLimits, type ControllerName } from './limits.js';

/**
 * planLimits is every controller's plan for one directory: the writes, in order, that give a
 * cgroup on a `version` hierarchy these limits (only the sections of `only`, when given). Pure:
 * throws TypeError for invalid limits and CgroupUnsupportedError for what the hierarchy cannot
 * express; reads nothing but `has`.
 */
export function planLimits(
  limits: CgroupLimits,
  ctx: { version: HierarchyVersion; has?(file: string): boolean; only?: readonly ControllerName[] },
): CgroupWrite[] {
  validateLimits(limits);
  const out: CgroupWrite[] = [];
  for (const name of controllersOf(limits)) {
    if (ctx.only && !ctx.only.includes(name)) continue;
    out.push(...controllers[name]!.plan(limits, ctx.has ? { version: ctx.version, has: ctx.has } : { version: ctx.version }));
  }
  return out;
}

/**
 * writePlan writes planned values into `dir`. A missing file becomes CgroupUnsupportedError
 * (naming the controller, the hierarchy and the file). With `precheck`, every file is checked
 * first so that nothing is written when one is missing. A write refused with EINVAL is retried
 * once after the others (v1 ordering constraints: memory vs memsw, quota vs period).
 */
export function writePlan(writes: CgroupWrite[], dir: string, opts: { version: HierarchyVersion; fs?: CgroupFs; precheck?: boolean }): void {
  const fs = opts.fs ?? nodeCgroupFs;
  const unsupported = (w: CgroupWrite): CgroupUnsupportedError =>
    new CgroupUnsupportedError({
      controller: w.controller,
      hierarchy: opts.version,
      limit: w.file,
      reason: `${join(dir, w.file)} does not exist${w.missing ? `: ${w.missing}` : ''}`,
    });
  if (opts.precheck) {
    for (const w of writes) if (!fs.exists(join(dir, w.file))) throw unsupported(w);
  }
  const deferred: CgroupWrite[] = [];
  const one = (w: CgroupWrite, retry: boolean): void => {
    try {
      fs.write(join(dir, w.file), w.value);
    } catch (err) {
      if (err instanceof ErrnoError && err.code === 'ENOENT') throw unsupported(w);
      if (retry && err instanceof ErrnoError && err.code === 'EINVAL' && writes.length > 1) {
        deferred.push(w);
        return;
      }
      throw err;
    }
  };
  for (const w of writes) one(w, true);
  for (const w of deferred) one(w, false);
}

/**
 * applyLimits plans and writes limits into one cgroup directory on a `version` hierarchy — the
 * controller functions on their own, for a directory laid out as the kernel would (a real
 * cgroup, or a fixture in tests). Nothing is written when a file is missing.
 */
export function applyLimits(limits: CgroupLimits, dir: string, opts: { version: HierarchyVersion; fs?: CgroupFs }): CgroupWrite[] {
  const fs = opts.fs ?? nodeCgroupFs;
  const writes = planLimits(limits, { version: opts.version, has: (f) => fs.exists(join(dir, f)) });
  writePlan(writes, dir, { version: opts.version, fs, precheck: true });
  return writes;
}
