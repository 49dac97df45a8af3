/**
 * The errors Parameter Store answers with, by SSM's names and texts (its API reference and
 * recorded answers). Callers branch on the code, never on the text.
 */
import { AwsError } from "../../aws/index.js";

// GetParameter's ParameterNotFound carries no message on AWS; the other actions name it.
export const parameterNotFound = (name?: string): AwsError =>
  new AwsError("ParameterNotFound", name === undefined ? "" : `Parameter ${name} not found.`);

export const parameterAlreadyExists = (): AwsError => new AwsError("ParameterAlreadyExists");

export const versionNotFound = (name: string, version: string): AwsError =>
  new AwsError(
    "ParameterVersionNotFound",
    `Systems Manager could not find version ${version} of ${name}. Verify the version and try again.`,
  );

export const validation = (message: string): AwsError =>
  new AwsError("ValidationException", message);

export const patternMismatch = (pattern: string): AwsError =>
  new AwsError(
    "ParameterPatternMismatchException",
    `Parameter value, cannot be validated against allowedPattern: ${pattern}`,
  );

export const hierarchyTooDeep = (): AwsError =>
  new AwsError(
    "HierarchyLevelLimitExceededException",
    "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for parameter names in the Amazon Web Services Systems Manager User Guide.",
  );

export const invalidResourceId = (): AwsError => new AwsError("InvalidResourceId", "");

export const invalidResourceType = (): AwsError => new AwsError("InvalidResourceType", "");

export const invalidFilterKey = (key: string): AwsError =>
  new AwsError("InvalidFilterKey", `The following filter key is not valid: ${key}.`);

export const invalidFilterOption = (message: string): AwsError =>
  new AwsError("InvalidFilterOption", message);
