/**
 * Stable error codes of the image store (BerthError codes); the task layer turns any of them
 * into ECS's "CannotPullContainerError: ..." reason.
 */
export const ImageErrorCode = {
  InvalidReference: "InvalidImageReference",
  /** The registry says the repository, tag, manifest or blob does not exist (404). */
  NotFound: "ImageNotFound",
  /** The registry refused our credentials or asked for some we lack (401/403). */
  AccessDenied: "ImageAccessDenied",
  /** Content did not match its digest. */
  DigestMismatch: "DigestMismatch",
  DigestInvalid: "DigestInvalid",
  ManifestInvalid: "ManifestInvalid",
  /** An index without a linux/amd64 manifest. */
  PlatformMissing: "ImagePlatformMissing",
  UnsupportedLayer: "UnsupportedLayer",
  LayerUnpackFailed: "LayerUnpackFailed",
  /** The registry did not answer (refused, unknown host, reset): worth retrying. */
  Unreachable: "RegistryUnreachable",
  /** The registry failed or answered an unexpected status. */
  RegistryError: "RegistryError",
  /** `prepareRootfs` of an image this host has not pulled. */
  NotPulled: "ImageNotPulled",
} as const;
