export {
  StratumError,
  InvalidDigestError,
  DigestMismatchError,
  InvalidReferenceError,
  InvalidPlatformError,
  InvalidManifestError,
  NotFoundError,
} from './errors.js';
export {
  type Digest,
  type DigestAlgorithm,
  type Digester,
  type Expectation,
  digestAlgorithms,
  parseDigest,
  isDigest,
  digestAlgorithm,
  digestHex,
  createDigester,
  digestBytes,
  digestStream,
  verifyStream,
  DigestingStream,
} from './digest.js';
export { MediaType, type MediaTypeString, type LayerCompression, isIndexMediaType, isManifestMediaType, layerCompression } from './media-types.js';
export type {
  Platform,
  Descriptor,
  ImageManifest,
  ImageIndexManifest,
  ContainerConfig,
  History,
  RootFS,
  ImageConfig,
  OciLayout,
  RuntimeSpec,
  RuntimeProcess,
  RuntimeMount,
  RuntimeLinux,
  IdMapping,
  NamespaceType,
} from './types.js';
export type { Layer, Image, ImageIndex, ReadOptions } from './model.js';
