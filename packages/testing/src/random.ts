import { Readable } from 'node:stream';
import { gzipSync, gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import {
  MediaType,
  digestBytes,
  type Digest,
  type Image,
  type ImageConfig,
  type ImageManifest,
  type Layer,
  type MediaTypeString,
} from '@stratum/oci';

/** A small, seedable PRNG (mulberry32): the same seed gives the same images on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One entry of a generated layer. */
export type TreeEntry =
  | { type: 'file'; path: string; content: Uint8Array; mode?: number }
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

/** randomTree generates `files` entries (dirs, files with random bytes, a few symlinks) from `seed`. */
export function randomTree(opts: { seed?: number; files?: number; maxFileSize?: number } = {}): TreeEntry[] {
  const rand = prng(opts.seed ?? 1);
  const files = opts.files ?? 20;
  const maxSize = opts.maxFileSize ?? 4096;
  const dirs = ['etc', 'usr', 'usr/bin', 'var', 'var/lib', 'srv'];
  const out: TreeEntry[] = dirs.map((path) => ({ type: 'dir', path, mode: 0o755 }));
  for (let i = 0; i < files; i++) {
    const dir = dirs[Math.floor(rand() * dirs.length)]!;
    const size = Math.floor(rand() * maxSize);
    const content = new Uint8Array(size);
    for (let j = 0; j < size; j++) content[j] = Math.floor(rand() * 256);
    const path = `${dir}/f${i}-${Math.floor(rand() * 1e6)}`;
    out.push({ type: 'file', path, content, mode: rand() < 0.2 ? 0o755 : 0o644 });
    if (rand() < 0.1) out.push({ type: 'symlink', path: `${path}.link`, target: path.split('/').pop()! });
  }
  return out;
}

/** tarOf packs entries into an uncompressed tar (deterministic: fixed mtime, uid/gid 0). */
export async function tarOf(entries: TreeEntry[], opts: { mtime?: Date } = {}): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  const mtime = opts.mtime ?? new Date(0);
  for (const e of entries) {
    if (e.type === 'dir') pack.entry({ name: `${e.path}/`, type: 'directory', mode: e.mode ?? 0o755, mtime, uid: 0, gid: 0 });
    else if (e.type === 'symlink') pack.entry({ name: e.path, type: 'symlink', linkname: e.target, mode: 0o777, mtime, uid: 0, gid: 0 });
    else pack.entry({ name: e.path, type: 'file', mode: e.mode ?? 0o644, mtime, uid: 0, gid: 0 }, Buffer.from(e.content));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** memoryLayer is an oci `Layer` over bytes held in memory (for tests and small images). */
export function memoryLayer(uncompressedTar: Uint8Array, opts: { compression?: 'gzip' | 'none' } = {}): Layer {
  const gz = (opts.compression ?? 'gzip') === 'gzip';
  const blob = gz ? gzipSync(uncompressedTar) : Buffer.from(uncompressedTar);
  const mediaType: MediaTypeString = gz ? MediaType.OciLayerGzip : MediaType.OciLayer;
  const digest = digestBytes(blob);
  const diffID = digestBytes(uncompressedTar);
  return {
    digest: async () => digest,
    diffID: async () => diffID,
    size: async () => blob.length,
    mediaType: async () => mediaType,
    compressed: async () => Readable.from([blob]),
    uncompressed: async () => Readable.from([gz ? gunzipSync(blob) : blob]),
    descriptor: async () => ({ mediaType, digest, size: blob.length }),
  };
}

/** memoryImage builds an OCI `Image` from layers and config fields, all in memory. */
export async function memoryImage(
  layers: Layer[],
  config: Partial<ImageConfig> = {},
  opts: { annotations?: Record<string, string> } = {},
): Promise<Image> {
  const diffIDs: Digest[] = [];
  const descs = [];
  for (const l of layers) {
    diffIDs.push(await l.diffID());
    descs.push({ mediaType: await l.mediaType(), digest: await l.digest(), size: await l.size() });
  }
  const cfg: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: { Cmd: ['/bin/sh'] },
    ...config,
    rootfs: { type: 'layers', diff_ids: diffIDs },
    history: config.history ?? layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'stratum-testing' })),
  };
  const rawConfig = Buffer.from(JSON.stringify(cfg));
  const configDigest = digestBytes(rawConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: rawConfig.length },
    layers: descs,
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  const digest = digestBytes(rawManifest);
  return {
    mediaType: async () => MediaType.OciManifest,
    rawManifest: async () => rawManifest,
    manifest: async () => manifest,
    digest: async () => digest,
    size: async () => rawManifest.length,
    rawConfig: async () => rawConfig,
    config: async () => cfg,
    configDigest: async () => configDigest,
    layers: async () => layers,
  };
}

/** randomImage makes a deterministic multi-layer image in memory from `seed`. */
export async function randomImage(opts: { seed?: number; layers?: number; filesPerLayer?: number; maxFileSize?: number } = {}): Promise<Image> {
  const seed = opts.seed ?? 1;
  const layers: Layer[] = [];
  for (let i = 0; i < (opts.layers ?? 2); i++) {
    const tree = randomTree({ seed: seed * 1000 + i, files: opts.filesPerLayer ?? 10, maxFileSize: opts.maxFileSize ?? 2048 });
    layers.push(memoryLayer(await tarOf(tree)));
  }
  return memoryImage(layers);
}
