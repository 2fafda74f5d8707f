/** MediaType lists the media types of the OCI image spec and Docker's image manifest v2 schema 2. */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciLayout: 'application/vnd.oci.layout.header.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  DockerManifestV1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
} as const;

/** MediaTypeString: a media type string; the known ones are listed in {@link MediaType}. */
export type MediaTypeString = (typeof MediaType)[keyof typeof MediaType] | (string & {});

/** isIndexMediaType: an OCI index or a Docker manifest list. */
export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciIndex || mt === MediaType.DockerManifestList;
}

/** isManifestMediaType: an OCI image manifest or a Docker v2.2 manifest. */
export function isManifestMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciManifest || mt === MediaType.DockerManifest;
}

/** LayerCompression: the compression a layer media type declares. */
export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** layerCompression tells how a layer media type says its blob is compressed; undefined if not a layer type. */
export function layerCompression(mt: string): LayerCompression | undefined {
  switch (mt) {
    case MediaType.OciLayer:
    case MediaType.OciLayerNondistributable:
    case MediaType.DockerLayer:
      return 'none';
    case MediaType.OciLayerGzip:
    case MediaType.OciLayerNondistributableGzip:
    case MediaType.DockerLayerGzip:
    case MediaType.DockerForeignLayer:
      return 'gzip';
    case MediaType.OciLayerZstd:
    case MediaType.OciLayerNondistributableZstd:
    case MediaType.DockerLayerZstd:
      return 'zstd';
    default:
      return undefined;
  }
}

/** isLayerMediaType: an OCI or Docker layer type (any compression, foreign/non-distributable included). */
export function isLayerMediaType(mt: string | undefined): boolean {
  return mt !== undefined && layerCompression(mt) !== undefined;
}

/** isConfigMediaType: an OCI image config or a Docker container image config. */
export function isConfigMediaType(mt: string | undefined): boolean {
  return mt === MediaType.OciConfig || mt === MediaType.DockerConfig;
}

/**
 * mediaTypeOf strips parameters and whitespace from a `Content-Type` value and lowercases it:
 * `application/vnd.oci.image.index.v1+json; charset=utf-8` → the bare media type.
 */
export function mediaTypeOf(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}
