export { applyLayer, type ApplyOptions, type ApplyResult, type ApplyProgress } from './apply.js';
export { createLayer, type CreateOptions, type CreatedLayer, type LayerChange } from './create.js';
export { type ApplyWarning, type ApplyWarningCode } from './extract.js';
export { decompressLayer, type LayerSource } from './source.js';
export { readTar, type TarReadEntry, type ReadTarOptions } from './read-tar.js';
export { TarParser, parsePax, MAX_META_SIZE, type TarEntry, type TarEntryType, type TarHandler, type TarTime, type SparseSegment } from './tar/reader.js';
export { encodeHeader, padding, END_OF_ARCHIVE, type TarHeaderInput } from './tar/writer.js';
export { detectCompression, zstdSupport, type Compression } from './compression.js';
export {
  WHITEOUT_PREFIX,
  WHITEOUT_META_PREFIX,
  OPAQUE_WHITEOUT,
  isWhiteout,
  isOpaqueWhiteout,
  whiteoutTarget,
  whiteoutName,
  overlayOpaqueXattr,
  isOverlayWhiteout,
  isOverlayXattr,
  type OverlayXattrPrefix,
} from './whiteout.js';
export { cleanName, type CleanName } from './path.js';
export {
  UnsafeLayerEntryError,
  CorruptLayerError,
  InvalidLayerEntryError,
  UnsupportedLayerError,
  type UnsafeReason,
  type CorruptFormat,
} from './errors.js';
export { inUserNamespace } from './userns.js';
