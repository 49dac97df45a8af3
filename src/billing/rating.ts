/**
 * Rating: billed task intervals -> priced cost lines, one per task, hour, resource and price
 * period, then Compute Savings Plans applied hour by hour. Pure and exact (see money.ts).
 *
 * A task's interval is cut at every hour boundary (so HOURLY, DAILY and MONTHLY reports add up
 * whole lines) and at every price change (so a Spot task that spans a price change is priced
 * piecewise, each piece at the price in effect when it ran).
 *
 * Savings Plans, as AWS applies them: each hour, for each plan active that hour, eligible usage
 * (on-demand Fargate vCPU and memory; not Spot, not storage) is covered at the plan's rate until
 * the hour's commitment is used up; the rest stays on-demand. Covered usage has an unblended cost
 * of 0 (AWS's SavingsPlanCoveredUsage and its SavingsPlanNegation net to nothing) and an
 * amortized cost at the plan rate. The plan's hourly fee is a line of its own: unblended, the
 * whole commitment; amortized, the unused part — the waste. A plan's commitment accrues only for
 * hours that have begun: a report that reaches into the future (today, this month) bills no
 * commitment for hours still to come. The hour under way is billed whole, as AWS charges the
 * commitment per clock hour and its usage so far is already covered.
 */
import { discountedRate } from "./money.js";
import type { PriceBook, PriceName, Prices } from "./price-book.js";
import { HOUR_MS, planCovers, type SavingsPlan } from "./savings-plans.js";
import {
  FREE_EPHEMERAL_STORAGE_GIB,
  billedUntil,
  type BilledTask,
  type TaskUsage,
} from "./usage.js";
import {
  PURCHASE_ON_DEMAND,
  PURCHASE_SAVINGS_PLANS,
  PURCHASE_SPOT,
  RECORD_SP_COVERED,
  RECORD_SP_FEE,
  RECORD_USAGE,
  SERVICE_ECS,
  SERVICE_SAVINGS_PLANS,
  savingsPlanFeeUsageType,
  usageType,
  usageUnit,
  type ResourceKind,
} from "./usage-types.js";

export interface CostLine {
  /** Start of the UTC hour the line belongs to, ms. */
  hour: number;
  /** The task consumed (none for a Savings Plan fee). */
  task?: TaskUsage;
  kind?: ResourceKind;
  usageType: string;
  unit: string;
  purchaseType: string;
  recordType: string;
  service: string;
  savingsPlanArn?: string;
  /** Over QUANTITY_SCALE: vCPU-hours, GB-hours. */
  quantity: bigint;
  /** Over MONEY_SCALE. */
  unblended: bigint;
  amortized: bigint;
  /** The rate (1e-10 USD per unit-hour) the line's usage had on demand or on Spot. */
  rate: bigint;
  /** A Spot line's on-demand rate at the same time (what Spot saved is measured against it). */
  onDemandRate?: bigint;
}

/** One plan's hour: what it committed, what it used, and what that usage cost on demand. */
export interface PlanHour {
  plan: SavingsPlan;
  hour: number;
  commitment: bigint;
  used: bigint;
  onDemandEquivalent: bigint;
}

export interface RatingInput {
  tasks: readonly BilledTask[];
  priceBook: PriceBook;
  plans: readonly SavingsPlan[];
  region: string;
  /** Hour-aligned window, ms: [from, to). */
  from: number;
  to: number;
  /** The present, ms: plan hours that begin after it accrue nothing yet. */
  now: number;
}

export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

function priceName(task: TaskUsage, kind: ResourceKind): PriceName {
  if (kind === "storage") return "storage.gb";
  const arch = task.cpuArchitecture === "ARM64" ? "arm" : "x86";
  const spot = task.capacityProviderName === "FARGATE_SPOT" ? "spot." : "";
  return `${spot}${arch}.${kind === "vcpu" ? "vcpu" : "gb"}` as PriceName;
}

/** Quantity per millisecond, over QUANTITY_SCALE / 3 600 000 (= 1024): CPU units, MiB, GiB × 1024. */
function sizeOf(task: TaskUsage, kind: ResourceKind): bigint {
  if (kind === "vcpu") return BigInt(task.cpu);
  if (kind === "memory") return BigInt(task.memoryMiB);
  return BigInt(Math.max(0, task.ephemeralStorageGiB - FREE_EPHEMERAL_STORAGE_GIB)) * 1024n;
}

const KINDS: readonly ResourceKind[] = ["vcpu", "memory", "storage"];

