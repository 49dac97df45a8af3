/**
 * The errors Secrets Manager answers with, by its names and texts (from its API reference and
 * recorded answers). Callers branch on the code, never on the text.
 */
import { AwsError } from "../../aws/index.js";

export const secretNotFound = (): AwsError =>
  new AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");

/** No version under that id, or none carries that staging label. */
export const versionNotFound = (by: "VersionId" | "staging label", value: string): AwsError =>
  new AwsError(
    "ResourceNotFoundException",
    `Secrets Manager can't find the specified secret value for ${by}: ${value}`,
  );

export const markedForDeletion = (): AwsError =>
  new AwsError(
    "InvalidRequestException",
    "You can't perform this operation on the secret because it was marked for deletion.",
  );

export const nameScheduledForDeletion = (): AwsError =>
  new AwsError(
    "InvalidRequestException",
    "You can't create this secret because a secret with this name is already scheduled for deletion.",
  );

export const secretExists = (name: string): AwsError =>
  new AwsError(
    "ResourceExistsException",
    `The operation failed because the secret ${name} already exists.`,
  );

export const versionExists = (): AwsError =>
  new AwsError(
    "ResourceExistsException",
    "You can't modify an existing version, you can only create a new version.",
  );

export const invalidParameter = (message: string): AwsError =>
  new AwsError("InvalidParameterException", message);

export const invalidRequest = (message: string): AwsError =>
  new AwsError("InvalidRequestException", message);

export const bothValues = (): AwsError =>
  invalidParameter(
    "You can't specify both a binary secret value and a string secret value in the same secret.",
  );
