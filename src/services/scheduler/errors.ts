/** EventBridge Scheduler's errors, with its texts (moto's, which copy AWS's, where known). */
import { AwsError } from "../../aws/index.js";

export const invalid = (message: string): AwsError => new AwsError("ValidationException", message);

export const scheduleNotFound = (name: string): AwsError =>
  new AwsError("ResourceNotFoundException", `Schedule ${name} does not exist.`);

export const groupNotFound = (name: string): AwsError =>
  new AwsError("ResourceNotFoundException", `Schedule group ${name} does not exist.`);

export const conflict = (message: string): AwsError => new AwsError("ConflictException", message);
