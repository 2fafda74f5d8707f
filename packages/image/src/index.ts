export { Store, type StoreOptions, type ImageOptions } from './store.js';
export { BlobStore, type BlobSource, type BlobExpectation, type PutOptions, type BlobStat } from './blobs.js';
export { type RefEntry } from './refs.js';
export { type WriteOptions, type WriteProgressEvent } from './write.js';
export { type GcOptions, type GcResult, type VerifyResult } from './gc.js';
export { type UnpackOptions, type UnpackResult } from './unpack.js';
export { defaultStoreRoot } from './paths.js';
export { InvalidLayoutError, LockTimeoutError, InvalidChangeError } from './errors.js';
export { NotFoundError, DigestMismatchError } from '@stratum/oci';
