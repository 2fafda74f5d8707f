import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync, lstatSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LayerChange } from '@stratum/layer';
import { DriverUnavailableError, OverlayMountError, type DriverName } from '../errors.js';
import type { Mount } from '../mount.js';
import type { OverlayOptions } from '../overlay.js';
import type { Driver, DriverCheck, PrepareOptions, Rootfs } from './driver.js';

/** The mount function a union driver uses: mountOverlay or mountFuseOverlay. */
export type UnionMountFn = (opts: OverlayOptions) => Promise<Mount>;

/** Removes `paths`, then `dir` if that left it empty (unless `keepDir`: the caller made it). */
export function removeMade(dir: string, paths: readonly string[], keepDir = false): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
  if (keepDir) return;
  try {
    rmdirSync(dir);
  } catch {
    // not empty (the caller's own files) or gone: leave it
  }
}

const checks = new Map<string, Promise<DriverCheck>>();

/** cachedCheck runs `fn` once per process for a driver and a scratch directory. */
export function cachedCheck(name: DriverName, dir: string | undefined, fn: (scratch: string) => Promise<DriverCheck>): Promise<DriverCheck> {
  const scratch = resolve(dir ?? tmpdir());
  const key = `${name}\0${scratch}`;
  let p = checks.get(key);
  if (!p) {
    p = fn(scratch).catch((e: unknown) => ({ available: false, reason: `${name} could not be tried in ${scratch}: ${(e as Error).message}` }));
    checks.set(key, p);
  }
  return p;
}

/**
 * tryUnion mounts a two-layer test union in a scratch directory, copies a file up and deletes a
 * lower one through it, and checks the upper directory got the copy and a whiteout. The kernel
 * (or the FUSE daemon) is the only judge of whether a union works for this process.
 */
