/**
 * AWS-shaped errors and their one rendering: status, `__type`, `message`, and the
 * `x-amzn-ErrorType` header. Anything that is not a client-fault BerthError renders as a 500
 * ServerException with no detail, so no stack or internal text reaches a client.
 */
import { BerthError } from "../core/index.js";

/** An error whose `code` is the AWS `__type` the client sees. */
export class AwsError extends BerthError {
  constructor(code: string, message: string, status = 400, cause?: unknown) {
    super(code, message, { fault: status >= 500 ? "server" : "client", status, cause });
  }
}

export interface RenderedError {
  status: number;
  type: string;
  body: string;
}

/** The body never carries more than the code and message: no stack, no cause. */
export function renderError(error: unknown): RenderedError {
  if (error instanceof BerthError && error.fault === "client") {
    const body: Record<string, string> = { __type: error.code };
    // Coral omits `message` when it has none (UnknownOperationException, SerializationException).
    if (error.message !== "") body.message = error.message;
    return { status: error.status, type: error.code, body: JSON.stringify(body) };
  }
  return {
    status: 500,
    type: "ServerException",
    body: JSON.stringify({ __type: "ServerException", message: "An internal error occurred." }),
  };
}
