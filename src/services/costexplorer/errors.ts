/** The errors Cost Explorer answers with, by its names. */
import { AwsError } from "../../aws/index.js";

/** Cost Explorer reports bad requests as ValidationException (400), e.g. a reversed period. */
export const validation = (message: string): AwsError =>
  new AwsError("ValidationException", message);

export const dataUnavailable = (message: string): AwsError =>
  new AwsError("DataUnavailableException", message);
