/** The errors Application Auto Scaling answers with, by its names and texts. */
import { AwsError } from "../../aws/index.js";
import type { ScalableResource } from "../../control/index.js";

export const validation = (message: string): AwsError =>
  new AwsError("ValidationException", message);

export const objectNotFound = (message: string): AwsError =>
  new AwsError("ObjectNotFoundException", message);

/** How Application Auto Scaling names a scalable target in its messages. */
export const describeResource = (r: ScalableResource): string =>
  `service namespace: ${r.namespace}, resource ID: ${r.resourceId}, scalable dimension: ${r.dimension}`;

export const targetNotRegistered = (r: ScalableResource): AwsError =>
  objectNotFound(`No scalable target registered for ${describeResource(r)}`);
