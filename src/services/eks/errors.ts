/** EKS's error codes and texts (their EKS statuses are in the registry, src/aws/error-codes.ts). */
import { AwsError } from "../../aws/index.js";

export function clusterNotFound(name: string): AwsError {
  return new AwsError("ResourceNotFoundException", `No cluster found for name: ${name}.`);
}

export function profileNotFound(name: string): AwsError {
  return new AwsError("ResourceNotFoundException", `No Fargate Profile found with name: ${name}.`);
}

export function resourceInUse(message: string): AwsError {
  return new AwsError("ResourceInUseException", message);
}

export function invalidParameter(message: string): AwsError {
  return new AwsError("InvalidParameterException", message);
}

export function invalidRequest(message: string): AwsError {
  return new AwsError("InvalidRequestException", message);
}
