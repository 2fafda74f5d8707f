import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrnoError } from '@stratum/native';
import { planLimits, writePlan } from './apply.js';
import {
  CgroupBusyError,
  CgroupError,
  CgroupNotFoundError,
  CgroupPermissionError,
  CgroupTimeoutError,
  CgroupUnsupportedError,
  type HierarchyVersion,
} from './errors.js';
import { nodeCgroupFs, type CgroupFs } from './fs.js';
import { detectHierarchy, type Hierarchy } from './hierarchy.js';
import { controllersOf, ourName, v1Name, validateLimits, type CgroupLimits, type ControllerName } from './limits.js';
import { normalizeCgroupPath, placeCgroup, type CgroupDir, type PlacementOptions } from './placement.js';
import { readStats, type CgroupStats } from './stats.js';

/** Options of {@link Cgroup.create} and {@link Cgroup.open}. */
export interface CgroupOptions extends PlacementOptions {
  /** A directory standing for `/` (fixture hosts in tests); see {@link detectHierarchy}. */
  root?: string;
  /** A hierarchy already detected (skips detection). */
  hierarchy?: Hierarchy;
  /** File access (default: synchronous node:fs). */
  fs?: CgroupFs;
}

/** Options of the operations that wait. */
export interface WaitOptions {
  /** Give up after this many milliseconds. */
  timeout?: number;
  signal?: AbortSignal;
}

/** What cgroup.events says (v2), or the same derived from v1 files. */
export interface CgroupEvents {
  /** Whether the cgroup or a descendant holds a process. */
  populated: boolean;
  /** Whether the cgroup is frozen. */
  frozen: boolean;
}

const isErrno = (err: unknown, ...codes: string[]): err is ErrnoError => err instanceof ErrnoError && codes.includes(err.code);

function checkWait(what: string, opts: WaitOptions, defaultMs: number): number {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`${what}: options must be an object`);
  const t = opts.timeout ?? defaultMs;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new TypeError(`${what}: timeout must be a non-negative number of ms, got ${String(opts.timeout)}`);
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new TypeError(`${what}: signal must be an AbortSignal`);
  return t;
}

function checkPid(pid: unknown): number {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) throw new TypeError(`pid must be a positive integer, got ${String(pid)}`);
  return pid;
}

/** Backing-off poll until `done()` or the deadline; returns whether `done()` became true. */
async function pollUntil(done: () => boolean, deadline: number, signal?: AbortSignal): Promise<boolean> {
  let wait = 1;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    signal?.throwIfAborted();
    await sleep(Math.min(wait, Math.max(1, deadline - Date.now())), undefined, signal ? { signal } : undefined);
    wait = Math.min(wait * 2, 20);
  }
}

/**
 * Cgroup is one control group on every hierarchy it spans — a directory per v1 hierarchy it
 * joined and/or one on the unified v2 hierarchy — behind one interface, on v1, v2 and hybrid
 * hosts alike. `await using cg = await Cgroup.create(...)` kills and removes it at the end.
 *
 * Paths are relative to the hierarchy roots (`stratum/t1` is /sys/fs/cgroup/memory/stratum/t1 on
 * v1 and /sys/fs/cgroup/stratum/t1 on v2). All file access is synchronous cgroupfs I/O, which
 * costs microseconds; the methods that wait (freeze, kill, delete) poll without blocking.
 */
export class Cgroup implements AsyncDisposable {
  /** The cgroup path, relative to the hierarchy roots, normalized (`stratum/t1`). */
  readonly path: string;
  /** The host's hierarchy as detected. */
  readonly hierarchy: Hierarchy;
  /** The cgroup's directories: one per v1 hierarchy it is in, and its unified directory. */
  readonly dirs: readonly CgroupDir[];
  readonly #fs: CgroupFs;
  #deleted = false;

  private constructor(path: string, hierarchy: Hierarchy, dirs: CgroupDir[], fs: CgroupFs) {
    this.path = path;
    this.hierarchy = hierarchy;
    this.dirs = dirs;
    this.#fs = fs;
  }

