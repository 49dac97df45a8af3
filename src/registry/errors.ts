/**
 * The registry's errors, in the OCI Distribution Spec's codes and statuses. The HTTP edge
 * renders them once, as `{"errors":[{"code","message","detail"}]}`.
 */
import { BerthError } from "../core/index.js";

/** Every code the spec defines, with the status it answers. */
export const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  // Not in the spec's table, but what ECR answers when an immutable tag would move.
  TAG_INVALID: 400,
  // The reference registry answers a storage failure 500 UNKNOWN; Berth says 507 for a full disk.
  UNKNOWN: 500,
} as const;

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

export class RegistryError extends BerthError {
  readonly detail: unknown;
  constructor(code: OciErrorCode, message: string, detail?: unknown, status?: number) {
    super(code, message, { fault: "client", status: status ?? OCI_ERROR_STATUS[code] });
    this.detail = detail;
  }
}

export function renderRegistryError(error: RegistryError): string {
  const entry: Record<string, unknown> = { code: error.code, message: error.message };
  entry.detail = error.detail ?? {};
  return JSON.stringify({ errors: [entry] });
}

export const nameUnknown = (name: string, registryId: string): RegistryError =>
  new RegistryError(
    "NAME_UNKNOWN",
    `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
    { name },
  );

export const blobUnknown = (digest: string): RegistryError =>
  new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { digest });

export const manifestUnknown = (reference: string): RegistryError =>
  new RegistryError("MANIFEST_UNKNOWN", "manifest unknown", { reference });

export const uploadUnknown = (): RegistryError =>
  new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");

export const digestInvalid = (message: string, detail?: unknown): RegistryError =>
  new RegistryError("DIGEST_INVALID", message, detail);

/** The registry's disk (or quota) is full: the push is refused whole, nothing of it is kept. */
export const diskFull = (written: number, cause: NodeJS.ErrnoException): RegistryError =>
  new RegistryError(
    "UNKNOWN",
    `the registry's disk is full (${cause.code ?? "ENOSPC"}: no space left on device); nothing of this upload was kept`,
    { written },
    507,
  );
