/** IAM's list paging: `Marker` (where the last page ended) and `MaxItems` (default 100). */
import { invalidInput } from "./errors.js";

/** What a List request asks of its page. */
export type Paging = { Marker?: string; MaxItems?: number };

export interface Page<T> {
  items: T[];
  IsTruncated: boolean;
  Marker?: string;
}

/** `sorted` ordered by `key`; the marker is the last key of the previous page, base64url. */
export function page<T>(
  sorted: readonly T[],
  key: (item: T) => string,
  { Marker: marker, MaxItems: maxItems }: Paging,
): Page<T> {
  let after: string | undefined;
  if (marker !== undefined) {
    after = Buffer.from(marker, "base64url").toString("utf8");
    if (after === "") throw invalidInput("Invalid Marker.");
  }
  const start = after === undefined ? sorted : sorted.filter((item) => key(item) > after);
  const limit = maxItems ?? 100;
  const items = start.slice(0, limit);
  const last = items[items.length - 1];
  const truncated = start.length > limit && last !== undefined;
  return {
    items,
    IsTruncated: truncated,
    ...(truncated ? { Marker: Buffer.from(key(last)).toString("base64url") } : {}),
  };
}