  /**
   * Cgroup.create makes the cgroup's directory on every hierarchy it needs (v1: one per
   * controller mount, with cpuset.cpus/mems copied from the parent; v2: the unified directory,
   * with the controllers enabled in each ancestor's cgroup.subtree_control) and applies `limits`.
   * Missing parent cgroups are made too. Idempotent for an existing cgroup (limits are written
   * again); on failure, the directories it made are removed again. Like `cgcreate` + `cgset`.
   *
   * Throws TypeError (invalid limits or path), CgroupUnsupportedError (a limit the host cannot
   * apply: nothing is created), CgroupPermissionError (not root on v1, not delegated on v2),
   * ErrnoError (anything else the kernel refuses, with the path).
   */
  static async create(path: string, limits: CgroupLimits = {}, opts: CgroupOptions = {}): Promise<Cgroup> {
    return Cgroup.createSync(path, limits, opts);
  }

  /** Cgroup.createSync is {@link Cgroup.create} without the promise (for hot paths; the work is synchronous anyway). */
  static createSync(path: string, limits: CgroupLimits = {}, opts: CgroupOptions = {}): Cgroup {
    const p = normalizeCgroupPath(path);
    validateLimits(limits);
    const fs = opts.fs ?? nodeCgroupFs;
    const h = opts.hierarchy ?? detectHierarchy(opts.root !== undefined ? { root: opts.root } : {});
    const dirs = placeCgroup(h, p, controllersOf(limits), opts);
    // Dry run of every plan: a limit the hierarchy cannot express fails before anything is made.
    for (const d of dirs) planLimits(limits, { version: d.version, only: d.controllers });
    const cg = new Cgroup(p, h, dirs, fs);
    const created: string[] = [];
    // Controllers that must be there; the rest of the default set is joined where available.
    const required = new Set<string>([...controllersOf(limits), ...(opts.controllers ?? []).map((c) => ourName(c) ?? c)]);
    try {
      for (const d of dirs) cg.#ensureDir(d, created, required);
      for (const d of dirs) {
        const writes = planLimits(limits, { version: d.version, only: d.controllers, has: (f) => fs.exists(join(d.path, f)) });
        if (writes.length) writePlan(writes, d.path, { version: d.version, fs });
      }
    } catch (err) {
      for (const dir of created.reverse()) {
        try {
          fs.rmdir(dir);
        } catch {
          // best effort: the original error matters more
        }
      }
      throw cg.#mapError(err);
    }
    return cg;
  }

  /**
   * Cgroup.open finds an existing cgroup on every hierarchy where its directory exists (the
   * controllers of each v1 mount; on v2 those in its cgroup.controllers). Throws
   * CgroupNotFoundError when it exists nowhere.
   */
  static async open(path: string, opts: Omit<CgroupOptions, keyof PlacementOptions> = {}): Promise<Cgroup> {
    const p = normalizeCgroupPath(path);
    const fs = opts.fs ?? nodeCgroupFs;
    const h = opts.hierarchy ?? detectHierarchy(opts.root !== undefined ? { root: opts.root } : {});
    const dirs: CgroupDir[] = [];
    if (h.v2) {
      const dir = join(h.v2.mountpoint, p);
      if (fs.exists(dir)) {
        const list = fs.exists(join(dir, 'cgroup.controllers')) ? fs.read(join(dir, 'cgroup.controllers')).split(/\s+/).filter(Boolean) : [];
        dirs.push({ version: 'v2', mountpoint: h.v2.mountpoint, path: dir, controllers: list.map(ourName).filter((c): c is ControllerName => c !== undefined) });
      }
    }
    const mounts = new Map<string, ControllerName[]>();
    for (const [kernel, mp] of Object.entries(h.v1)) {
      const n = ourName(kernel);
      if (!n) continue;
      mounts.set(mp, [...(mounts.get(mp) ?? []), n]);
    }
    for (const [mp, controllers] of mounts) {
      const dir = join(mp, p);
      if (fs.exists(dir)) dirs.push({ version: 'v1', mountpoint: mp, path: dir, controllers });
    }
    if (dirs.length === 0) throw new CgroupNotFoundError(p);
    return new Cgroup(p, h, dirs, fs);
  }

  /** dir returns the directory serving `controller` (the unified one for v2 core files), or undefined. */
  dir(controller: ControllerName | 'blkio'): string | undefined {
    const c = ourName(controller);
    return this.dirs.find((d) => c !== undefined && d.controllers.includes(c))?.path;
  }

  /**
   * add moves a process (all its threads) into the cgroup: its pid goes to cgroup.procs on every
   * hierarchy of the cgroup. Children it forks afterwards start inside. Idempotent. Like
   * `cgclassify` / `echo PID > cgroup.procs`. ESRCH (no such process) comes as ErrnoError; a v2
   * cgroup whose children have controllers enabled refuses processes (CGROUP_INTERNAL_PROCESSES).
   */
  async add(pid: number): Promise<void> {
    this.addSync(pid);
  }

