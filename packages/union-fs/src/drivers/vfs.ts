import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayerChange } from '@stratum/layer';
import { copyLayer } from '../copy.js';
import type { Driver, PrepareOptions, Rootfs } from './driver.js';
import { cachedCheck, removeMade } from './union.js';

const MARKER = 'vfs.json';

class VfsRootfs implements Rootfs {
  readonly driver = 'vfs' as const;
  readonly path: string;
  readonly dir: string;
  readonly layers: readonly string[];
  readonly readonly: boolean;
  readonly #base: string;

  constructor(dir: string, layers: readonly string[], readonly: boolean) {
    this.dir = dir;
    this.layers = Object.freeze([...layers]);
    this.readonly = readonly;
    this.#base = join(dir, 'base');
    this.path = readonly ? this.#base : join(dir, 'rootfs');
  }

  async diff(): Promise<LayerChange> {
    return { from: this.#base, to: this.path };
  }

  async release(): Promise<void> {
    // Nothing is mounted.
  }

  async remove(): Promise<void> {
    removeMade(this.dir, [join(this.dir, 'rootfs'), this.#base, join(this.dir, MARKER)]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/**
 * vfsDriver is the full-copy driver (Docker's vfs): prepare copies the layers bottom to top into
 * `base/` (applying their whiteouts and opaque directories), then `base/` into `rootfs/`, the
 * copy the container writes. diff() is `{ from: base, to: rootfs }`. Works everywhere without
 * privilege (no mount), at the price of the copies (reflinks where the filesystem has them).
 * A `vfs.json` marker records a finished prepare: preparing the same dir again reuses it.
 */
export function vfsDriver(): Driver {
  return {
    name: 'vfs',
    check: (opts = {}) => cachedCheck('vfs', opts.dir, async () => ({ available: true, reason: 'vfs needs no kernel or FUSE support: every layer is copied' })),
    async prepare(layers: readonly string[], opts: PrepareOptions): Promise<Rootfs> {
      if (!Array.isArray(layers)) throw new TypeError('vfs driver: layers must be an array of directories (top first)');
      if (opts === null || typeof opts !== 'object' || typeof opts.dir !== 'string' || opts.dir === '') throw new TypeError('vfs driver: options.dir must be a directory path');
      opts.signal?.throwIfAborted();
      const dir = resolve(opts.dir);
      const abs = layers.map((l) => resolve(l));
      const readonly = opts.readonly ?? false;
      const marker = join(dir, MARKER);
      const want = JSON.stringify({ layers: abs, readonly });
      if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return new VfsRootfs(dir, abs, readonly);
      const hadDir = existsSync(dir);
      const base = join(dir, 'base');
      const rootfs = join(dir, 'rootfs');
      const made = [rootfs, base, marker];
      try {
        for (const p of made) rmSync(p, { recursive: true, force: true });
        mkdirSync(base, { recursive: true, mode: 0o755 });
        for (const layer of [...abs].reverse()) await copyLayer(layer, base, { whiteouts: true, signal: opts.signal });
        if (!readonly) {
          mkdirSync(rootfs, { mode: 0o755 });
          await copyLayer(base, rootfs, { whiteouts: false, signal: opts.signal });
        }
        writeFileSync(marker, want);
      } catch (e) {
        removeMade(dir, made, hadDir);
        throw e;
      }
      return new VfsRootfs(dir, abs, readonly);
    },
  };
}
