import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  Annotation,
  digestAlgorithm,
  isIndexMediaType,
  isManifestMediaType,
  maxConfigSize,
  maxManifestSize,
  parseManifest,
  type Descriptor,
  type Digest,
  type Image,
} from '@stratum/oci';
import { checkTags, normalizeTag } from './docker-manifest.js';
import { InvalidArchiveError } from './errors.js';
import { blobPath, ociLayoutFile } from './layout.js';
import { writeOutput, type ArchiveOutput, type OutputOptions } from './output.js';
import { withProgress, type ArchiveProgress, type SaveItem } from './save-docker-archive.js';
import type { ArchiveStore } from './store.js';
import { TarWriter } from './tar/writer.js';
import { verified } from './verify.js';

/** ExportOptions are the options of {@link exportOciLayout}. */
export interface ExportOptions extends OutputOptions {
  /** With a store: the refs to export (default: every ref of the store). */
  refs?: readonly string[];
  /** `directory` or `tar`; default `tar` for a `Writable` or a path ending in `.tar`, else `directory`. */
  format?: 'directory' | 'tar';
  onProgress?: (p: ArchiveProgress) => void;
}

/** LayoutSink: where a layout's files go — a directory or a tar. */
interface LayoutSink {
  blob(digest: Digest, size: number, source: AsyncIterable<Uint8Array>): Promise<void>;
  file(name: string, bytes: Uint8Array): Promise<void>;
}