  /** addSync is {@link Cgroup.add} without the promise. */
  addSync(pid: number): void {
    const value = String(checkPid(pid));
    this.#alive();
    for (const d of this.dirs) {
      try {
        this.#fs.write(join(d.path, 'cgroup.procs'), value);
      } catch (err) {
        if (d.version === 'v2' && isErrno(err, 'EBUSY')) {
          throw new CgroupError(
            'CGROUP_INTERNAL_PROCESSES',
            `${d.path} has controllers enabled for its children (cgroup.subtree_control), and cgroup v2 keeps processes only in leaves ("no internal processes"); add the process to a child cgroup`,
            { cgroup: this.path, cause: err },
          );
        }
        throw this.#mapError(err);
      }
    }
  }

  /**
   * procs lists the processes in the cgroup (`recursive`: and in its descendants), from
   * cgroup.procs of every hierarchy, sorted and without duplicates. A directory that no longer
   * exists counts as empty.
   */
  async procs(opts: { recursive?: boolean } = {}): Promise<number[]> {
    return this.#procs(this.dirs, opts.recursive ?? false);
  }

  /**
   * update changes limits of a live cgroup. Every file is checked before the first write, so a
   * limit the host lacks changes nothing (CgroupUnsupportedError). A controller the cgroup was
   * created without is CgroupUnsupportedError too. Like `docker update`.
   */
  async update(limits: CgroupLimits): Promise<void> {
    validateLimits(limits);
    this.#alive();
    const byDir = new Map<CgroupDir, ReturnType<typeof planLimits>>();
    for (const c of controllersOf(limits)) {
      const d = this.dirs.find((x) => x.controllers.includes(c));
      if (!d) {
        const on: HierarchyVersion | 'none' = this.hierarchy.v1[v1Name(c)] !== undefined ? 'v1' : this.hierarchy.v2?.controllers.includes(c) ? 'v2' : 'none';
        throw new CgroupUnsupportedError({ controller: c, hierarchy: on, limit: c, reason: `cgroup ${this.path} was created without the ${c} controller`, cgroup: this.path });
      }
      byDir.set(d, []);
    }
    for (const d of byDir.keys()) {
      byDir.set(d, planLimits(limits, { version: d.version, only: d.controllers, has: (f) => this.#fs.exists(join(d.path, f)) }));
    }
    try {
      // Check every file of every directory first, then write.
      for (const [d, writes] of byDir) this.#precheck(d, writes);
      for (const [d, writes] of byDir) writePlan(writes, d.path, { version: d.version, fs: this.#fs });
    } catch (err) {
      throw this.#mapError(err);
    }
  }

  /** stats reads memory, cpu, pids, io and hugetlb usage (see {@link CgroupStats} for the v1/v2 mapping). */
  async stats(): Promise<CgroupStats> {
    this.#alive();
    return readStats(this.dirs, this.#fs);
  }

  /** events reads cgroup.events (v2), or derives the same from cgroup.procs and freezer.state (v1). */
  async events(): Promise<CgroupEvents> {
    this.#alive();
    const v2 = this.#v2();
    if (v2) {
      const ev = this.#keyed(join(v2.path, 'cgroup.events'));
      return { populated: ev.populated === 1, frozen: ev.frozen === 1 };
    }
    const fz = this.dirs.find((d) => d.controllers.includes('freezer'));
    const state = fz ? this.#fs.read(join(fz.path, 'freezer.state')).trim() : 'THAWED';
    return { populated: this.#procs(this.dirs, true).length > 0, frozen: state === 'FROZEN' };
  }

  /**
   * freeze stops every process in the cgroup and its descendants and resolves once the kernel
   * reports them frozen: v2 writes cgroup.freeze and waits for `frozen 1` in cgroup.events; v1
   * writes FROZEN to freezer.state and polls until it reads FROZEN. After `timeout` (default
   * 5 s) the freeze is undone and CgroupTimeoutError thrown. Idempotent. Like `docker pause`.
   */
  async freeze(opts: WaitOptions = {}): Promise<void> {
    const timeout = checkWait('freeze', opts, 5000);
    this.#alive();
    const fz = this.#freezer('v2');
    try {
      const ok = await this.#setFrozen(fz, true, Date.now() + timeout, opts.signal);
      if (ok) return;
    } catch (err) {
      await this.#setFrozen(fz, false, Date.now() + 1000).catch(() => undefined);
      throw this.#mapError(err);
    }
    await this.#setFrozen(fz, false, Date.now() + 1000).catch(() => undefined);
    throw new CgroupTimeoutError(this.path, 'freeze', timeout, `the ${fz.version} freezer did not report every process frozen (a task in uninterruptible sleep?)`);
  }

  /** thaw resumes a frozen cgroup and resolves once the kernel reports it thawed. Idempotent. Like `docker unpause`. */
  async thaw(opts: WaitOptions = {}): Promise<void> {
    const timeout = checkWait('thaw', opts, 5000);
    this.#alive();
    const fz = this.#freezer('v2');
    try {
      if (await this.#setFrozen(fz, false, Date.now() + timeout, opts.signal)) return;
    } catch (err) {
      throw this.#mapError(err);
    }
    throw new CgroupTimeoutError(this.path, 'freeze', timeout, 'did not report thawed');
  }

  /**
   * kill SIGKILLs every process in the cgroup and its descendants and resolves once all are
   * gone. v2 (kernel ≥ 5.14): one write to cgroup.kill. v1 (and what cgroup.kill did not reach):
   * freeze, SIGKILL every pid in cgroup.procs of every hierarchy, thaw, repeat until empty — the
   * freeze stops a fork bomb from outrunning the walk. After `timeout` (default 10 s)
   * CgroupTimeoutError. Idempotent; a cgroup already gone is empty. Like `docker kill`.
   */
  async kill(opts: WaitOptions = {}): Promise<void> {
    const timeout = checkWait('kill', opts, 10_000);
    const deadline = Date.now() + timeout;
    if (this.#deleted) return;
    const v2 = this.#v2();
    try {
      if (v2 && this.#fs.exists(join(v2.path, 'cgroup.kill'))) {
        try {
          this.#fs.write(join(v2.path, 'cgroup.kill'), '1');
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
        await pollUntil(() => this.#procs(this.dirs, true).length === 0, Math.min(deadline, Date.now() + 1000), opts.signal);
      }
      const walkFreezer = this.dirs.some((d) => d.controllers.includes('freezer')) ? this.#freezer('v1') : v2 ? this.#freezer('v2') : undefined;
      let wait = 1;
      for (;;) {
        let pids = this.#procs(this.dirs, true);
        if (pids.length === 0) return;
        if (Date.now() >= deadline) throw new CgroupTimeoutError(this.path, 'kill', timeout, `pids ${pids.join(', ')} are still there`);
        opts.signal?.throwIfAborted();
        if (walkFreezer) {
          await this.#setFrozen(walkFreezer, true, Math.min(deadline, Date.now() + 500), opts.signal).catch(() => false);
          pids = this.#procs(this.dirs, true);
        }
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // ESRCH: it exited meanwhile
          }
        }
        if (walkFreezer) await this.#setFrozen(walkFreezer, false, Date.now() + 1000).catch(() => undefined);
        await sleep(wait);
        wait = Math.min(wait * 2, 20);
      }
    } catch (err) {
      throw this.#mapError(err);
    }
  }

  /**
   * delete removes the cgroup's directories on every hierarchy, child cgroups first. It waits
   * (up to `timeout`, default 5 s) for the cgroup to empty, and refuses with CgroupBusyError
   * (naming the pids) while processes remain: kill() first. Idempotent; directories already
   * gone are fine. Like `cgdelete -r`.
   */
  async delete(opts: WaitOptions = {}): Promise<void> {
    const timeout = checkWait('delete', opts, 5000);
    if (this.#deleted) return;
    // Fast path: rmdir(2) itself refuses (EBUSY) a populated cgroup or one with children.
    let pending: CgroupDir[] = [];
    try {
      for (const d of this.dirs) if (!this.#tryRmdir(d.path)) pending.push(d);
    } catch (err) {
      throw this.#mapError(err);
    }
    if (pending.length === 0) {
      this.#deleted = true;
      return;
    }
    const deadline = Date.now() + timeout;
    let wait = 1;
    for (;;) {
      try {
        if (this.#procs(pending, true).length === 0) {
          pending = pending.filter((d) => !this.#removeTree(d.path));
          if (pending.length === 0) {
            this.#deleted = true;
            return;
          }
        }
      } catch (err) {
        throw this.#mapError(err);
      }
      if (Date.now() >= deadline) throw new CgroupBusyError(this.path, this.#procs(pending, true), timeout);
      opts.signal?.throwIfAborted();
      await sleep(Math.min(wait, Math.max(1, deadline - Date.now())));
      wait = Math.min(wait * 2, 20);
    }
  }

  /** Symbol.asyncDispose kills every process in the cgroup, then deletes it (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#deleted) return;
    await this.kill();
    await this.delete();
  }

  // ---- internals ----

  #alive(): void {
    if (this.#deleted) throw new CgroupError('CGROUP_DELETED', `cgroup ${this.path} was deleted`, { cgroup: this.path });
  }

  #v2(): CgroupDir | undefined {
    return this.dirs.find((d) => d.version === 'v2');
  }

  #keyed(path: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const line of this.#fs.read(path).split('\n')) {
      const [k, v] = line.split(' ');
      if (k && v !== undefined) out[k] = Number(v);
    }
    return out;
  }

  /** The freezer to use: the v2 core freezer or the v1 freezer controller, `prefer`red when both. */
  #freezer(prefer: HierarchyVersion): CgroupDir {
    const v1 = this.dirs.find((d) => d.version === 'v1' && d.controllers.includes('freezer'));
    const v2 = this.#v2();
    const fz = prefer === 'v2' ? (v2 ?? v1) : (v1 ?? v2);
    if (!fz) {
      throw new CgroupUnsupportedError({
        controller: 'freezer',
        hierarchy: this.hierarchy.v1.freezer !== undefined ? 'v1' : 'none',
        limit: 'freeze',
        reason: `cgroup ${this.path} is in no freezer hierarchy and has no unified directory`,
        cgroup: this.path,
      });
    }
    return fz;
  }

  async #setFrozen(fz: CgroupDir, frozen: boolean, deadline: number, signal?: AbortSignal): Promise<boolean> {
    const fs = this.#fs;
    if (fz.version === 'v2') {
      fs.write(join(fz.path, 'cgroup.freeze'), frozen ? '1' : '0');
      return pollUntil(() => (this.#keyed(join(fz.path, 'cgroup.events')).frozen === 1) === frozen, deadline, signal);
    }
    const file = join(fz.path, 'freezer.state');
    const want = frozen ? 'FROZEN' : 'THAWED';
    fs.write(file, want);
    let n = 0;
    return pollUntil(
      () => {
        const s = fs.read(file).trim();
        if (s === want) return true;
        // A v1 freeze can stall on tasks that raced with it; writing FROZEN again retries them.
        if (++n % 8 === 0) fs.write(file, want);
        return false;
      },
      deadline,
      signal,
    );
  }

  #procs(dirs: readonly CgroupDir[], recursive: boolean): number[] {
    const seen = new Set<number>();
    const walk = (dir: string): void => {
      let text: string;
      try {
        text = this.#fs.read(join(dir, 'cgroup.procs'));
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'ENODEV')) return;
        throw err;
      }
      for (const line of text.split('\n')) if (line) seen.add(Number(line));
      if (recursive) {
        let subs: string[] = [];
        try {
          subs = this.#fs.subdirs(dir);
        } catch (err) {
          if (!isErrno(err, 'ENOENT', 'ENODEV')) throw err;
        }
        for (const s of subs) walk(join(dir, s));
      }
    };
    for (const d of dirs) walk(d.path);
    return [...seen].sort((a, b) => a - b);
  }

  /** rmdir, true when gone (or already gone), false when the kernel says it is busy. */
  #tryRmdir(dir: string): boolean {
    try {
      this.#fs.rmdir(dir);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return true;
      if (isErrno(err, 'EBUSY', 'ENOTEMPTY')) return false;
      throw err;
    }
  }

  /** Removes child cgroups depth-first, then `dir`; true when all are gone. */
  #removeTree(dir: string): boolean {
    let subs: string[] = [];
    try {
      subs = this.#fs.subdirs(dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return true;
      throw err;
    }
    let ok = true;
    for (const s of subs) ok = this.#removeTree(join(dir, s)) && ok;
    return ok && this.#tryRmdir(dir);
  }

  #precheck(d: CgroupDir, writes: ReturnType<typeof planLimits>): void {
    for (const w of writes) {
      if (!this.#fs.exists(join(d.path, w.file))) {
        throw new CgroupUnsupportedError({
          controller: w.controller,
          hierarchy: d.version,
          limit: w.file,
          reason: `${join(d.path, w.file)} does not exist${w.missing ? `: ${w.missing}` : ''}`,
          cgroup: this.path,
        });
      }
    }
  }

  /** Makes a cgroup directory (and missing parents) as its hierarchy requires. */
  #ensureDir(d: CgroupDir, created: string[], required: ReadonlySet<string>): void {
    const fs = this.#fs;
    const cpuset = d.version === 'v1' && this.hierarchy.v1.cpuset === d.mountpoint;
    const mk = (dir: string): boolean => {
      try {
        fs.mkdir(dir);
      } catch (err) {
        if (isErrno(err, 'EEXIST')) return false;
        throw err;
      }
      created.push(dir);
      if (cpuset) this.#initCpuset(dir, d.mountpoint);
      return true;
    };
    if (d.version === 'v1') {
      try {
        mk(d.path);
        return;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      const segs = this.path.split('/');
      for (let i = 1; i <= segs.length; i++) mk(join(d.mountpoint, ...segs.slice(0, i)));
      return;
    }
    // v2: enable the controllers top-down in every ancestor's subtree_control, then make the leaf.
    const segs = this.path.split('/');
    let cur = d.mountpoint;
    for (const seg of segs) {
      if (d.controllers.length) this.#enableControllers(cur, d, required);
      cur = join(cur, seg);
      mk(cur);
    }
  }

  /** A fresh v1 cpuset has empty cpus/mems and refuses processes: copy them from the parent. */
  #initCpuset(dir: string, mountpoint: string): void {
    const fs = this.#fs;
    const parent = dirname(dir);
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (fs.read(join(dir, f)).trim() !== '') continue;
      let value = fs.read(join(parent, f)).trim();
      if (value === '' && parent !== mountpoint && parent.startsWith(mountpoint)) {
        this.#initCpuset(parent, mountpoint);
        value = fs.read(join(parent, f)).trim();
      }
      fs.write(join(dir, f), value);
    }
  }

  /**
   * Enables the directory's controllers in `dir`'s cgroup.subtree_control. A default controller
   * that `dir` does not offer (a delegated subtree with fewer) is dropped from `d`; a required
   * one is CgroupUnsupportedError.
   */
  #enableControllers(dir: string, d: CgroupDir, required: ReadonlySet<string>): void {
    const fs = this.#fs;
    const enabled = fs.read(join(dir, 'cgroup.subtree_control')).split(/\s+/);
    let missing = d.controllers.filter((c) => !enabled.includes(c));
    if (missing.length === 0) return;
    const offered = fs.read(join(dir, 'cgroup.controllers')).split(/\s+/);
    const dropped = missing.filter((c) => !offered.includes(c) && !required.has(c));
    if (dropped.length) {
      d.controllers = d.controllers.filter((c) => !dropped.includes(c));
      missing = missing.filter((c) => !dropped.includes(c));
      if (missing.length === 0) return;
    }
    for (const c of missing) {
      if (!offered.includes(c)) {
        throw new CgroupUnsupportedError({
          controller: c,
          hierarchy: 'v2',
          limit: c,
          reason: `${dir} does not offer it in cgroup.controllers (its parent has not enabled it, or the subtree is not delegated with it)`,
          cgroup: this.path,
        });
      }
    }
    try {
      fs.write(join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
    } catch (err) {
      if (isErrno(err, 'EBUSY')) {
        throw new CgroupError(
          'CGROUP_INTERNAL_PROCESSES',
          `${dir} holds processes, so cgroup v2 ("no internal processes") will not enable ${missing.join(', ')} for its children; move them into a leaf cgroup first`,
          { cgroup: this.path, cause: err },
        );
      }
      throw err;
    }
  }

  /** EACCES/EPERM for a caller who is not root becomes CgroupPermissionError saying why. */
  #mapError(err: unknown): unknown {
    if (!isErrno(err, 'EACCES', 'EPERM') || process.geteuid?.() === 0) return err;
    const path = err.path ?? this.dirs[0]?.path ?? '';
    const d = this.dirs.find((x) => path === x.mountpoint || path.startsWith(`${x.mountpoint}/`));
    const version: HierarchyVersion = d?.version ?? (this.hierarchy.v2 && path.startsWith(this.hierarchy.v2.mountpoint) ? 'v2' : 'v1');
    let owner: number | undefined;
    for (let p = path; p.length > 1; p = dirname(p)) {
      try {
        owner = this.#fs.owner(p);
        break;
      } catch {
        // keep climbing to the nearest existing ancestor
      }
    }
    return new CgroupPermissionError({
      reason: version === 'v1' ? 'v1-needs-root' : 'not-delegated',
      path,
      hierarchy: version,
      ...(owner !== undefined ? { owner } : {}),
      cgroup: this.path,
      cause: err,
    });
  }
}
