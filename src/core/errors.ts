/**
 * The one error base of Berth. Every failure that reaches an edge (AWS API, registry, CLI)
 * carries a stable `code` that callers branch on, and says whose fault it is: the caller's
 * (a 4xx at the edge) or ours (a 5xx). Edges map codes to their wire forms once.
 */
export type Fault = "client" | "server";

export interface BerthErrorOptions {
  fault?: Fault;
  cause?: unknown;
  /** The HTTP status at the edge; 400 for client faults and 500 for ours unless said. */
  status?: number;
}

export class BerthError extends Error {
  readonly code: string;
  readonly fault: Fault;
  readonly status: number;

  constructor(code: string, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.fault = options.fault ?? "client";
    this.status = options.status ?? (this.fault === "client" ? 400 : 500);
  }
}

/** True when `error` is a BerthError with the given code. */
export function hasCode(error: unknown, code: string): error is BerthError {
  return error instanceof BerthError && error.code === code;
}
