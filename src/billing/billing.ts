/**
 * Billing as one object for the server to hold: the meter, the price book and Savings Plans
 * files under the data directory, and rating for a window. Reports (the Cost Explorer API) read
 * cost lines from here; money is only ever computed here.
 */
import { join } from "node:path";
import type { Clock, Identity, Logger } from "../core/index.js";
import type { Store } from "../store/index.js";
import { Meter, type RecordOutcome } from "./meter.js";
import {
  priceBookFile,
  priceChange,
  type PriceBook,
  type PriceChange,
  type PriceChangeRequest,
  type WatchedFile,
} from "./price-book.js";
import { rateUsage, floorHour, type CostLine, type PlanHour } from "./rating.js";
import {
  HOUR_MS,
  YEAR_SECONDS,
  ceilHour,
  savingsPlansFile,
  type SavingsPlan,
  type SavingsPlans,
} from "./savings-plans.js";
import type { TaskUsage, TaskUsageSource } from "./usage.js";

export interface BillingPaths {
  priceBook: string;
  savingsPlans: string;
}

/** Where billing keeps its operator-edited files in a data directory. */
export function billingPaths(dataDir: string): BillingPaths {
  return {
    priceBook: join(dataDir, "billing", "price-book.json"),
    savingsPlans: join(dataDir, "billing", "savings-plans.json"),
  };
}

export interface BillingOptions {
  store: Store;
  source: TaskUsageSource;
  clock: Clock;
  log: Logger;
  dataDir: string;
  identity: Identity;
}

export interface RatedWindow {
  /** Hour-aligned, ms. */
  from: number;
  to: number;
  lines: CostLine[];
  planHours: PlanHour[];
}

/** Exact amounts (over MONEY_SCALE) for Billing.savings. */
export interface Savings {
  spotCost: bigint;
  spotOnDemand: bigint;
  plansCommitment: bigint;
  plansOnDemand: bigint;
}

export class Billing {
  readonly meter: Meter;
  readonly identity: Identity;
  readonly #priceBook: WatchedFile<PriceBook>;
  readonly #plans: WatchedFile<SavingsPlans>;
  readonly #clock: Clock;

  constructor(options: BillingOptions) {
    this.meter = new Meter(options);
    this.identity = options.identity;
    this.#clock = options.clock;
    const paths = billingPaths(options.dataDir);
    const complain = (what: string) => (error: unknown) =>
      options.log.error(`${what} is invalid; the last good version stays in force`, {
        error: error instanceof Error ? error.message : String(error),
      });
    this.#priceBook = priceBookFile(paths.priceBook, complain(paths.priceBook));
    this.#plans = savingsPlansFile(paths.savingsPlans, complain(paths.savingsPlans));
    // Written on first start, so operators find the defaults where they edit them.
    this.#priceBook.current();
    this.#plans.current();
  }

  /** The compute side's hook for a task that reached STOPPED. Idempotent. */
  recordTaskUsage(record: TaskUsage): Promise<RecordOutcome> {
    return this.meter.recordTaskUsage(record);
  }

  priceBook(): PriceBook {
    return this.#priceBook.current();
  }

  savingsPlans(): SavingsPlans {
    return this.#plans.current();
  }

  /**
   * Records a price change (checked against the present: never in the past). The server is the
   * one writer of the price book, so every client's change reaches the running Berth.
   */
  changePrices(request: PriceChangeRequest): { book: PriceBook; change: PriceChange } {
    const book = this.priceBook();
    const change = priceChange(book, request, this.#clock.now());
    const next = book.withChange(change);
    this.#priceBook.write(next);
    return { book: next, change };
  }

  /**
   * Buys a Compute Savings Plan: it starts at the next hour unless told (never in the past);
   * the discount defaults to about Fargate's No Upfront rates (20% for 1 year, 50% for 3).
   */
  createSavingsPlan(input: {
    commitment: string;
    termSeconds: number;
    discountRate?: string;
    start?: Date;
  }): SavingsPlan {
    const now = this.#clock.now();
    const { plans, plan } = this.savingsPlans().create(
      {
        commitment: input.commitment,
        termSeconds: input.termSeconds,
        discountRate: input.discountRate ?? (input.termSeconds >= 3 * YEAR_SECONDS ? "0.5" : "0.2"),
        start: input.start ?? new Date(ceilHour(now.getTime())),
      },
      this.identity.accountId,
      now,
    );
    this.#plans.write(plans);
    return plan;
  }

  /** Removes a queued plan, or retires a started one at the next hour. */
  deleteSavingsPlan(idOrArn: string): "deleted" | "retired" {
    const { plans, outcome } = this.savingsPlans().delete(idOrArn, this.#clock.now());
    this.#plans.write(plans);
    return outcome;
  }

  now(): Date {
    return this.#clock.now();
  }

  /**
   * What Spot and Savings Plans saved over the whole hours covering [from, to), exact amounts:
   * Spot's usage priced on demand against what it cost; the usage the plans covered priced on
   * demand against their commitment (waste included, as GetSavingsPlansUtilization's NetSavings).
   */
  async savings(from: Date, to: Date): Promise<Savings> {
    const rated = await this.rate(from, to);
    const out: Savings = { spotCost: 0n, spotOnDemand: 0n, plansCommitment: 0n, plansOnDemand: 0n };
    for (const line of rated.lines)
      if (line.onDemandRate !== undefined) {
        out.spotCost += line.unblended;
        out.spotOnDemand += line.onDemandRate * line.quantity;
      }
    for (const hour of rated.planHours) {
      out.plansCommitment += hour.commitment;
      out.plansOnDemand += hour.onDemandEquivalent;
    }
    return out;
  }

  /** Everything billed in the whole hours covering [from, to). */
  async rate(from: Date, to: Date): Promise<RatedWindow> {
    const start = floorHour(from.getTime());
    const end = Math.max(ceilHour(to.getTime()), start + HOUR_MS);
    const tasks = await this.meter.billedTasks(new Date(start), new Date(end));
    const { lines, planHours } = rateUsage({
      tasks,
      priceBook: this.priceBook(),
      plans: this.savingsPlans().plans,
      region: this.identity.region,
      from: start,
      to: end,
      now: this.#clock.now().getTime(),
    });
    return { from: start, to: end, lines, planHours };
  }
}
