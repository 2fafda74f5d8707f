import { digestStream, memoize, type Descriptor, type Digest, type Layer } from '@stratum/oci';
import { decompressLayer } from '@stratum/layer';
import { DiffIDMismatchError } from './errors.js';
import { detectCompression, type Compression } from './input.js';
import { digestOfBlobPath, layerMediaType } from './layout.js';
import type { ArchiveReader, FileMember } from './reader.js';
import { verified } from './verify.js';

/** LayerFile: a layer tar found in an archive, with what is known of it without reading it. */
export interface LayerFile {
  file: FileMember;
  compression: Compression;
  /** The digest its name states (`blobs/sha256/<hex>`), if any. */
  named: Digest | undefined;
  /** The descriptor a manifest gives it (OCI layouts): its digest, size and media type win. */
  descriptor?: Descriptor;
  /** Its digest, as the reader knows it without reading it again. */
  digest?: Digest;
}

/** inspectLayerFile reads the first bytes of a layer file to tell its compression. */
export async function inspectLayerFile(reader: ArchiveReader, file: FileMember): Promise<LayerFile> {
  const lf: LayerFile = { file, compression: detectCompression(await reader.head(file), file.name), named: digestOfBlobPath(file.name) };
  if (reader.known) lf.digest = (await reader.known(file)).digest;
  return lf;
}

/**
 * checkDiffID throws {@link DiffIDMismatchError} when the reader knows the uncompressed digest of
 * a layer file and it is not the config's diffID, or when the file's name states a digest of an
 * uncompressed tar that is not the diffID. Cheap: nothing is read.
 */
export async function checkDiffID(reader: ArchiveReader, lf: LayerFile, diffID: Digest, index: number): Promise<void> {
  const where = { index, path: lf.file.name };
  if (lf.compression === 'none' && lf.named !== undefined && lf.named !== diffID) throw new DiffIDMismatchError(diffID, lf.named, where);
  if (reader.known) {
    const actual = (await reader.known(lf.file)).diffID;
    if (actual !== diffID) throw new DiffIDMismatchError(diffID, actual, where);
  }
}

/**
 * archiveLayer makes a {@link Layer} of a layer tar inside an archive, read in place. An
 * uncompressed member (what `docker save` writes) has digest = diffID and is verified against
 * the diffID while it streams ({@link DiffIDMismatchError} at the end when it differs); a gzip
 * or zstd member is kept compressed, its digest taken from its `blobs/` name or hashed once when first
 * asked, and its uncompressed stream verified against the diffID.
 */
export function archiveLayer(reader: ArchiveReader, lf: LayerFile, diffID: Digest, index: number): Layer {
  const { file, compression } = lf;
  const where = { index, path: file.name };
  const given = lf.descriptor;
  const digest = memoize(async (): Promise<Digest> => {
    if (given) return given.digest;
    if (lf.digest) return lf.digest;
    if (compression === 'none') return diffID;
    if (lf.named) return lf.named;
    return (await digestStream(reader.open(file))).digest;
  });
  const mediaType = given?.mediaType ?? layerMediaType(compression);
  const descriptor = memoize(async (): Promise<Descriptor> => given ?? { mediaType, digest: await digest(), size: file.size });
  return {
    digest,
    diffID: async () => diffID,
    size: async () => file.size,
    mediaType: async () => mediaType,
    descriptor,
    async compressed(opts = {}) {
      if (compression === 'none' && !given) return verified(reader.open(file, opts), diffID, { size: file.size, layer: where });
      const expected = await digest();
      return verified(reader.open(file, opts), expected, { size: file.size });
    },
    async uncompressed(opts = {}) {
      const raw = reader.open(file, opts);
      if (compression === 'none') return verified(raw, diffID, { size: file.size, layer: where });
      return verified(await decompressLayer(raw, opts), diffID, { layer: where });
    },
  };
}
