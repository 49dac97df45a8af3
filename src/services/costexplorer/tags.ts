/**
 * GetTags: the cost allocation tag keys the period's cost lines carry, or one key's values, as
 * Cost Explorer's console offers them for "group by tag". Every task tag counts as activated.
 */
import type { GetTagsRequest, GetTagsResponse } from "@aws-sdk/client-cost-explorer";
import type { RequestContext } from "../../aws/index.js";
import type { Billing } from "../../billing/index.js";
import { validation } from "./errors.js";
import { checkExpression, evaluate } from "./filter.js";
import { COST_DIMENSIONS, attributesOf, managedTags } from "./lines.js";
import { parseInterval } from "./periods.js";

export function tagsHandler(billing: Billing) {
  return async (input: GetTagsRequest, ctx: RequestContext): Promise<GetTagsResponse> => {
    const { start, end } = parseInterval(input.TimePeriod);
    if (input.Filter !== undefined) checkExpression(input.Filter, COST_DIMENSIONS);
    // AWS sorts by a cost metric when asked; Berth answers in name order only.
    if ((input.SortBy ?? []).length > 0) throw validation("SortBy is not supported by Berth");
    const rated = await billing.rate(new Date(start), new Date(end));
    const found = new Set<string>();
    for (const line of rated.lines) {
      if (line.hour + 3_600_000 <= start || line.hour >= end) continue;
      if (input.Filter !== undefined && !evaluate(input.Filter, attributesOf(line, ctx.identity)))
        continue;
      const tags = managedTags(line);
      if (input.TagKey === undefined) for (const key of Object.keys(tags)) found.add(key);
      else if (Object.hasOwn(tags, input.TagKey)) found.add(tags[input.TagKey] ?? "");
    }
    const search = input.SearchString;
    const tags = [...found]
      .filter((t) => search === undefined || t.includes(search))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // AWS pages past 1,000 with NextPageToken; a Berth's tags fit in one answer.
    return { Tags: tags, ReturnSize: tags.length, TotalSize: tags.length };
  };
}