/** The usage lines of one task inside [from, to), before any Savings Plan. */
export function rateTask(
  billed: BilledTask,
  priceBook: PriceBook,
  region: string,
  from: number,
  to: number,
): CostLine[] {
  const start = Math.max(billed.billedFrom, from);
  const end = Math.min(billedUntil(billed), to);
  if (start >= end) return [];
  const task = billed.usage;
  const cuts = new Set<number>(priceBook.changeTimesWithin(start, end));
  for (let h = floorHour(start) + HOUR_MS; h < end; h += HOUR_MS) cuts.add(h);
  const points = [start, ...[...cuts].sort((a, b) => a - b), end];
  const spot = task.capacityProviderName === "FARGATE_SPOT";
  const lines: CostLine[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const s = points[i] as number;
    const ms = BigInt((points[i + 1] as number) - s);
    const prices: Prices = priceBook.at(s);
    for (const kind of KINDS) {
      const size = sizeOf(task, kind);
      if (size === 0n) continue;
      const rate = prices[priceName(task, kind)];
      const onDemand = prices[priceName({ ...task, capacityProviderName: "FARGATE" }, kind)];
      const quantity = size * ms;
      lines.push({
        hour: floorHour(s),
        task,
        kind,
        usageType: usageType(region, kind, task.cpuArchitecture, task.capacityProviderName),
        unit: usageUnit(kind),
        purchaseType: spot ? PURCHASE_SPOT : PURCHASE_ON_DEMAND,
        recordType: RECORD_USAGE,
        service: SERVICE_ECS,
        quantity,
        unblended: rate * quantity,
        amortized: rate * quantity,
        rate,
        ...(spot && kind !== "storage" ? { onDemandRate: onDemand } : {}),
      });
    }
  }
  return lines;
}

function eligible(line: CostLine): boolean {
  return line.purchaseType === PURCHASE_ON_DEMAND && line.kind !== "storage";
}

function lineOrder(a: CostLine, b: CostLine): number {
  if (a.usageType !== b.usageType) return a.usageType < b.usageType ? -1 : 1;
  const ta = a.task?.taskArn ?? "";
  const tb = b.task?.taskArn ?? "";
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

/** Applies the plans to the usage lines, hour by hour; returns all lines and each plan-hour. */
export function applySavingsPlans(
  usage: CostLine[],
  plans: readonly SavingsPlan[],
  from: number,
  to: number,
  now: number,
): { lines: CostLine[]; planHours: PlanHour[] } {
  const accrues = (plan: SavingsPlan, hour: number) => hour <= now && planCovers(plan, hour);
  const ordered = [...plans].sort(
    (a, b) => a.start.getTime() - b.start.getTime() || (a.savingsPlanId < b.savingsPlanId ? -1 : 1),
  );
  const byHour = new Map<number, CostLine[]>();
  const lines: CostLine[] = [];
  for (const line of usage) {
    if (!eligible(line)) {
      lines.push(line);
      continue;
    }
    const list = byHour.get(line.hour) ?? [];
    list.push(line);
    byHour.set(line.hour, list);
  }
  const planHours: PlanHour[] = [];
  const hours = new Set<number>(byHour.keys());
  for (const plan of ordered)
    for (let h = Math.max(from, floorHour(plan.start.getTime())); h < to; h += HOUR_MS)
      if (accrues(plan, h)) hours.add(h);
      else if (h >= plan.start.getTime()) break;
  for (const hour of [...hours].sort((a, b) => a - b)) {
    let pending = (byHour.get(hour) ?? []).sort(lineOrder);
    for (const plan of ordered) {
      if (!accrues(plan, hour)) continue;
      const commitment = plan.commitment * (3_600_000n * 1024n);
      let left = commitment;
      let onDemandEquivalent = 0n;
      const rest: CostLine[] = [];
      for (const line of pending) {
        const planRate = discountedRate(line.rate, plan.discountRate);
        const fullCost = planRate * line.quantity;
        const covered =
          fullCost <= left ? line.quantity : planRate === 0n ? line.quantity : left / planRate;
        if (covered > 0n) {
          const cost = planRate * covered;
          left -= cost;
          onDemandEquivalent += line.rate * covered;
          lines.push({
            ...line,
            purchaseType: PURCHASE_SAVINGS_PLANS,
            recordType: RECORD_SP_COVERED,
            savingsPlanArn: plan.savingsPlanArn,
            quantity: covered,
            unblended: 0n,
            amortized: cost,
          });
        }
        const uncovered = line.quantity - covered;
        if (uncovered > 0n)
          rest.push({
            ...line,
            quantity: uncovered,
            unblended: line.rate * uncovered,
            amortized: line.rate * uncovered,
          });
      }
      pending = rest;
      const used = commitment - left;
      planHours.push({ plan, hour, commitment, used, onDemandEquivalent });
      lines.push({
        hour,
        usageType: savingsPlanFeeUsageType(plan.termSeconds),
        unit: "Hrs",
        purchaseType: PURCHASE_SAVINGS_PLANS,
        recordType: RECORD_SP_FEE,
        service: SERVICE_SAVINGS_PLANS,
        savingsPlanArn: plan.savingsPlanArn,
        // Deviation: AWS counts the fee's hours in UsageQuantity; Berth leaves them out so
        // usage totals stay vCPU- and GB-hours.
        quantity: 0n,
        unblended: commitment,
        amortized: left,
        rate: 0n,
      });
    }
    lines.push(...pending);
  }
  return { lines, planHours };
}

/** Everything billed in [from, to): usage lines, Savings Plan coverage and fees. */
export function rateUsage(input: RatingInput): { lines: CostLine[]; planHours: PlanHour[] } {
  const usage = input.tasks.flatMap((t) =>
    rateTask(t, input.priceBook, input.region, input.from, input.to),
  );
  return applySavingsPlans(usage, input.plans, input.from, input.to, input.now);
}
