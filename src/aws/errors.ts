/**
 * AWS-shaped errors and their one rendering: status, `__type`, `message`, and the
 * `x-amzn-RequestId` and `x-amzn-ErrorType` headers. Anything that is not a client-fault
 * BerthError renders as a 500 ServerException with no detail, so no stack or internal text
 * reaches a client.
 */
import { BerthError, newRequestId } from "../core/index.js";
import { AWS_ERROR_CODES, errorStatus, type AwsErrorCode } from "./error-codes.js";

/** A code whose message has no part that varies (`<...>` in its form). */
type FixedMessageCode = {
  [C in AwsErrorCode]: (typeof AWS_ERROR_CODES)[C]["message"] extends `${string}<${string}`
    ? never
    : C;
}[AwsErrorCode];

/**
 * An error whose `code` is the AWS `__type` the client sees; its status is the code's, and so is
 * its message where the code's never varies.
 */
export class AwsError extends BerthError {
  declare readonly code: AwsErrorCode;
  constructor(code: FixedMessageCode);
  constructor(code: AwsErrorCode, message: string, options?: { cause?: unknown });
  constructor(
    code: AwsErrorCode,
    message: string = AWS_ERROR_CODES[code].message,
    options: { cause?: unknown } = {},
  ) {
    const { status } = AWS_ERROR_CODES[code];
    super(code, message, { fault: status >= 500 ? "server" : "client", status, ...options });
  }
}

export interface RenderedError {
  status: number;
  type: string;
  body: string;
  /** Content-Type, x-amzn-RequestId and x-amzn-ErrorType: what every AWS error answer carries. */
  headers: Record<string, string>;
}

export interface RenderOptions {
  requestId?: string;
  /** The signing name of the service answering: a code's status can differ per service. */
  service?: string;
  /** REST-JSON names the code only in `x-amzn-ErrorType` (JSON 1.1 also as `__type`). */
  protocol?: "json" | "rest-json";
}

/** The body never carries more than the code and message: no stack, no cause. */
export function renderError(error: unknown, options: RenderOptions = {}): RenderedError {
  const { requestId = newRequestId(), service, protocol = "json" } = options;
  const client = error instanceof BerthError && error.fault === "client";
  const type = client ? error.code : "ServerException";
  const body: Record<string, string> = protocol === "json" ? { __type: type } : {};
  // Coral omits `message` when it has none (UnknownOperationException, SerializationException).
  const message = client ? error.message : "An internal error occurred.";
  if (message !== "") body.message = message;
  const registered = client && Object.hasOwn(AWS_ERROR_CODES, type);
  return {
    status: !client ? 500 : registered ? errorStatus(type as AwsErrorCode, service) : error.status,
    type,
    body: JSON.stringify(body),
    headers: {
      "Content-Type": protocol === "json" ? "application/x-amz-json-1.1" : "application/json",
      "x-amzn-RequestId": requestId,
      "x-amzn-ErrorType": type,
    },
  };
}
