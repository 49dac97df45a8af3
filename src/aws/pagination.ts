/** Opaque pagination tokens, as AWS hands them out: callers may only pass them back. */
import type { AwsErrorCode } from "./error-codes.js";
import { AwsError } from "./errors.js";

export function encodeToken(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

export function decodeToken<T extends Record<string, string | number>>(
  token: string | undefined,
  errorCode: AwsErrorCode = "InvalidParameterException",
): T | undefined {
  if (token === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as T;
  } catch {
    // fall through to the error below
  }
  throw new AwsError(errorCode, "The specified nextToken is invalid.");
}

/** The offset a page's token starts at, 0 without one; a token that is no position is `errorCode`. */
export function tokenOffset(token: string | undefined, errorCode?: AwsErrorCode): number {
  return Number(decodeToken<{ offset: number }>(token, errorCode)?.offset ?? 0);
}

/**
 * At most `size` of `items` from `start`, and under `key` (each service spells it its own way)
 * the token of the next page if there is one.
 */
export function pageFrom<T, K extends string>(
  items: T[],
  start: number,
  size: number,
  key: K,
): { items: T[] } & Partial<Record<K, string>> {
  const slice = items.slice(start, start + size);
  const end = start + slice.length;
  const next = end < items.length ? { [key]: encodeToken({ offset: end }) } : {};
  return { items: slice, ...next } as { items: T[] } & Partial<Record<K, string>>;
}

/**
 * One page of `items` after the request's token's offset, with the token for the next page if
 * any. `defaultMax` is both the page size when none is asked and the largest one allowed.
 */
export function page<T>(
  items: T[],
  { nextToken, maxResults }: { nextToken?: string; maxResults?: number },
  defaultMax: number,
): { items: T[]; nextToken?: string } {
  const start = tokenOffset(nextToken);
  if (!Number.isInteger(start) || start < 0)
    throw new AwsError("InvalidParameterException", "The specified nextToken is invalid.");
  // The ECS model of Debian's awscli leaves maxResults unbounded; the API reference bounds
  // every ECS list at 1..100, so the bound is checked here for all of them.
  if (maxResults !== undefined && (maxResults < 1 || maxResults > defaultMax))
    throw new AwsError(
      "InvalidParameterException",
      `maxResults must be between 1 and ${defaultMax}.`,
    );
  return pageFrom(items, start, maxResults ?? defaultMax, "nextToken");
}