async function readAll(stream: Readable, max: number, what: string): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > max) {
      stream.destroy();
      throw new InvalidArchiveError('TOO_LARGE', `${what} is more than the ${max} bytes read into memory`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/** Copies what a descriptor reaches in a store (children first), blob for blob. */
async function copyFromStore(store: ArchiveStore, desc: Descriptor, put: (d: Descriptor, source: () => Readable) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const get = (): Readable => store.blobs.get(desc.digest, { signal });
  if (isManifestMediaType(desc.mediaType) || isIndexMediaType(desc.mediaType)) {
    const bytes = await readAll(get(), maxManifestSize, desc.digest);
    const parsed = parseManifest(bytes, desc.mediaType);
    const children = parsed.kind === 'index' ? parsed.index.manifests : [parsed.manifest.config, ...parsed.manifest.layers];
    for (const c of children) await copyFromStore(store, c, put, signal);
  }
  await put(desc, get);
}

function dirSink(dir: string): LayoutSink {
  return {
    async blob(digest, size, source) {
      await mkdir(join(dir, 'blobs', digestAlgorithm(digest)), { recursive: true });
      await pipeline(source, createWriteStream(join(dir, blobPath(digest)), { flags: 'wx', mode: 0o644 }));
    },
    async file(name, bytes) {
      await writeFile(join(dir, name), bytes, { flag: 'wx', mode: 0o644 });
    },
  };
}

function tarSink(tw: TarWriter): LayoutSink {
  const dirs = new Set<string>();
  return {
    async blob(digest, size, source) {
      // Directory members first, as a tar of a directory has them (oci-image-tool requires `blobs/`).
      for (const d of ['blobs', `blobs/${digestAlgorithm(digest)}`]) {
        if (!dirs.has(d)) await tw.directory(d);
        dirs.add(d);
      }
      await tw.file(blobPath(digest), size, source);
    },
    file: (name, bytes) => tw.bytes(name, bytes),
  };
}

/**
 * exportOciLayout writes images as an OCI image layout — a directory, or a tar of one — that
 * skopeo (`oci:DIR:REF`, `oci-archive:FILE:REF`), umoci, oci-image-tool, `docker load` (25+) and
 * {@link importOciLayout} read. From a store, `refs` (default all) are copied blob for blob: an
 * index with every platform, manifests byte for byte, compressed layers as they are. From
 * `{ image, tags }` of any source, each image's manifest, config and layers are written as the
 * source has them (digests kept). Each tag becomes an `index.json` entry annotated with the full
 * reference (`org.opencontainers.image.ref.name`, as the Stratum store names refs, and
 * containerd's `io.containerd.image.name`); an untagged image gets an entry without a name. One
 * tag on two images is {@link DuplicateTagError}. Blobs shared by several images are written
 * once; every blob is verified against its digest as it is written.
 *
 * Atomic: a directory is built beside the output and renamed into place (the output must not
 * exist, or be an empty directory); a tar path is written as a temporary file and renamed.
 * Streaming, constant memory.
 *
 * CLI equivalent: `skopeo copy … oci:DIR:REF` / `oci-archive:FILE:REF`.
 */
export async function exportOciLayout(source: ArchiveStore | ReadonlyArray<SaveItem | (Image & { tags?: readonly string[] })>, output: ArchiveOutput, opts: ExportOptions = {}): Promise<Descriptor[]> {
  const format = opts.format ?? (typeof output !== 'string' || output.endsWith('.tar') ? 'tar' : 'directory');
  if (format === 'directory' && typeof output !== 'string') throw new TypeError('exportOciLayout: a directory layout needs a path');
  const entries = await entriesOf(source, opts);
  const write = async (sink: LayoutSink): Promise<Descriptor[]> => {
    const done = new Set<Digest>();
    const put = async (d: Descriptor, open: () => Promise<Readable> | Readable): Promise<void> => {
      if (done.has(d.digest)) return;
      const stream = verified(await open(), d.digest, { size: d.size });
      await sink.blob(d.digest, d.size, withProgress(stream, d.digest, d.size, opts.onProgress));
      done.add(d.digest);
    };
    for (const e of entries) await e.copy(put);
    const index = entries.flatMap((e) => {
      const base = { mediaType: e.descriptor.mediaType, digest: e.descriptor.digest, size: e.descriptor.size, ...(e.descriptor.platform ? { platform: e.descriptor.platform } : {}) };
      if (e.tags.length === 0) return [base];
      return e.tags.map((t) => ({ ...base, annotations: { [Annotation.RefName]: t, [Annotation.ContainerdImageName]: t } }));
    });
    await sink.file('oci-layout', ociLayoutFile);
    await sink.file('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index })));
    return index;
  };
  if (format === 'tar') {
    let index: Descriptor[] = [];
    await writeOutput(
      output,
      async (sink) => {
        const tw = new TarWriter(sink);
        index = await write(tarSink(tw));
        await tw.finish();
      },
      opts,
    );
    return index;
  }
  const dir = output as string;
  const temp = join(dirname(dir), `.${basename(dir)}.stratum-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  try {
    const index = await write(dirSink(temp));
    await rename(temp, dir);
    return index;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

interface Entry {
  descriptor: Descriptor;
  tags: string[];
  copy(put: (d: Descriptor, open: () => Promise<Readable> | Readable) => Promise<void>): Promise<void>;
}

async function entriesOf(source: Parameters<typeof exportOciLayout>[0], opts: ExportOptions): Promise<Entry[]> {
  if (!Array.isArray(source)) {
    const store = source as ArchiveStore;
    const refs = opts.refs ?? (await store.list()).map((e) => e.ref);
    const byDigest = new Map<Digest, Entry>();
    for (const ref of refs) {
      const descriptor = await store.resolve(ref);
      const isTag = !/^sha(256|512):/.test(ref) && !ref.includes('@');
      let e = byDigest.get(descriptor.digest);
      if (!e) {
        const { annotations: _, ...plain } = descriptor;
        byDigest.set(descriptor.digest, (e = { descriptor: plain, tags: [], copy: (put) => copyFromStore(store, plain, put, opts.signal) }));
      }
      if (isTag) {
        const t = normalizeTag(ref, ref);
        if (!e.tags.includes(t)) e.tags.push(t);
      }
    }
    const entries = [...byDigest.values()];
    checkTags(entries.map((e) => ({ id: e.descriptor.digest, tags: e.tags })));
    return entries;
  }
  const byDigest = new Map<Digest, Entry>();
  for (const item of source as ReadonlyArray<SaveItem | (Image & { tags?: readonly string[] })>) {
    const image = 'image' in item && typeof (item as SaveItem).image?.layers === 'function' ? (item as SaveItem).image : (item as Image);
    const tags = ((item as { tags?: readonly string[] }).tags ?? []).map((t) => normalizeTag(t, 'tags'));
    const digest = await image.digest();
    let e = byDigest.get(digest);
    if (!e) {
      const descriptor: Descriptor = { mediaType: await image.mediaType(), digest, size: await image.size() };
      byDigest.set(digest, (e = { descriptor, tags: [], copy: (put) => copyImage(image, descriptor, put) }));
    }
    for (const t of tags) if (!e.tags.includes(t)) e.tags.push(t);
  }
  const entries = [...byDigest.values()];
  checkTags(entries.map((e) => ({ id: e.descriptor.digest, tags: e.tags })));
  return entries;
}

async function copyImage(image: Image, descriptor: Descriptor, put: (d: Descriptor, open: () => Promise<Readable> | Readable) => Promise<void>): Promise<void> {
  const manifest = await image.manifest();
  for (const layer of await image.layers()) {
    const d: Descriptor = layer.descriptor ? await layer.descriptor() : { mediaType: await layer.mediaType(), digest: await layer.digest(), size: await layer.size() };
    await put(d, () => layer.compressed());
  }
  const rawConfig = await image.rawConfig();
  if (rawConfig.length > maxConfigSize) throw new InvalidArchiveError('TOO_LARGE', `config of ${descriptor.digest} is too large`);
  await put(manifest.config, () => Readable.from([rawConfig], { objectMode: false }));
  const raw = await image.rawManifest();
  await put(descriptor, () => Readable.from([raw], { objectMode: false }));
}