export async function tryUnion(mount: UnionMountFn, scratch: string): Promise<{ ok: true; mount: Mount } | { ok: false; reason: string; error?: unknown }> {
  const d = mkdtempSync(join(scratch, 'stratum-driver-check-'));
  try {
    const [l0, l1, upper, work, merged] = ['l0', 'l1', 'upper', 'work', 'merged'].map((n) => join(d, n)) as [string, string, string, string, string];
    for (const p of [l0, l1, upper, work, merged]) mkdirSync(p);
    writeFileSync(join(l1, 'a'), 'lower');
    writeFileSync(join(l0, 'b'), 'lower');
    let m: Mount;
    try {
      m = await mount({ lower: [l0, l1], upper, work, target: merged, source: 'stratum-driver-check' });
    } catch (e) {
      return { ok: false, reason: e instanceof OverlayMountError ? `${e.syscall}: ${e.errno}${e.log ? ` (${e.log})` : ''}` : (e as Error).message, error: e };
    }
    try {
      writeFileSync(join(merged, 'a'), 'upper');
      unlinkSync(join(merged, 'b'));
      if (readFileSync(join(upper, 'a'), 'utf8') !== 'upper') return { ok: false, reason: 'mounted, but the copy-up did not reach the upper directory' };
      if (readFileSync(join(l1, 'a'), 'utf8') !== 'lower') return { ok: false, reason: 'mounted, but a write changed a lower layer' };
      const wh = lstatSync(join(upper, 'b'), { throwIfNoEntry: false }) ?? lstatSync(join(upper, '.wh.b'), { throwIfNoEntry: false });
      if (!wh) return { ok: false, reason: 'mounted, but deleting a lower file left no whiteout' };
      return { ok: true, mount: m };
    } catch (e) {
      return { ok: false, reason: `mounted, but writing through it failed: ${(e as Error).message}` };
    } finally {
      await m.unmount({ lazy: true });
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

class UnionRootfs implements Rootfs {
  readonly driver: DriverName;
  readonly path: string;
  readonly dir: string;
  readonly layers: readonly string[];
  readonly readonly: boolean;
  readonly #mount: Mount;
  readonly #made: string[];
  readonly #xattrPrefix: 'trusted' | 'user';
  readonly #kernelForm: UnionDriverSpec['kernelForm'];

  constructor(driver: DriverName, dir: string, layers: readonly string[], mount: Mount, made: string[], xattrPrefix: 'trusted' | 'user', kernelForm: UnionDriverSpec['kernelForm']) {
    this.driver = driver;
    this.dir = dir;
    this.path = mount.target;
    this.layers = Object.freeze([...layers]);
    this.readonly = mount.readonly;
    this.#mount = mount;
    this.#made = made;
    this.#xattrPrefix = xattrPrefix;
    this.#kernelForm = kernelForm;
  }

  async diff(): Promise<LayerChange> {
    const upper = this.#mount.upper!;
    if (!this.#kernelForm) return { upper, xattrPrefix: this.#xattrPrefix };
    const farm = join(this.dir, 'diff');
    await this.#kernelForm(upper, farm, this.#xattrPrefix);
    return { upper: farm, xattrPrefix: this.#xattrPrefix };
  }

  async release(): Promise<void> {
    await this.#mount.unmount();
  }

  async remove(): Promise<void> {
    await this.release();
    removeMade(this.dir, this.#made);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/** What makes a union driver: its name, how it mounts, how it decides it is usable. */
export interface UnionDriverSpec {
  name: DriverName;
  mount: UnionMountFn;
  check(scratch: string): Promise<DriverCheck>;
  /** The xattr namespace of opaque markers in the upper dir, given the mount. */
  xattrPrefix(m: Mount): 'trusted' | 'user';
  /** Rewrites the upper dir into `farm` in the kernel's form, when the union daemon writes another (fuse-overlayfs). */
  kernelForm?: (upper: string, farm: string, prefix: 'trusted' | 'user') => Promise<void>;
  /** Errors that mean "this driver cannot work here" (vs. a problem with the layers). */
  unavailable(e: unknown): string | undefined;
}

/** unionDriver builds a {@link Driver} over a union mount (kernel overlay or fuse-overlayfs). */
export function unionDriver(spec: UnionDriverSpec): Driver {
  return {
    name: spec.name,
    check: (opts = {}) => cachedCheck(spec.name, opts.dir, spec.check),
    async prepare(layers: readonly string[], opts: PrepareOptions): Promise<Rootfs> {
      if (!Array.isArray(layers)) throw new TypeError(`${spec.name} driver: layers must be an array of directories (top first)`);
      if (opts === null || typeof opts !== 'object' || typeof opts.dir !== 'string' || opts.dir === '') throw new TypeError(`${spec.name} driver: options.dir must be a directory path`);
      opts.signal?.throwIfAborted();
      const dir = resolve(opts.dir);
      const abs = layers.map((l) => resolve(l));
      const [upper, work, merged, empty] = ['upper', 'work', 'merged', 'empty'].map((n) => join(dir, n)) as [string, string, string, string];
      const hadDir = existsSync(dir);
      const made = [upper, work, merged, empty, join(dir, 'diff')];
      const fresh = !existsSync(upper);
      mkdirSync(dir, { recursive: true });
      for (const p of [upper, work, merged]) mkdirSync(p, { recursive: true, mode: 0o755 });
      if (fresh && abs.length > 0) {
        // As Docker's overlay2: the new upper root takes the owner and mode of the top layer's
        // root, so that the merged "/" looks like the image's.
        const st = statSync(abs[0]!);
        chmodSync(upper, st.mode & 0o7777);
        try {
          chownSync(upper, st.uid, st.gid);
        } catch {
          // rootless: stays the caller's
        }
      }
      const lower = abs.length > 0 ? abs : [empty];
      if (abs.length === 0) mkdirSync(empty, { recursive: true });
      try {
        const m = await spec.mount({ lower, upper, work, target: merged, readonly: opts.readonly ?? false, source: 'stratum-rootfs', signal: opts.signal });
        return new UnionRootfs(spec.name, dir, abs, m, made, spec.xattrPrefix(m), spec.kernelForm);
      } catch (e) {
        if (fresh) removeMade(dir, made, hadDir);
        const why = spec.unavailable(e);
        if (why !== undefined) throw new DriverUnavailableError(spec.name, why, { cause: e });
        throw e;
      }
    },
  };
}
