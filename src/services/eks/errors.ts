/** EKS's error codes and texts (statuses come from the model's error shapes at the edge). */
import { AwsError } from "../../aws/index.js";

export function clusterNotFound(name: string): AwsError {
  return new AwsError("ResourceNotFoundException", `No cluster found for name: ${name}.`, 404);
}

export function profileNotFound(name: string): AwsError {
  return new AwsError(
    "ResourceNotFoundException",
    `No Fargate Profile found with name: ${name}.`,
    404,
  );
}

export function resourceInUse(message: string): AwsError {
  return new AwsError("ResourceInUseException", message, 409);
}

export function invalidParameter(message: string): AwsError {
  return new AwsError("InvalidParameterException", message);
}

export function invalidRequest(message: string): AwsError {
  return new AwsError("InvalidRequestException", message);
}
