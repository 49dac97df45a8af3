/**
 * Compute Savings Plans: a commitment in USD per hour over a term, at a discount on Fargate
 * usage. Kept as a versioned JSON file under the data directory (billing/savings-plans.json),
 * managed with `berth savings-plans create|list|delete`.
 *
 * A plan is active for whole hours: from its start (an hour boundary) until the end of its term
 * or until it was retired. Deleting a plan that has not started removes it; deleting one that
 * has started retires it at the next hour boundary, so the hours already billed keep their bill.
 */
import { randomUUID } from "node:crypto";
import { BerthError } from "../core/index.js";
import { formatRate, parseRate } from "./money.js";
import { WatchedFile } from "./price-book.js";

export const HOUR_MS = 3_600_000;
export const YEAR_SECONDS = 365 * 86_400;

export interface SavingsPlan {
  savingsPlanId: string;
  savingsPlanArn: string;
  /** USD per hour, in 1e-10 units. */
  commitment: bigint;
  /** The discount off on-demand Fargate rates, as a fraction in 1e-10 units (0.2 -> 2e9). */
  discountRate: bigint;
  start: Date;
  termSeconds: number;
  /** Set when the plan was deleted after it started: it stops applying from this hour on. */
  retiredAt?: Date;
  createdAt: Date;
}

export type SavingsPlanState = "queued" | "active" | "retired";

export function planEnd(plan: SavingsPlan): number {
  const termEnd = plan.start.getTime() + plan.termSeconds * 1000;
  return plan.retiredAt === undefined ? termEnd : Math.min(termEnd, plan.retiredAt.getTime());
}

export function planState(plan: SavingsPlan, now: number): SavingsPlanState {
  if (now < plan.start.getTime()) return "queued";
  return now < planEnd(plan) ? "active" : "retired";
}

/** Whether the plan applies to the hour starting at `hour`. */
export function planCovers(plan: SavingsPlan, hour: number): boolean {
  return plan.start.getTime() <= hour && hour < planEnd(plan);
}

export function ceilHour(ms: number): number {
  return Math.ceil(ms / HOUR_MS) * HOUR_MS;
}

export class SavingsPlans {
  constructor(
    readonly revision: number,
    readonly plans: readonly SavingsPlan[],
  ) {}

  static empty(): SavingsPlans {
    return new SavingsPlans(1, []);
  }

  create(
    input: { commitment: string; discountRate: string; start: Date; termSeconds: number },
    accountId: string,
    now: Date,
  ): { plans: SavingsPlans; plan: SavingsPlan } {
    const commitment = parseRate(input.commitment, "commitment");
    if (commitment === 0n)
      throw new BerthError("InvalidSavingsPlan", "the commitment must be more than 0 USD per hour");
    const discountRate = parseRate(input.discountRate, "discount rate");
    if (discountRate >= parseRate("1"))
      throw new BerthError(
        "InvalidSavingsPlan",
        "the discount rate is a fraction below 1 (0.2 for 20% off)",
      );
    if (input.start.getTime() % HOUR_MS !== 0)
      throw new BerthError("InvalidSavingsPlan", "a plan starts on an hour boundary (…:00:00Z)");
    // Hours already billed keep their bill: a plan (like a price change) applies from now on.
    if (input.start.getTime() < now.getTime())
      throw new BerthError(
        "InvalidSavingsPlan",
        `a plan cannot start in the past (${input.start.toISOString()}); the earliest start is the next hour, ${new Date(ceilHour(now.getTime())).toISOString()}`,
      );
    if (!Number.isInteger(input.termSeconds) || input.termSeconds < 3600)
      throw new BerthError("InvalidSavingsPlan", "the term must be at least one hour");
    const id = randomUUID();
    const plan: SavingsPlan = {
      savingsPlanId: id,
      savingsPlanArn: `arn:aws:savingsplans::${accountId}:savingsplan/${id}`,
      commitment,
      discountRate,
      start: input.start,
      termSeconds: input.termSeconds,
      createdAt: now,
    };
    return { plans: new SavingsPlans(this.revision + 1, [...this.plans, plan]), plan };
  }

