export { InvalidArchiveError, type ArchiveErrorKind, UnsafeArchivePathError, type UnsafeArchivePathReason, DiffIDMismatchError, DuplicateTagError } from './errors.js';
export { type ArchiveInput } from './input.js';
export { readDockerArchive, type ArchiveImage, type ReadArchiveOptions } from './read-docker-archive.js';
export { readOciLayout, type LayoutOptions } from './read-oci-layout.js';
export { saveDockerArchive, type SaveItem, type SaveOptions, type SavedImage, type ArchiveProgress } from './save-docker-archive.js';
export { type ArchiveOutput } from './output.js';
export { type ArchiveStore } from './store.js';
export { loadDockerArchive, importOciLayout, type LoadOptions, type LoadedImage, type LoadStore, type StoreWrite } from './load.js';
export { exportOciLayout, type ExportOptions } from './export-oci-layout.js';
