/**
 * The errors CloudWatch Logs answers with, by the names and texts Logs uses, as recorded from
 * AWS in public test snapshots and bug reports. Where no recorded text was found (noted below,
 * and the filter-pattern and logStreamNames/prefix texts) ours says what is wrong.
 * Callers branch on the code, never on the text.
 */
import { AwsError } from "../../aws/index.js";

export const invalidParameter = (message: string): AwsError =>
  new AwsError("InvalidParameterException", message);

export const logGroupNotFound = (): AwsError =>
  new AwsError("ResourceNotFoundException", "The specified log group does not exist.");

export const logStreamNotFound = (): AwsError =>
  new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");

// AWS's two "already exists" texts end without a full stop, unlike the "does not exist" ones.
export const logGroupAlreadyExists = (): AwsError =>
  new AwsError("ResourceAlreadyExistsException", "The specified log group already exists");

export const logStreamAlreadyExists = (): AwsError =>
  new AwsError("ResourceAlreadyExistsException", "The specified log stream already exists");

export const invalidNextToken = (): AwsError =>
  invalidParameter("The specified nextToken is invalid.");

/** Both logGroupName and logGroupIdentifier given (Logs answers ValidationException here). */
export const nameAndIdentifier = (): AwsError =>
  new AwsError(
    "ValidationException",
    "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
  );

/** Neither logGroupName nor logGroupIdentifier given. AWS's text for this is not recorded. */
export const nameOrIdentifierMissing = (): AwsError =>
  invalidParameter("You must include either logGroupIdentifier or logGroupName, but not both.");