  /** Removes a queued plan; retires a started one at the next hour (the past keeps its bill). */
  delete(idOrArn: string, now: Date): { plans: SavingsPlans; outcome: "deleted" | "retired" } {
    const plan = this.plans.find(
      (p) => p.savingsPlanId === idOrArn || p.savingsPlanArn === idOrArn,
    );
    if (plan === undefined)
      throw new BerthError("SavingsPlanNotFound", `no savings plan '${idOrArn}'`);
    const state = planState(plan, now.getTime());
    if (state === "retired")
      throw new BerthError(
        "InvalidSavingsPlan",
        `savings plan ${plan.savingsPlanId} is already retired`,
      );
    if (state === "queued")
      return {
        plans: new SavingsPlans(
          this.revision + 1,
          this.plans.filter((p) => p !== plan),
        ),
        outcome: "deleted",
      };
    const retired = { ...plan, retiredAt: new Date(ceilHour(now.getTime())) };
    return {
      plans: new SavingsPlans(
        this.revision + 1,
        this.plans.map((p) => (p === plan ? retired : p)),
      ),
      outcome: "retired",
    };
  }

  toJSON(): unknown {
    return {
      format: FORMAT,
      revision: this.revision,
      plans: this.plans.map((p) => ({
        savingsPlanId: p.savingsPlanId,
        savingsPlanArn: p.savingsPlanArn,
        savingsPlanType: "Compute",
        paymentOption: "No Upfront",
        commitment: formatRate(p.commitment),
        discountRate: formatRate(p.discountRate),
        start: p.start.toISOString(),
        termDurationInSeconds: p.termSeconds,
        ...(p.retiredAt === undefined ? {} : { retiredAt: p.retiredAt.toISOString() }),
        createdAt: p.createdAt.toISOString(),
      })),
    };
  }

  static parse(text: string, where: string): SavingsPlans {
    const invalid = (message: string) =>
      new BerthError("InvalidSavingsPlans", `${where}: ${message}`);
    let doc: { format?: unknown; revision?: unknown; plans?: unknown };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (cause) {
      throw new BerthError("InvalidSavingsPlans", `${where} is not valid JSON`, { cause });
    }
    if (doc === null || typeof doc !== "object" || doc.format !== FORMAT)
      throw invalid(`"format" must be "${FORMAT}"`);
    if (typeof doc.revision !== "number" || !Number.isInteger(doc.revision))
      throw invalid(`"revision" must be an integer`);
    if (!Array.isArray(doc.plans)) throw invalid(`"plans" must be a list`);
    const date = (value: unknown, what: string): Date => {
      const d = typeof value === "string" ? new Date(value) : undefined;
      if (d === undefined || Number.isNaN(d.getTime()))
        throw invalid(`${what} must be an ISO 8601 time`);
      return d;
    };
    const plans = doc.plans.map((raw: unknown, i): SavingsPlan => {
      const p = raw as Record<string, unknown>;
      if (typeof p.savingsPlanId !== "string" || typeof p.savingsPlanArn !== "string")
        throw invalid(`plans[${i}] needs savingsPlanId and savingsPlanArn`);
      if (typeof p.commitment !== "string" || typeof p.discountRate !== "string")
        throw invalid(`plans[${i}].commitment and .discountRate must be decimal strings`);
      const term = p.termDurationInSeconds;
      if (typeof term !== "number" || !Number.isInteger(term) || term < 3600)
        throw invalid(
          `plans[${i}].termDurationInSeconds must be a whole number of seconds >= 3600`,
        );
      const start = date(p.start, `plans[${i}].start`);
      if (start.getTime() % HOUR_MS !== 0)
        throw invalid(`plans[${i}].start must be on an hour boundary`);
      return {
        savingsPlanId: p.savingsPlanId,
        savingsPlanArn: p.savingsPlanArn,
        commitment: parseRate(p.commitment, `plans[${i}].commitment`),
        discountRate: parseRate(p.discountRate, `plans[${i}].discountRate`),
        start,
        termSeconds: term,
        retiredAt:
          p.retiredAt === undefined ? undefined : date(p.retiredAt, `plans[${i}].retiredAt`),
        createdAt: date(p.createdAt, `plans[${i}].createdAt`),
      };
    });
    return new SavingsPlans(doc.revision, plans);
  }
}

const FORMAT = "berth-savings-plans/1";

export function savingsPlansFile(path: string, onError?: (error: unknown) => void) {
  return new WatchedFile<SavingsPlans>(
    path,
    (text, where) => SavingsPlans.parse(text, where),
    () => SavingsPlans.empty(),
    (plans) => plans.toJSON(),
    onError,
  );
}
