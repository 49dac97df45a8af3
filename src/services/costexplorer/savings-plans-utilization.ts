/**
 * GetSavingsPlansUtilization: per period and in total, how much of the Savings Plans'
 * commitment was used, what the covered usage would have cost on demand, and the net savings
 * (on-demand equivalent minus the commitment paid, waste included).
 */
import type {
  GetSavingsPlansUtilizationRequest,
  GetSavingsPlansUtilizationResponse,
  SavingsPlansUtilizationAggregates,
} from "@aws-sdk/client-cost-explorer";
import type { RequestContext } from "../../aws/index.js";
import { divideRounded, formatAmount, type Billing, type PlanHour } from "../../billing/index.js";
import { dataUnavailable, validation } from "./errors.js";
import { checkExpression, evaluate, type Attributed } from "./filter.js";
import { parseInterval, periods } from "./periods.js";

const PLAN_DIMENSIONS = [
  "SAVINGS_PLAN_ARN",
  "SAVINGS_PLANS_TYPE",
  "PAYMENT_OPTION",
  "REGION",
  "LINKED_ACCOUNT",
];

interface Totals {
  commitment: bigint;
  used: bigint;
  onDemandEquivalent: bigint;
}

function percent(used: bigint, total: bigint): string {
  if (total === 0n) return "0";
  const hundredths = divideRounded(used * 10_000n, total);
  const text = `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, "0")}`;
  return text.replace(/\.?0+$/, "");
}

function aggregate(t: Totals): SavingsPlansUtilizationAggregates {
  return {
    Utilization: {
      TotalCommitment: formatAmount(t.commitment),
      UsedCommitment: formatAmount(t.used),
      UnusedCommitment: formatAmount(t.commitment - t.used),
      UtilizationPercentage: percent(t.used, t.commitment),
    },
    Savings: {
      NetSavings: formatAmount(t.onDemandEquivalent - t.commitment),
      OnDemandCostEquivalent: formatAmount(t.onDemandEquivalent),
    },
    // Berth's plans are No Upfront: all of the commitment is recurring.
    AmortizedCommitment: {
      AmortizedRecurringCommitment: formatAmount(t.commitment),
      AmortizedUpfrontCommitment: "0",
      TotalAmortizedCommitment: formatAmount(t.commitment),
    },
  };
}

function attributes(hour: PlanHour, ctx: RequestContext): Attributed {
  return {
    dimension(key) {
      if (key === "SAVINGS_PLAN_ARN") return hour.plan.savingsPlanArn;
      if (key === "SAVINGS_PLANS_TYPE") return "ComputeSavingsPlans";
      if (key === "PAYMENT_OPTION") return "NoUpfront";
      if (key === "REGION") return ctx.identity.region;
      if (key === "LINKED_ACCOUNT") return ctx.identity.accountId;
      return undefined;
    },
    tag: () => undefined,
  };
}

const zero = (): Totals => ({ commitment: 0n, used: 0n, onDemandEquivalent: 0n });

export function savingsPlansUtilizationHandler(billing: Billing) {
  return async (
    input: GetSavingsPlansUtilizationRequest,
    ctx: RequestContext,
  ): Promise<GetSavingsPlansUtilizationResponse> => {
    const { start, end } = parseInterval(input.TimePeriod);
    if (input.Granularity === "HOURLY")
      throw validation(
        "HOURLY granularity is not supported for Savings Plans utilization; use DAILY or MONTHLY",
      );
    if (input.Filter !== undefined) checkExpression(input.Filter, PLAN_DIMENSIONS);
    const list = input.Granularity === undefined ? [] : periods(start, end, input.Granularity);
    const rated = await billing.rate(new Date(start), new Date(end));
    const hours = rated.planHours.filter(
      (h) =>
        h.hour >= start &&
        h.hour < end &&
        (input.Filter === undefined || evaluate(input.Filter, attributes(h, ctx))),
    );
    if (hours.length === 0)
      throw dataUnavailable(
        "No Savings Plans data is available for the given time period and filter.",
      );
    const total = zero();
    const byPeriod = list.map(zero);
    for (const h of hours) {
      for (const t of [
        total,
        byPeriod[list.findIndex((p) => p.start <= h.hour && h.hour < p.end)],
      ]) {
        if (t === undefined) continue;
        t.commitment += h.commitment;
        t.used += h.used;
        t.onDemandEquivalent += h.onDemandEquivalent;
      }
    }
    const response: GetSavingsPlansUtilizationResponse = { Total: aggregate(total) };
    if (input.Granularity !== undefined)
      response.SavingsPlansUtilizationsByTime = list
        .map((p, i) => ({ p, t: byPeriod[i] as Totals }))
        .filter(({ t }) => t.commitment > 0n)
        .map(({ p, t }) => {
          const a = aggregate(t);
          return {
            TimePeriod: p.interval,
            Utilization: a.Utilization ?? {},
            Savings: a.Savings,
            AmortizedCommitment: a.AmortizedCommitment,
          };
        });
    return response;
  };
}
