/** Scheduler's pages: NextToken from the shared token codec, its errors as ValidationException. */
import { pageFrom, tokenOffset } from "../../aws/index.js";
import { invalid } from "./errors.js";

/** One page (MaxResults 1-100 is the model's; 100 when none is asked) after the token's offset. */
export function pageOf<T>(
  items: T[],
  { NextToken: token, MaxResults: maxResults }: { NextToken?: string; MaxResults?: number },
): { items: T[]; NextToken?: string } {
  const start = tokenOffset(token, "ValidationException");
  if (!Number.isInteger(start) || start < 0) throw invalid("The specified nextToken is invalid.");
  return pageFrom(items, start, maxResults ?? 100, "NextToken");
}
