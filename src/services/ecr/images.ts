/** ECR images: list, describe, get manifests, delete, and layer availability. */
import type * as ecr from "@aws-sdk/client-ecr";
import { page, type Handlers } from "../../aws/index.js";
import { isDigest, type ImageRecord } from "../../registry/index.js";
import { findRepository, type EcrDependencies } from "./context.js";
import { imageNotFound } from "./errors.js";

type TagStatus = "TAGGED" | "UNTAGGED" | "ANY" | undefined;

function byTagStatus(images: ImageRecord[], status: TagStatus): ImageRecord[] {
  if (status === "TAGGED") return images.filter((i) => i.tags.length > 0);
  if (status === "UNTAGGED") return images.filter((i) => i.tags.length === 0);
  return images;
}

export function toImageDetail(registryId: string, image: ImageRecord): ecr.ImageDetail {
  return {
    registryId,
    repositoryName: image.repository,
    imageDigest: image.digest,
    ...(image.tags.length > 0 ? { imageTags: image.tags } : {}),
    imageSizeInBytes: image.imageSize,
    imagePushedAt: image.pushedAt,
    imageManifestMediaType: image.mediaType,
    ...(image.artifactType === undefined ? {} : { artifactMediaType: image.artifactType }),
    ...(image.lastPulledAt === undefined ? {} : { lastRecordedPullTime: image.lastPulledAt }),
  };
}

/** The image an ImageIdentifier names, or a failure code and reason as ECR gives them. */
function findImage(
  images: ImageRecord[],
  id: ecr.ImageIdentifier,
): ImageRecord | { failureCode: ecr.ImageFailureCode; failureReason: string } {
  if (id.imageDigest === undefined && id.imageTag === undefined)
    return {
      failureCode: "MissingDigestAndTag",
      failureReason: "Invalid request parameters: both tag and digest cannot be null",
    };
  if (id.imageDigest !== undefined && !/^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/.test(id.imageDigest))
    return {
      failureCode: "InvalidImageDigest",
      failureReason:
        "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
    };
  const byDigest =
    id.imageDigest === undefined ? undefined : images.find((i) => i.digest === id.imageDigest);
  const byTag =
    id.imageTag === undefined ? undefined : images.find((i) => i.tags.includes(id.imageTag ?? ""));
  if (
    id.imageDigest !== undefined &&
    id.imageTag !== undefined &&
    byDigest !== undefined &&
    byTag !== undefined &&
    byDigest !== byTag
  )
    return {
      failureCode: "ImageTagDoesNotMatchDigest",
      failureReason: "Invalid request parameters: given tag and digest do not match",
    };
  const found = id.imageDigest !== undefined ? byDigest : byTag;
  if (found === undefined || (id.imageTag !== undefined && byTag === undefined))
    return { failureCode: "ImageNotFound", failureReason: "Requested image not found" };
  return found;
}

export function imageHandlers(deps: EcrDependencies) {
  const registryId = deps.registry.registryId;
  return {
    listImages: async (input) => {
      const name = input.repositoryName ?? "";
      await findRepository(deps, name, input.registryId);
      const images = byTagStatus(await deps.registry.images(name), input.filter?.tagStatus);
      const ids: ecr.ImageIdentifier[] = images.flatMap((image) =>
        image.tags.length === 0
          ? [{ imageDigest: image.digest }]
          : image.tags.map((tag) => ({ imageDigest: image.digest, imageTag: tag })),
      );
      const { items, nextToken } = page(ids, input, 1000);
      return { imageIds: items, nextToken };
    },

    describeImages: async (input) => {
      const name = input.repositoryName ?? "";
      await findRepository(deps, name, input.registryId);
      const images = await deps.registry.images(name);
      if (input.imageIds !== undefined) {
        const details: ecr.ImageDetail[] = [];
        for (const id of input.imageIds) {
          const found = findImage(images, id);
          if ("failureCode" in found) throw imageNotFound(id, name, registryId);
          if (!details.some((d) => d.imageDigest === found.digest))
            details.push(toImageDetail(registryId, found));
        }
        return { imageDetails: details };
      }
      const filtered = byTagStatus(images, input.filter?.tagStatus);
      const { items, nextToken } = page(filtered, input, 100);
      return { imageDetails: items.map((i) => toImageDetail(registryId, i)), nextToken };
    },

    batchGetImage: async (input) => {
      const name = input.repositoryName ?? "";
      await findRepository(deps, name, input.registryId);
      const images = await deps.registry.images(name);
      const result: ecr.Image[] = [];
      const failures: ecr.ImageFailure[] = [];
      for (const id of input.imageIds ?? []) {
        const found = findImage(images, id);
        if ("failureCode" in found) {
          failures.push({ imageId: id, ...found });
          continue;
        }
        // ECR converts between Docker schema versions to honour acceptedMediaTypes; Berth stores
        // one form of each manifest and returns it as pushed.
        const bytes = await deps.registry.blobs.read(found.digest);
        result.push({
          registryId,
          repositoryName: name,
          imageId: {
            imageDigest: found.digest,
            ...(id.imageTag === undefined ? {} : { imageTag: id.imageTag }),
          },
          imageManifest: bytes.toString("utf8"),
          imageManifestMediaType: found.mediaType,
        });
      }
      return { images: result, failures };
    },

    batchDeleteImage: async (input) => {
      const name = input.repositoryName ?? "";
      await findRepository(deps, name, input.registryId);
      const deleted: ecr.ImageIdentifier[] = [];
      const failures: ecr.ImageFailure[] = [];
      for (const id of input.imageIds ?? []) {
        const images = await deps.registry.images(name);
        const found = findImage(images, id);
        if ("failureCode" in found) {
          failures.push({ imageId: id, ...found });
          continue;
        }
        if (id.imageDigest === undefined && found.tags.length > 1) {
          // By tag: ECR removes the tag, and the image with its last tag.
          await deps.registry.deleteTag(name, id.imageTag ?? "");
          deleted.push({ imageDigest: found.digest, imageTag: id.imageTag });
          continue;
        }
        if ((await deps.registry.metadata.indexParent(name, found.digest)) !== undefined) {
          failures.push({
            imageId: id,
            failureCode: "ImageReferencedByManifestList",
            failureReason: "Requested image is referenced by an image index",
          });
          continue;
        }
        await deps.registry.deleteManifest(name, found.digest);
        if (found.tags.length === 0) deleted.push({ imageDigest: found.digest });
        for (const tag of found.tags) deleted.push({ imageDigest: found.digest, imageTag: tag });
      }
      return { imageIds: deleted, failures };
    },

    batchCheckLayerAvailability: async (input) => {
      const name = input.repositoryName ?? "";
      await findRepository(deps, name, input.registryId);
      const layers: ecr.Layer[] = [];
      const failures: ecr.LayerFailure[] = [];
      for (const digest of input.layerDigests ?? []) {
        if (!isDigest(digest)) {
          failures.push({
            layerDigest: digest,
            failureCode: "InvalidLayerDigest",
            failureReason: "Invalid layer digest",
          });
          continue;
        }
        const located = await deps.registry.locateBlob(name, digest).catch(() => undefined);
        if (located === undefined)
          failures.push({
            layerDigest: digest,
            failureCode: "MissingLayerDigest",
            failureReason: "Could not find layer",
          });
        else
          layers.push({
            layerDigest: digest,
            layerAvailability: "AVAILABLE",
            layerSize: located.size,
            mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
          });
      }
      return { layers, failures };
    },
  } satisfies Handlers<ecr.ECR>;
}
