import type { HierarchyVersion } from '../errors.js';
import type { CgroupLimits, ControllerName } from '../limits.js';

/** One interface-file write a controller plans: `value` goes to `file` in the cgroup's directory. */
export interface CgroupWrite {
  controller: ControllerName;
  /** File name inside the cgroup directory, e.g. `memory.max`. */
  file: string;
  value: string;
  /** Why the host lacks this file when it is missing (becomes the CgroupUnsupportedError reason). */
  missing?: string;
}

/** What a controller's plan may know about the directory it will write to. */
export interface PlanContext {
  /** Which kind of hierarchy the directory is on. */
  version: HierarchyVersion;
  /**
   * Whether an interface file exists in the directory, for knobs with alternatives
   * (`io.weight` or `io.bfq.weight`). Without it the first alternative is planned.
   */
  has?(file: string): boolean;
}

/**
 * A controller as a pure function from limits to writes: `plan` reads no file itself (only
 * `ctx.has`), so every mapping is testable without a kernel. It throws CgroupUnsupportedError
 * for a limit the hierarchy cannot express and plans nothing for sections it does not own.
 */
export interface Controller {
  name: ControllerName;
  plan(limits: CgroupLimits, ctx: PlanContext): CgroupWrite[];
}
