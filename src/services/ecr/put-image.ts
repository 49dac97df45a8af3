/**
 * ECR PutImage: stores a manifest under a tag or digest, the ECR API's way to push (and the
 * usual way to retag: BatchGetImage, then PutImage with a new tag). It goes through the same
 * path as a registry push; registry errors become ECR's exceptions.
 */
import { createHash } from "node:crypto";
import type * as ecr from "@aws-sdk/client-ecr";
import { AwsError } from "../../aws/index.js";
import { RegistryError } from "../../registry/index.js";
import { findRepository, type EcrDependencies } from "./context.js";
import { invalidParameter } from "./errors.js";

export function putImageHandler(deps: EcrDependencies) {
  const registryId = deps.registry.registryId;
  return async (input: ecr.PutImageRequest): Promise<ecr.PutImageResponse> => {
    const name = input.repositoryName ?? "";
    await findRepository(deps, name, input.registryId);
    const bytes = Buffer.from(input.imageManifest ?? "", "utf8");
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    if (input.imageDigest !== undefined && input.imageDigest !== digest)
      throw new AwsError(
        "ImageDigestDoesNotMatchException",
        `The specified digest '${input.imageDigest}' does not match the digest of the image manifest '${digest}'`,
      );
    // A manifest must say what it is, in itself or beside it (ECR: InvalidParameterException;
    // its text for this case is not recorded).
    let document: { mediaType?: unknown; manifests?: unknown } | undefined;
    try {
      document = JSON.parse(bytes.toString("utf8")) as typeof document;
    } catch {
      document = undefined;
    }
    if (
      input.imageManifestMediaType === undefined &&
      (document === undefined || document === null || typeof document.mediaType !== "string")
    )
      throw invalidParameter(
        "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'the manifest has no media type; set imageManifestMediaType or the manifest's mediaType'",
      );
    const tag = input.imageTag;
    if (tag !== undefined && (await deps.registry.metadata.tagDigest(name, tag)) === digest)
      throw new AwsError(
        "ImageAlreadyExistsException",
        `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${name}' in registry with id '${registryId}'`,
      );
    try {
      await deps.registry.putManifest(name, tag ?? digest, bytes, input.imageManifestMediaType);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      const missing = (error.detail as { digest?: string } | undefined)?.digest ?? "";
      switch (error.code) {
        case "MANIFEST_BLOB_UNKNOWN":
          // A list or index refers to images, not layers: ECR names what is missing so (its
          // full text is not recorded).
          if (Array.isArray(document?.manifests))
            throw new AwsError(
              "ReferencedImagesNotFoundException",
              `Some of the images referenced by the manifest list were not found in the repository with name '${name}' in the registry with id '${registryId}': '[${missing}]'`,
            );
          throw new AwsError(
            "LayersNotFoundException",
            `Layers with digests '[${missing}]' required for pushing image into repository with name '${name}' in the registry with id '${registryId}' do not exist`,
          );
        case "TAG_INVALID":
          throw new AwsError(
            "ImageTagAlreadyExistsException",
            `The image tag '${tag ?? ""}' already exists in the '${name}' repository and cannot be overwritten because the tag is immutable.`,
          );
        default:
          throw invalidParameter(
            `Invalid parameter at 'imageManifest' failed to satisfy constraint: '${error.message}'`,
          );
      }
    }
    const stored = await deps.registry.metadata.image(name, digest);
    return {
      image: {
        registryId,
        repositoryName: name,
        imageId: { imageDigest: digest, ...(tag === undefined ? {} : { imageTag: tag }) },
        imageManifest: input.imageManifest,
        imageManifestMediaType: stored?.mediaType ?? input.imageManifestMediaType,
      },
    };
  };
}
