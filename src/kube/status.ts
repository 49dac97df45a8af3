/**
 * Kubernetes `Status` errors: the one error class of the Kubernetes API (a BerthError whose code
 * is the Status `reason`) and its one rendering. Anything else renders as a 500 InternalError
 * with no detail.
 */
import { BerthError } from "../core/index.js";

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message: string; field?: string }[];
}

export class KubeError extends BerthError {
  readonly details: StatusDetails | undefined;
  constructor(reason: string, message: string, status: number, details?: StatusDetails) {
    super(reason, message, { status, fault: status >= 500 ? "server" : "client" });
    this.details = details;
  }
}

/** `pods "web" not found`, as the API server says it. */
export function notFound(resource: string, name: string, group = "", kind?: string): KubeError {
  const qualified = group === "" ? resource : `${resource}.${group}`;
  return new KubeError("NotFound", `${qualified} "${name}" not found`, 404, {
    name,
    group,
    kind: kind ?? resource,
  });
}

/** A path the API server serves nothing at: an unknown group, resource or subresource. */
export const unknownPath = (): KubeError =>
  new KubeError("NotFound", "the server could not find the requested resource", 404);

export const methodNotAllowed = (): KubeError =>
  new KubeError(
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
    405,
  );

export function alreadyExists(resource: string, name: string, group = ""): KubeError {
  const qualified = group === "" ? resource : `${resource}.${group}`;
  return new KubeError("AlreadyExists", `${qualified} "${name}" already exists`, 409, {
    name,
    group,
    kind: resource,
  });
}

export function badRequest(message: string): KubeError {
  return new KubeError("BadRequest", message, 400);
}

export function invalid(kind: string, name: string, causes: { field: string; message: string }[]) {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
  return new KubeError("Invalid", `${kind} "${name}" is invalid: ${text}`, 422, {
    name,
    kind,
    causes: causes.map((c) => ({ reason: "FieldValueInvalid", ...c })),
  });
}

export function conflict(resource: string, name: string, message: string, group = ""): KubeError {
  const qualified = group === "" ? resource : `${resource}.${group}`;
  return new KubeError(
    "Conflict",
    `Operation cannot be fulfilled on ${qualified} "${name}": ${message}`,
    409,
    { name, group, kind: resource },
  );
}

export function statusBody(error: unknown): { status: number; body: Record<string, unknown> } {
  const known = error instanceof KubeError ? error : undefined;
  const code = known?.status ?? 500;
  return {
    status: code,
    body: {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: known?.message ?? "an error on the server has prevented the request from succeeding",
      reason: known?.code ?? "InternalError",
      ...(known?.details === undefined ? {} : { details: known.details }),
      code,
    },
  };
}

export function successStatus(details?: StatusDetails): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    ...(details === undefined ? {} : { details }),
  };
}
