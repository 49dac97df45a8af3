/**
 * Bills computed by hand. Each expected amount is worked out in the comment beside it from the
 * list prices (x86 $0.04048/vCPU-h, $0.004445/GB-h; ARM $0.03238, $0.00356; storage
 * $0.000111/GB-h above 20 GB; Spot by default 70% off: x86 $0.012144, $0.0013335).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  PriceBook,
  SavingsPlans,
  formatAmount,
  formatQuantity,
  parseAmount,
  parseRate,
  rateUsage,
  type CostLine,
  type SavingsPlan,
  type TaskUsage,
} from "../../../src/billing/index.js";
import { ACCOUNT, at, billed, task } from "./fixtures.js";

function rate(
  tasks: TaskUsage[],
  window: [string, string],
  options: { book?: PriceBook; plans?: readonly SavingsPlan[]; now?: string } = {},
) {
  return rateUsage({
    tasks: tasks.map(billed),
    priceBook: options.book ?? PriceBook.defaults(),
    plans: options.plans ?? [],
    region: "us-east-1",
    from: at(window[0]),
    to: at(window[1]),
    now: options.now === undefined ? at(window[1]) : at(options.now),
  });
}

const total = (lines: readonly CostLine[], pick: (l: CostLine) => bigint = (l) => l.unblended) =>
  lines.reduce((sum, l) => sum + pick(l), 0n);

const within = (lines: readonly CostLine[], from: string, to: string) =>
  lines.filter((l) => l.hour >= at(from) && l.hour < at(to));

describe("the bill of a task", () => {
  it("0.25 vCPU / 0.5 GB for 10 s costs exactly one minute on demand", () => {
    const t = task({
      cpu: 256,
      memoryMiB: 512,
      pull: "2026-03-02T10:00:00Z",
      stop: "2026-03-02T10:00:10Z",
    });
    const { lines } = rate([t], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]);
    // One minute at (0.25 × 0.04048 + 0.5 × 0.004445) = 0.0123425 $/h: exactly 0.0123425 / 60.
    assert.equal(total(lines) * 60n, parseAmount("0.0123425"));
    assert.equal(formatAmount(total(lines)), "0.0002057083");
    // Usage quantities are the minute too: 0.25 vCPU × 1/60 h, 0.5 GB × 1/60 h.
    const vcpu = lines.find((l) => l.usageType === "USE1-Fargate-vCPU-Hours:perCPU");
    assert.equal(formatQuantity((vcpu?.quantity ?? 0n) * 60n), "0.25");
  });

  it("the same task on Spot costs the Spot rate of that minute", () => {
    const t = task({
      cpu: 256,
      memoryMiB: 512,
      capacityProviderName: "FARGATE_SPOT",
      pull: "2026-03-02T10:00:00Z",
      stop: "2026-03-02T10:00:10Z",
    });
    const { lines } = rate([t], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]);
    // 0.25 × 0.012144 + 0.5 × 0.0013335 = 0.00370275 $/h; a minute is 0.0000617125 exactly.
    assert.equal(total(lines) * 60n, parseAmount("0.00370275"));
    assert.equal(formatAmount(total(lines)), "0.0000617125");
    assert.deepEqual(lines.map((l) => [l.usageType, l.purchaseType]).sort(), [
      ["USE1-SpotUsage-Fargate-GB-Hours", "Spot Instances"],
      ["USE1-SpotUsage-Fargate-vCPU-Hours:perCPU", "Spot Instances"],
    ]);
  });

  it("rounds up to the whole second, past the minimum", () => {
    // 61.001 s bills 62 s of 1 vCPU / 2 GB: 0.04937 $/h × 62 / 3600 = 0.0008502611...
    const t = task({ pull: "2026-03-02T10:00:00.000Z", stop: "2026-03-02T10:01:01.001Z" });
    const { lines } = rate([t], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]);
    assert.equal(total(lines) * 3600n, parseAmount("0.04937") * 62n);
    assert.equal(formatAmount(total(lines)), "0.0008502611");
  });

  it("does not bill a task that never pulled (it is not in the meter's list at all)", () => {
    const t = task({ pull: undefined, stop: "2026-03-02T10:00:10Z" });
    assert.equal(t.pullStartedAt, undefined);
  });

  it("splits a task across an hour boundary", () => {
    // 69.8 s rounds up to 70 s, billed from 10:59:30.2: 29.8 s in hour 10, 40.2 s in hour 11.
    const t = task({ pull: "2026-03-02T10:59:30.200Z", stop: "2026-03-02T11:00:40.000Z" });
    const { lines } = rate([t], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]);
    // 0.04937 × 29.8 / 3600 = 0.000408673888…
    assert.equal(
      formatAmount(total(within(lines, "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"))),
      "0.0004086739",
    );
    // 0.04937 × 40.2 / 3600 = 0.000551298333…
    assert.equal(
      formatAmount(total(within(lines, "2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"))),
      "0.0005512983",
    );
    // 0.04937 × 70 / 3600 = 0.000959972222…, and the two hours add up to it exactly.
    assert.equal(total(lines) * 3600n, parseAmount("0.04937") * 70n);
  });

  it("splits an ARM task with extra storage across a month boundary", () => {
    // 2 vCPU, 4 GB, 50 GB storage on ARM from Jan 31 23:30 to Feb 1 00:45 (1.25 h):
    // 2 × 0.03238 + 4 × 0.00356 + 30 × 0.000111 = 0.06476 + 0.01424 + 0.00333 = 0.08233 $/h.
    const t = task({
      cpu: 2048,
      memoryMiB: 4096,
      ephemeralStorageGiB: 50,
      cpuArchitecture: "ARM64",
      pull: "2026-01-31T23:30:00Z",
      stop: "2026-02-01T00:45:00Z",
    });
    const { lines } = rate([t], ["2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"]);
    const january = within(lines, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
    const february = within(lines, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");
    assert.equal(formatAmount(total(january)), "0.041165"); // 0.08233 × 0.5
    assert.equal(formatAmount(total(february)), "0.0617475"); // 0.08233 × 0.75
    const storage = lines.filter((l) => l.usageType === "USE1-Fargate-EphemeralStorage-GB-Hours");
    assert.equal(formatQuantity(total(storage, (l) => l.quantity)), "37.5"); // 30 GB × 1.25 h
    assert.equal(storage[0]?.unit, "GB-Hours");
    const types = new Set(lines.map((l) => l.usageType));
    assert.deepEqual([...types].sort(), [
      "USE1-Fargate-ARM-GB-Hours",
      "USE1-Fargate-ARM-vCPU-Hours:perCPU",
      "USE1-Fargate-EphemeralStorage-GB-Hours",
    ]);
  });

  it("charges only storage above 20 GB", () => {
    const at20 = task({
      ephemeralStorageGiB: 20,
      pull: "2026-03-02T10:00:00Z",
      stop: "2026-03-02T11:00:00Z",
    });
    const at21 = task({
      ephemeralStorageGiB: 21,
      pull: "2026-03-02T10:00:00Z",
      stop: "2026-03-02T11:00:00Z",
    });
    const storageOf = (t: TaskUsage) =>
      rate([t], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]).lines.filter(
        (l) => l.kind === "storage",
      );
    assert.equal(storageOf(at20).length, 0);
    assert.equal(formatAmount(total(storageOf(at21))), "0.000111"); // 1 GB × 1 h
  });
});

describe("Spot at changing prices", () => {
  const book = PriceBook.defaults().withChange({
    effectiveAt: new Date("2026-03-02T11:45:00Z"),
    prices: { "spot.x86.vcpu": parseRate("0.02"), "spot.x86.gb": parseRate("0.002") },
  });
  const spanning = task({
    capacityProviderName: "FARGATE_SPOT",
    pull: "2026-03-02T11:30:00Z",
    stop: "2026-03-02T12:30:00Z",
  });
  const before = task({
    capacityProviderName: "FARGATE_SPOT",
    pull: "2026-03-02T10:00:00Z",
    stop: "2026-03-02T10:30:00Z",
  });

  it("prices a task that spans a change piecewise", () => {
    const { lines } = rate([spanning], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"], { book });
    // 11:30-11:45 at 0.012144 + 2 × 0.0013335 = 0.014811 $/h: 0.00370275;
    // 11:45-12:30 at 0.02 + 2 × 0.002 = 0.024 $/h: 0.018. Together 0.02170275.
    assert.equal(formatAmount(total(lines)), "0.02170275");
    assert.equal(
      formatAmount(total(within(lines, "2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"))),
      "0.00970275",
    );
  });

  it("never rewrites the past: a change leaves earlier usage at its old price", () => {
    const window: [string, string] = ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"];
    const old = rate([before], window).lines;
    const now = rate([before], window, { book }).lines;
    assert.equal(total(now), total(old));
    assert.equal(formatAmount(total(now)), "0.0074055"); // 0.014811 × 0.5
  });

  it("keeps each Spot line's on-demand rate of its time, for what Spot saved", () => {
    const { lines } = rate([spanning], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"], { book });
    const onDemand = lines.reduce((sum, l) => sum + (l.onDemandRate ?? 0n) * l.quantity, 0n);
    // The hour at on-demand prices (0.04048 + 2 × 0.004445 = 0.04937 $/h), whatever Spot cost.
    assert.equal(formatAmount(onDemand), "0.04937");
    assert.ok(lines.length > 0);
    assert.ok(lines.filter((l) => l.kind !== "storage").every((l) => l.onDemandRate !== undefined));
    const od = task({ pull: "2026-03-02T11:30:00Z", stop: "2026-03-02T12:30:00Z" });
    const own = rate([od], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]).lines;
    assert.ok(own.length > 0);
    assert.equal(own.filter((l) => l.onDemandRate !== undefined).length, 0, "on demand: none");
  });

  it("leaves on-demand tasks alone when only Spot prices change", () => {
    const od = task({ pull: "2026-03-02T11:30:00Z", stop: "2026-03-02T12:30:00Z" });
    const { lines } = rate([od], ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"], { book });
    assert.equal(formatAmount(total(lines)), "0.04937");
  });
});

describe("Compute Savings Plans", () => {
  const make = (commitment: string) =>
    SavingsPlans.empty().create(
      {
        commitment,
        discountRate: "0.2",
        start: new Date("2026-03-02T00:00:00Z"),
        termSeconds: 365 * 86400,
      },
      ACCOUNT,
      new Date("2026-03-01T00:00:00Z"),
    ).plan;
  // One hour of 1 vCPU / 2 GB on demand: 0.04048 + 0.00889 = 0.04937; at the plan rate (20% off) 0.039496.
  const hourTask = () => task({ pull: "2026-03-02T10:00:00Z", stop: "2026-03-02T11:00:00Z" });
  const window: [string, string] = ["2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"];

  it("a plan partly used: all usage covered, the rest of the commitment is waste", () => {
    const plan = make("0.05");
    const { lines, planHours } = rate([hourTask()], window, { plans: [plan] });
    // Unblended: covered usage nets to 0; the fee is the whole commitment, 0.05.
    assert.equal(formatAmount(total(lines)), "0.05");
    // Amortized: usage at the plan rate 0.039496 + unused commitment 0.010504 = 0.05.
    const covered = lines.filter((l) => l.recordType === "SavingsPlanCoveredUsage");
    assert.equal(formatAmount(total(covered, (l) => l.amortized)), "0.039496");
    const fee = lines.filter((l) => l.recordType === "SavingsPlanRecurringFee");
    assert.equal(formatAmount(total(fee, (l) => l.amortized)), "0.010504");
    assert.equal(fee[0]?.usageType, "ComputeSP:1yrNoUpfront");
    assert.equal(planHours.length, 1);
    assert.equal(formatAmount(planHours[0]?.used ?? 0n), "0.039496");
    assert.equal(formatAmount(planHours[0]?.onDemandEquivalent ?? 0n), "0.04937");
    assert.ok(lines.every((l) => l.purchaseType === "Savings Plans"));
  });

  it("a plan exceeded: covered at the plan rate up to the commitment, the rest on demand", () => {
    const plan = make("0.02");
    const { lines, planHours } = rate([hourTask()], window, { plans: [plan] });
    // Memory first (usage types in order): 2 GB-h at 0.003556 = 0.007112, leaving 0.012888.
    // That covers 0.012888 / 0.032384 vCPU-h; the rest of the vCPU-hour stays on demand:
    // 0.04048 - 0.04048 × 0.012888 / 0.032384 = 0.04048 - 0.01611 = 0.02437.
    const onDemand = lines.filter((l) => l.purchaseType === "On Demand Instances");
    assert.equal(formatAmount(total(onDemand)), "0.02437");
    // Unblended total: fee 0.02 + on demand 0.02437 = 0.04437 (vs 0.04937 without the plan).
    assert.equal(formatAmount(total(lines)), "0.04437");
    assert.equal(formatAmount(total(lines, (l) => l.amortized)), "0.04437");
    // Covered usage would have cost 0.00889 + 0.01611 = 0.025 on demand: saving 0.005.
    assert.equal(formatAmount(planHours[0]?.onDemandEquivalent ?? 0n), "0.025");
    assert.equal(formatAmount(planHours[0]?.used ?? 0n), "0.02");
    // Usage is never changed by a plan: the vCPU-hour is still one vCPU-hour.
    const vcpu = lines.filter((l) => l.kind === "vcpu");
    assert.equal(formatQuantity(total(vcpu, (l) => l.quantity)), "1");
  });

  it("does not cover Spot usage; an idle hour is all waste", () => {
    const plan = make("0.01");
    const spot = task({
      capacityProviderName: "FARGATE_SPOT",
      pull: "2026-03-02T10:00:00Z",
      stop: "2026-03-02T11:00:00Z",
    });
    const { lines, planHours } = rate([spot], window, { plans: [plan] });
    assert.equal(lines.filter((l) => l.recordType === "SavingsPlanCoveredUsage").length, 0);
    assert.equal(planHours[0]?.used, 0n);
    // Spot 0.014811 + the fee 0.01.
    assert.equal(formatAmount(total(lines)), "0.024811");
  });

  it("charges the commitment for every hour of the window the plan is active, used or not", () => {
    const plan = make("0.01");
    const { lines } = rate([], ["2026-03-01T22:00:00Z", "2026-03-02T03:00:00Z"], { plans: [plan] });
    // The plan starts at 00:00: hours 00, 01, 02 are charged; 22 and 23 are before it.
    assert.equal(formatAmount(total(lines)), "0.03");
  });

  it("accrues commitment only for hours that have begun (issue 13: two plans, read at 06:40)", () => {
    const plan = (start: string) =>
      SavingsPlans.empty().create(
        {
          commitment: "0.05",
          discountRate: "0.2",
          start: new Date(start),
          termSeconds: 365 * 86400,
        },
        ACCOUNT,
        new Date("2026-03-01T00:00:00Z"),
      ).plan;
    const started = plan("2026-03-02T06:00:00Z");
    const queued = plan("2026-03-02T07:00:00Z");
    const day: [string, string] = ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"];
    const { lines, planHours } = rate([], day, {
      plans: [started, queued],
      now: "2026-03-02T06:40:00Z",
    });
    // Only the 06:00 hour of the started plan, under way: 0.05 (not 35 hours' 1.75).
    assert.equal(formatAmount(total(lines)), "0.05");
    assert.deepEqual(
      planHours.map((h) => [h.plan.savingsPlanArn, new Date(h.hour).toISOString()]),
      [[started.savingsPlanArn, "2026-03-02T06:00:00.000Z"]],
    );
    // Once the day is over, every hour of both plans accrues: 18 + 17 hours.
    const later = rate([], day, { plans: [started, queued], now: "2026-03-04T00:00:00Z" });
    assert.equal(formatAmount(total(later.lines)), "1.75");
  });
});
