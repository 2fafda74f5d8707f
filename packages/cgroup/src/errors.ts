import { ErrnoError } from '@stratum/native';
import { StratumError } from '@stratum/oci';

/** Which kind of hierarchy a controller (or a cgroup directory) lives on. */
export type HierarchyVersion = 'v1' | 'v2';

/**
 * CgroupError is the base of every error this package throws on purpose (syscall failures are
 * {@link ErrnoError}s instead, with the cgroupfs path). Match `code` or `instanceof`.
 */
export class CgroupError extends StratumError {
  /** The cgroup path (relative to the hierarchy roots) the operation was about, when there is one. */
  readonly cgroup?: string;
  constructor(code: string, message: string, opts: { cgroup?: string; cause?: unknown } = {}) {
    super(code, message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    if (opts.cgroup !== undefined) this.cgroup = opts.cgroup;
  }
}

/**
 * CgroupUnsupportedError: a limit (or operation) the host cannot apply. It names the controller,
 * the hierarchy it sits on (`none` when the controller is on no hierarchy at all) and the limit
 * (`memory.high`, `hugetlb.1GB`, `freeze` …). Nothing is ever silently ignored instead.
 */
export class CgroupUnsupportedError extends CgroupError {
  readonly controller: string;
  readonly hierarchy: HierarchyVersion | 'none';
  readonly limit: string;
  readonly reason: string;
  constructor(opts: { controller: string; hierarchy: HierarchyVersion | 'none'; limit: string; reason: string; cgroup?: string }) {
    const where = opts.hierarchy === 'none' ? 'on no cgroup hierarchy of this host' : `on a cgroup ${opts.hierarchy} hierarchy`;
    super('CGROUP_UNSUPPORTED', `${opts.limit}: cannot be applied, the ${opts.controller} controller is ${where}: ${opts.reason}`, opts);
    this.controller = opts.controller;
    this.hierarchy = opts.hierarchy;
    this.limit = opts.limit;
    this.reason = opts.reason;
  }
}

/**
 * CgroupBusyError: `delete()` gave up because the cgroup (or a descendant) still held processes
 * when its timeout ran out. The cgroup is left as it was; `pids` are the processes still in it.
 */
export class CgroupBusyError extends CgroupError {
  readonly pids: number[];
  readonly timeoutMs: number;
  constructor(cgroup: string, pids: number[], timeoutMs: number) {
    super(
      'CGROUP_BUSY',
      `cgroup ${cgroup} is still populated after ${timeoutMs} ms (${pids.length ? `pids ${pids.slice(0, 10).join(', ')}${pids.length > 10 ? ' …' : ''}` : 'exiting processes'}); kill() it first`,
      { cgroup },
    );
    this.pids = pids;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * CgroupPermissionError: the caller may not manage this cgroup. `reason` is `v1-needs-root` (a
 * v1 hierarchy can only be written by root) or `not-delegated` (a v2 directory the caller does
 * not own: ask for a delegated subtree, e.g. `systemd-run --user --scope -p Delegate=yes`).
 */
export class CgroupPermissionError extends CgroupError {
  readonly reason: 'v1-needs-root' | 'not-delegated';
  readonly path: string;
  readonly hierarchy: HierarchyVersion;
  /** Owner uid of the directory that refused, when it could be read. */
  readonly owner?: number;
  constructor(opts: { reason: 'v1-needs-root' | 'not-delegated'; path: string; hierarchy: HierarchyVersion; owner?: number; cgroup?: string; cause?: unknown }) {
    const why =
      opts.reason === 'v1-needs-root'
        ? 'cgroup v1 hierarchies can only be managed by root (v1 has no safe delegation); run as root or on a cgroup v2 host with a delegated subtree'
        : `the cgroup v2 directory is not delegated to uid ${process.geteuid?.() ?? '?'}${opts.owner !== undefined ? ` (owned by uid ${opts.owner})` : ''}; run inside a delegated subtree (systemd: Delegate=yes, e.g. \`systemd-run --user --scope -p Delegate=yes …\`) or as root`;
    super('CGROUP_PERMISSION', `${opts.path}: ${why}`, opts);
    this.reason = opts.reason;
    this.path = opts.path;
    this.hierarchy = opts.hierarchy;
    if (opts.owner !== undefined) this.owner = opts.owner;
  }
}

/** CgroupNotFoundError: `Cgroup.open()` found the cgroup on no hierarchy. */
export class CgroupNotFoundError extends CgroupError {
  constructor(cgroup: string) {
    super('CGROUP_NOT_FOUND', `cgroup ${cgroup} does not exist on any hierarchy`, { cgroup });
  }
}

/** CgroupTimeoutError: `freeze()` (or `kill()`) did not complete within its timeout; a freeze is undone. */
export class CgroupTimeoutError extends CgroupError {
  readonly operation: 'freeze' | 'kill';
  readonly timeoutMs: number;
  constructor(cgroup: string, operation: 'freeze' | 'kill', timeoutMs: number, detail: string) {
    super('CGROUP_TIMEOUT', `cgroup ${cgroup}: ${operation} did not complete within ${timeoutMs} ms: ${detail}`, { cgroup });
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * toErrnoError turns a Node fs error into the {@link ErrnoError} every Stratum syscall failure
 * is (code, positive errno, syscall, path); anything else is returned as it is.
 */
export function toErrnoError(err: unknown): unknown {
  if (err instanceof ErrnoError) return err;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (e && typeof e.code === 'string' && typeof e.errno === 'number' && typeof e.syscall === 'string') {
    return new ErrnoError({
      code: e.code,
      errno: Math.abs(e.errno),
      syscall: e.syscall,
      ...(e.path !== undefined ? { path: e.path } : {}),
      ...(e.dest !== undefined ? { dest: e.dest } : {}),
      message: describe(e),
    });
  }
  return err;
}

function describe(e: NodeJS.ErrnoException): string {
  // Node's message is "ECODE: text, syscall 'path'"; keep only the text.
  const m = /^[A-Z0-9]+: (.*?), \w+/.exec(e.message);
  return m ? m[1]! : e.message;
}
