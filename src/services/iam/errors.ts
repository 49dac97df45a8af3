/** IAM's errors with IAM's texts; callers branch on the code, never on the text. */
import { AwsError } from "../../aws/index.js";

export const noSuchEntity = (message: string): AwsError => new AwsError("NoSuchEntity", message);
export const userNotFound = (name: string): AwsError =>
  noSuchEntity(`The user with name ${name} cannot be found.`);
export const roleNotFound = (name: string): AwsError =>
  noSuchEntity(`The role with name ${name} cannot be found.`);
export const policyNotFound = (arn: string): AwsError =>
  noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
export const alreadyExists = (message: string): AwsError =>
  new AwsError("EntityAlreadyExists", message);
export const deleteConflict = (message: string): AwsError =>
  new AwsError("DeleteConflict", message);
export const invalidInput = (message: string): AwsError => new AwsError("InvalidInput", message);
