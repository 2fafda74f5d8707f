/**
 * Annotation lists the annotation keys of the OCI image spec (pre-defined annotation keys) and the few others that
 * tools write into indexes and manifests. Values are always strings.
 */
export const Annotation = {
  /** Date and time the image was built (RFC 3339). */
  Created: 'org.opencontainers.image.created',
  /** Contact details of the people or organization responsible for the image. */
  Authors: 'org.opencontainers.image.authors',
  /** URL to find more information on the image. */
  Url: 'org.opencontainers.image.url',
  /** URL to get documentation on the image. */
  Documentation: 'org.opencontainers.image.documentation',
  /** URL to get the source code that built the image. */
  Source: 'org.opencontainers.image.source',
  /** Version of the packaged software. */
  Version: 'org.opencontainers.image.version',
  /** Source control revision the image was built from. */
  Revision: 'org.opencontainers.image.revision',
  /** Name of the distributing entity. */
  Vendor: 'org.opencontainers.image.vendor',
  /** SPDX license expression of the contained software. */
  Licenses: 'org.opencontainers.image.licenses',
  /**
   * Name of a reference in an image layout's `index.json` (the tag, e.g. `latest`, or a full
   * name, as skopeo and umoci read it: `oci:DIR:NAME`).
   */
  RefName: 'org.opencontainers.image.ref.name',
  /** Human-readable title of the image. */
  Title: 'org.opencontainers.image.title',
  /** Human-readable description of the image. */
  Description: 'org.opencontainers.image.description',
  /** Digest of the image this one is based on. */
  BaseDigest: 'org.opencontainers.image.base.digest',
  /** Reference of the image this one is based on. */
  BaseName: 'org.opencontainers.image.base.name',
  /** containerd's full image name in an exported layout's `index.json` (`docker.io/library/nginx:latest`). */
  ContainerdImageName: 'io.containerd.image.name',
  /** BuildKit: the type of an index entry that is not an image (`attestation-manifest`). */
  DockerReferenceType: 'vnd.docker.reference.type',
  /** BuildKit: the digest of the image an attestation manifest describes. */
  DockerReferenceDigest: 'vnd.docker.reference.digest',
} as const;

/** AnnotationKey: an annotation key; the well-known ones are listed in {@link Annotation}. */
export type AnnotationKey = (typeof Annotation)[keyof typeof Annotation] | (string & {});
