/**
 * GetCostAndUsage: cost lines from billing, filtered, grouped by up to two dimensions or tags,
 * summed per period. Amounts are exact sums rounded once for the answer (10 places, as AWS).
 */
import type {
  Expression,
  GetCostAndUsageRequest,
  GetCostAndUsageResponse,
  Group,
  GroupDefinition,
  MetricValue,
  ResultByTime,
} from "@aws-sdk/client-cost-explorer";
import type { RequestContext } from "../../aws/index.js";
import type { Identity } from "../../core/index.js";
import { formatAmount, formatQuantity, type Billing, type CostLine } from "../../billing/index.js";
import { validation } from "./errors.js";
import { checkExpression, evaluate } from "./filter.js";
import { COST_DIMENSIONS, attributesOf } from "./lines.js";
import { parseInterval, periods, type Period } from "./periods.js";

type Measure = "unblended" | "amortized" | "quantity" | "normalized";

/** Metric names as GetCostAndUsage takes them (the response keys echo the request). */
const METRICS: Record<string, Measure> = {
  UnblendedCost: "unblended",
  // One account, no consolidated billing: blended equals unblended.
  BlendedCost: "unblended",
  // Berth gives no credits, refunds or discounts beyond Savings Plans: net equals gross.
  NetUnblendedCost: "unblended",
  AmortizedCost: "amortized",
  NetAmortizedCost: "amortized",
  UsageQuantity: "quantity",
  // Normalization factors exist for EC2 instance sizes; Fargate usage has none.
  NormalizedUsageAmount: "normalized",
};

export interface Sum {
  unblended: bigint;
  amortized: bigint;
  quantity: bigint;
  units: Set<string>;
}

const empty = (): Sum => ({ unblended: 0n, amortized: 0n, quantity: 0n, units: new Set() });

function add(sum: Sum, line: CostLine): void {
  sum.unblended += line.unblended;
  sum.amortized += line.amortized;
  sum.quantity += line.quantity;
  if (line.quantity > 0n) sum.units.add(line.unit);
}

function metric(sum: Sum, measure: Measure): MetricValue {
  switch (measure) {
    case "unblended":
      return { Amount: formatAmount(sum.unblended), Unit: "USD" };
    case "amortized":
      return { Amount: formatAmount(sum.amortized), Unit: "USD" };
    case "quantity":
      return {
        Amount: formatQuantity(sum.quantity),
        Unit: sum.units.size === 1 ? [...sum.units][0] : "N/A",
      };
    case "normalized":
      return { Amount: "0", Unit: "N/A" };
  }
}

function metrics(sum: Sum, names: readonly string[]): Record<string, MetricValue> {
  return Object.fromEntries(names.map((name) => [name, metric(sum, METRICS[name] as Measure)]));
}

function checkGroupBy(groupBy: readonly GroupDefinition[]): void {
  if (groupBy.length > 2) throw validation("You can only group by up to two different keys");
  for (const group of groupBy) {
    if (group.Type === "COST_CATEGORY")
      // AWS groups by cost categories an account defined; Berth has none to define.
      throw validation("Cost categories are not supported by Berth");
    if (group.Type === "TAG" && (group.Key === undefined || group.Key === ""))
      throw validation("Group by TAG needs a Key");
    if (
      group.Type === "DIMENSION" &&
      !(COST_DIMENSIONS as readonly string[]).includes(group.Key ?? "")
    )
      // AWS also groups by AZ, INSTANCE_TYPE, OPERATION, PLATFORM, TENANCY...: none applies to Fargate in Berth.
      throw validation(
        `Group Definition dimension is invalid. Valid values are ${COST_DIMENSIONS.join(", ")}`,
      );
    if (group.Type === undefined || group.Key === undefined)
      throw validation("A group definition needs Type and Key");
  }
}

function periodIndex(list: readonly Period[], hour: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((list[mid] as Period).start <= hour) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface GroupSum {
  keys: string[];
  sum: Sum;
}

/**
 * The exact sums behind an answer: per period, the total of the lines the filter keeps, and
 * per group key. Every kept line lands in exactly one group, so the groups add up to the total.
 */
export function summarize(
  lines: readonly CostLine[],
  list: readonly Period[],
  groupBy: readonly GroupDefinition[],
  filter: Expression | undefined,
  identity: Identity,
): { totals: Sum[]; groups: Map<string, GroupSum>[] } {
  const start = (list[0] as Period).start;
  const end = (list[list.length - 1] as Period).end;
  const totals = list.map(empty);
  const groups = list.map(() => new Map<string, GroupSum>());
  for (const line of lines) {
    if (line.hour + 3_600_000 <= start || line.hour >= end) continue;
    const attrs = attributesOf(line, identity);
    if (filter !== undefined && !evaluate(filter, attrs)) continue;
    const index = periodIndex(list, line.hour);
    add(totals[index] as Sum, line);
    if (groupBy.length === 0) continue;
    const keys = groupBy.map((g) =>
      g.Type === "TAG"
        ? `${g.Key}$${attrs.tag(g.Key ?? "") ?? ""}`
        : (attrs.dimension(g.Key ?? "") ?? `No${g.Key}`),
    );
    const id = JSON.stringify(keys);
    const bucket = groups[index] as Map<string, GroupSum>;
    const entry = bucket.get(id) ?? { keys, sum: empty() };
    add(entry.sum, line);
    bucket.set(id, entry);
  }
  return { totals, groups };
}

export function costAndUsageHandler(billing: Billing) {
  return async (
    input: GetCostAndUsageRequest,
    ctx: RequestContext,
  ): Promise<GetCostAndUsageResponse> => {
    const { start, end } = parseInterval(input.TimePeriod);
    const granularity = input.Granularity ?? "MONTHLY";
    const names = input.Metrics ?? [];
    if (names.length === 0) throw validation("Metrics is required and must not be empty");
    const unknown = names.filter((n) => !Object.hasOwn(METRICS, n));
    if (unknown.length > 0)
      throw validation(
        `Invalid metric(s): ${unknown.join(", ")}. Valid metrics are ${Object.keys(METRICS).join(", ")}`,
      );
    const groupBy = input.GroupBy ?? [];
    checkGroupBy(groupBy);
    if (input.Filter !== undefined) checkExpression(input.Filter, COST_DIMENSIONS);

    const list = periods(start, end, granularity);
    const rated = await billing.rate(new Date(start), new Date(end));
    const { totals, groups } = summarize(rated.lines, list, groupBy, input.Filter, ctx.identity);
    const now = billing.now().getTime();
    const results: ResultByTime[] = list.map((period, i) => {
      const grouped = groupBy.length > 0;
      const entries = [...(groups[i] as Map<string, GroupSum>).values()].sort((a, b) =>
        a.keys.join("\u0000") < b.keys.join("\u0000") ? -1 : 1,
      );
      const resultGroups: Group[] = entries.map((e) => ({
        Keys: e.keys,
        Metrics: metrics(e.sum, names),
      }));
      return {
        TimePeriod: period.interval,
        // Cost Explorer leaves Total empty when the answer is grouped.
        Total: grouped ? {} : metrics(totals[i] as Sum, names),
        Groups: resultGroups,
        // Usage still accruing (the period has not ended) is an estimate, as in AWS.
        Estimated: period.end > now,
      };
    });
    // AWS pages large grouped answers with NextPageToken; Berth's fit in one page, so it sends none.
    return {
      ...(groupBy.length > 0 ? { GroupDefinitions: groupBy } : {}),
      ResultsByTime: results,
      DimensionValueAttributes: [],
    };
  };
}
