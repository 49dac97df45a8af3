/** The errors ECR answers with, by the names and texts ECR uses. */
import { AwsError } from "../../aws/index.js";

export const invalidParameter = (message: string): AwsError =>
  new AwsError("InvalidParameterException", message);

export const repositoryNotFound = (name: string, registryId: string): AwsError =>
  new AwsError(
    "RepositoryNotFoundException",
    `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
  );

export const repositoryAlreadyExists = (name: string, registryId: string): AwsError =>
  new AwsError(
    "RepositoryAlreadyExistsException",
    `The repository with name '${name}' already exists in the registry with id '${registryId}'`,
  );

export const repositoryNotEmpty = (name: string, registryId: string): AwsError =>
  new AwsError(
    "RepositoryNotEmptyException",
    `The repository with name '${name}' in registry with id '${registryId}' cannot be deleted because it still contains images`,
  );

export const lifecyclePolicyNotFound = (name: string, registryId: string): AwsError =>
  new AwsError(
    "LifecyclePolicyNotFoundException",
    `Lifecycle policy does not exist for the repository with name '${name}' in the registry with id '${registryId}'`,
  );

export const lifecyclePreviewNotFound = (name: string, registryId: string): AwsError =>
  new AwsError(
    "LifecyclePolicyPreviewNotFoundException",
    `There is no lifecycle policy preview for the repository with name '${name}' in the registry with id '${registryId}'`,
  );

export const imageNotFound = (
  id: { imageDigest?: string; imageTag?: string },
  name: string,
  registryId: string,
): AwsError =>
  new AwsError(
    "ImageNotFoundException",
    `The image with imageId {imageDigest:'${id.imageDigest ?? "null"}', imageTag:'${id.imageTag ?? "null"}'} does not exist within the repository with name '${name}' in the registry with id '${registryId}'`,
  );
