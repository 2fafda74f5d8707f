import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer, createLayer } from '@stratum/layer';
import type { Image, Platform } from '@stratum/oci';
import { writeOutput, type ArchiveOutput, type OutputOptions } from './output.js';
import { isDirectory } from './reader.js';
import type { ArchiveStore } from './store.js';

/** ExportRootfsOptions are the options of {@link exportRootfs}. */
export interface ExportRootfsOptions extends OutputOptions {
  /** The store a ref is looked up in (needed when `source` is a ref). */
  store?: ArchiveStore;
  /** The platform to pick when the ref names an index (default: the host's). */
  platform?: Platform | string;
  /** Where the image is flattened (default the OS temp directory); it needs the room of the unpacked image. */
  tmpDir?: string;
  /** Apply without chown/devices (default: when not root), as `applyLayer`'s `rootless`. */
  rootless?: boolean;
}

/** ExportRootfsResult: what {@link exportRootfs} wrote. */
export interface ExportRootfsResult {
  /** Bytes of the tar written. */
  size: number;
}

/**
 * exportRootfs writes a flattened filesystem as one plain tar: a directory (a container's rootfs)
 * as it is, or an image (`source` a ref in `opts.store`, or any {@link Image}) with all its layers
 * applied — whiteouts and opaque directories honoured, hard links kept, no whiteout files left.
 *
 * An image is flattened for real, not by a streaming merge: its layers are applied bottom first
 * with @stratum/layer's `applyLayer` (safe extraction inside the directory) into a fresh temporary
 * directory, which `createLayer` then tars (sorted, deterministic) and which is removed afterwards,
 * whatever happens. That costs the disk room of the unpacked image, and gives exactly the tree a
 * container would see. A path output is written atomically. Which source a string is: a path that
 * is an existing directory, else a ref.
 *
 * CLI equivalent: `docker export CONTAINER > rootfs.tar` (of a directory);
 * `docker create IMAGE` + `docker export` (of an image).
 */
export async function exportRootfs(source: string | Image, output: ArchiveOutput, opts: ExportRootfsOptions = {}): Promise<ExportRootfsResult> {
  if (typeof source === 'string' && (await isDirectory(source))) return tarDirectory(source, output, opts);
  let image: Image;
  if (typeof source === 'string') {
    if (!opts.store) throw new TypeError(`exportRootfs: ${JSON.stringify(source)} is not a directory, and no store was given to look it up as a ref`);
    image = await opts.store.image(source, opts.platform !== undefined ? { platform: opts.platform } : {});
  } else image = source;
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'stratum-export-'));
  try {
    const rootless = opts.rootless ?? process.getuid?.() !== 0;
    for (const layer of await image.layers()) {
      opts.signal?.throwIfAborted();
      // The tree a container sees: setuid programs and device nodes stay (docker export keeps them).
      await applyLayer(await layer.uncompressed({ signal: opts.signal }), dir, { rootless, keepSetuid: true, keepDevices: !rootless, signal: opts.signal });
    }
    return await tarDirectory(dir, output, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function tarDirectory(dir: string, output: ArchiveOutput, opts: ExportRootfsOptions): Promise<ExportRootfsResult> {
  const layer = createLayer({ from: undefined, to: dir }, { compression: 'none', signal: opts.signal });
  await writeOutput(
    output,
    async (sink) => {
      for await (const chunk of layer.stream) await sink.write(chunk as Uint8Array);
    },
    opts,
  );
  return { size: await layer.size };
}
