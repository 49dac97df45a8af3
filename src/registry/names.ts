/** The spec's grammars: repository names, tags, digests, and `Content-Range`/`Range` values. */
import { digestInvalid, RegistryError } from "./errors.js";

/** Repository name, from the OCI Distribution Spec (path components joined by `/`). */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export type DigestAlgorithm = "sha256" | "sha512";

/** ECR allows names of 2 to 256 characters. */
export function isRepositoryName(name: string): boolean {
  return name.length >= 2 && name.length <= 256 && NAME.test(name);
}

export function checkRepositoryName(name: string): void {
  if (!isRepositoryName(name))
    throw new RegistryError("NAME_INVALID", "invalid repository name", { name });
}

export function isTag(value: string): boolean {
  return TAG.test(value);
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Parses a digest the registry can verify; anything else is DIGEST_INVALID. */
export function parseDigest(value: string | null | undefined): {
  algorithm: DigestAlgorithm;
  hex: string;
  digest: string;
} {
  if (value === null || value === undefined || value === "")
    throw digestInvalid("provided digest is missing");
  if (!DIGEST.test(value)) {
    // A known algorithm with a bad hex part is a malformed digest, not an unsupported one.
    const supported = /^(sha256|sha512):/.test(value);
    const unsupported = !supported && ANY_DIGEST.test(value);
    throw digestInvalid(unsupported ? "unsupported digest algorithm" : "invalid digest", {
      digest: value,
    });
  }
  const [algorithm, hex] = value.split(":") as [DigestAlgorithm, string];
  return { algorithm, hex, digest: value };
}

/** `Content-Range: START-END` (inclusive), as chunked uploads send it. */
export function parseContentRange(value: string): { start: number; end: number } | undefined {
  const match = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(value.trim());
  if (match === null) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  return { start, end };
}

/**
 * `Range: bytes=A-B`, `bytes=A-` or `bytes=-N` against a blob of `size` bytes. Returns
 * undefined when the header is absent or not one single range (then the whole blob is served),
 * or "unsatisfiable".
 */
export function parseRange(
  value: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  if (value === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (match === null) return undefined;
  const [, from = "", to = ""] = match;
  if (from === "" && to === "") return undefined;
  if (from === "") {
    const suffix = Number(to);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}
