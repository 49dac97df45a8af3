/**
 * Billing as one object for the server to hold: the meter, the price book and Savings Plans
 * files under the data directory, and rating for a window. Reports (the Cost Explorer API) read
 * cost lines from here; money is only ever computed here.
 */
import { join } from "node:path";
import type { Clock, Identity, Logger } from "../core/index.js";
import type { Store } from "../store/index.js";
import { Meter, type RecordOutcome } from "./meter.js";
import { priceBookFile, type PriceBook, type WatchedFile } from "./price-book.js";
import { rateUsage, floorHour, type CostLine, type PlanHour } from "./rating.js";
import { HOUR_MS, ceilHour, savingsPlansFile, type SavingsPlans } from "./savings-plans.js";
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

  now(): Date {
    return this.#clock.now();
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
