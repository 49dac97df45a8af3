/**
 * What a failed `berth` command prints: one line saying what happened, why, and how to fix it —
 * never a stack trace (BERTH_DEBUG=1 adds it, for a bug report).
 */
import { BerthError } from "../core/index.js";

/** The node error codes that mean the endpoint is not there (or not reachable). */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** What AWS answers when the keys or the signature are wrong. */
const BAD_KEYS = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignatureException",
  "MissingAuthenticationTokenException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
]);

/** A system error code carried by the error or one of its causes (fetch wraps them). */
function systemCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE.has(code)) return code;
    if (code === "EADDRINUSE") return code;
  }
  return undefined;
}

/** An AWS service error as the SDK throws it: a name, a message and response metadata. */
function isServiceError(error: unknown): error is Error & { $metadata: object } {
  return error instanceof Error && "$metadata" in error && error.name !== "Error";
}

/** A command's refusal of its arguments: main prints `berth NAME: message` and exits 2. */
export const invalidArgument = (message: string): BerthError =>
  new BerthError("InvalidArgument", message);

export interface FailureContext {
  command: string;
  /** The endpoint the command talked to, if it is a client command. */
  endpoint: string;
  debug: boolean;
}

/** The line (and the exit code) for an error that ended a command. */
export function describeFailure(
  error: unknown,
  context: FailureContext,
): { line: string; exitCode: number } {
  const prefix = `berth ${context.command}: `;
  if (
    error instanceof TypeError &&
    "code" in error &&
    String(error.code).startsWith("ERR_PARSE_ARGS")
  )
    return {
      line: `${prefix}${error.message}. Run \`berth help ${context.command}\` for its options.`,
      exitCode: 2,
    };
  if (error instanceof BerthError)
    return { line: prefix + error.message, exitCode: error.code === "InvalidArgument" ? 2 : 1 };
  const code = systemCode(error);
  if (code === "EADDRINUSE")
    return {
      line: `${prefix}the port is already in use; is another Berth running? Pick another with --port.`,
      exitCode: 1,
    };
  if (code !== undefined)
    return {
      line:
        `${prefix}cannot reach Berth at ${context.endpoint} (${code}). Is it running? ` +
        "Start it with `npm run up`, or point --endpoint / BERTH_ENDPOINT at it.",
      exitCode: 1,
    };
  if (isServiceError(error)) {
    const hint = BAD_KEYS.has(error.name)
      ? ` The keys are not this Berth's: use the ones \`berth up\` printed (BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY, or the AWS variables).`
      : "";
    return {
      line: `${prefix}An error occurred (${error.name}): ${error.message}${hint}`,
      exitCode: 1,
    };
  }
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split("\n", 1)[0] ?? text;
  const stack = context.debug && error instanceof Error && error.stack ? `\n${error.stack}` : "";
  return {
    line: `${prefix}${firstLine}${stack}${context.debug ? "" : " (BERTH_DEBUG=1 shows where)"}`,
    exitCode: 1,
  };
}
