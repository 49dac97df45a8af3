/** The errors ECS answers with, by the names and texts ECS uses. */
import { AwsError } from "../../aws/index.js";

export const clientException = (message: string): AwsError =>
  new AwsError("ClientException", message);

export const invalidParameter = (message: string): AwsError =>
  new AwsError("InvalidParameterException", message);

export const serviceNotFound = (): AwsError => new AwsError("ServiceNotFoundException");

export const clusterNotFound = (): AwsError => new AwsError("ClusterNotFoundException");

export const taskDefinitionNotFound = (): AwsError =>
  clientException("Unable to describe task definition.");
