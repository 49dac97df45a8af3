/**
 * Properties over random task sets (seeded, so a failure replays): the total is the sum of the
 * per-task amounts however usage is cut into hours; Savings Plans never change usage and, with
 * no upfront payment, amortized equals unblended; and grouping or granularity never changes a
 * total — exactly, not within a tolerance.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  PRICE_NAMES,
  PriceBook,
  SavingsPlans,
  billedUntil,
  rateUsage,
  type BilledTask,
  type CostLine,
  type PriceName,
  type SavingsPlan,
} from "../../../src/billing/index.js";
import type { GroupDefinition } from "@aws-sdk/client-cost-explorer";
import { periods, summarize } from "../../../src/services/costexplorer/index.js";
import { billed, task } from "./fixtures.js";

/** mulberry32: a small seeded generator. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SIZES: Array<[number, number]> = [
  [256, 512],
  [256, 2048],
  [512, 1024],
  [1024, 3072],
  [2048, 4096],
  [4096, 30720],
  [16384, 122880],
];
const BASE = Date.UTC(2026, 0, 30, 0, 0, 0); // spans a month boundary
const DAY = 86_400_000;

interface World {
  tasks: BilledTask[];
  book: PriceBook;
  plans: SavingsPlan[];
}

function world(seed: number): World {
  const r = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  const tasks: BilledTask[] = [];
  const count = 1 + Math.floor(r() * 25);
  for (let i = 0; i < count; i++) {
    const [cpu, memoryMiB] = pick(SIZES);
    const pull = BASE + Math.floor(r() * 3 * DAY);
    const duration = r() < 0.3 ? Math.floor(r() * 60_000) : Math.floor(r() * 8 * 3_600_000);
    tasks.push(
      billed(
        task({
          cpu,
          memoryMiB,
          ephemeralStorageGiB: r() < 0.5 ? 20 : 20 + Math.floor(r() * 180),
          cpuArchitecture: r() < 0.3 ? "ARM64" : "X86_64",
          capacityProviderName: r() < 0.3 ? "FARGATE_SPOT" : "FARGATE",
          tags: r() < 0.7 ? { team: pick(["alpha", "beta", "gamma"]) } : {},
          group: pick(["service:web", "service:api", "family:batch"]),
          pullStartedAt: new Date(pull),
          stoppedAt: new Date(pull + duration),
        }),
      ),
    );
  }
  let book = PriceBook.defaults();
  const changes = Math.floor(r() * 4);
  for (let i = 0; i < changes; i++) {
    const prices: Partial<Record<PriceName, bigint>> = {};
    for (const name of PRICE_NAMES) if (r() < 0.4) prices[name] = BigInt(1 + Math.floor(r() * 1e9));
    book = book.withChange({ effectiveAt: new Date(BASE + Math.floor(r() * 3 * DAY)), prices });
  }
  let plans = SavingsPlans.empty();
  const planCount = Math.floor(r() * 3);
  for (let i = 0; i < planCount; i++) {
    plans = plans.create(
      {
        commitment: (r() * 0.5).toFixed(6),
        discountRate: (r() * 0.6).toFixed(2),
        start: new Date(BASE + Math.floor(r() * 48) * 3_600_000),
        termSeconds: 3600 * (1 + Math.floor(r() * 72)),
      },
      "000000000000",
      new Date(BASE),
    ).plans;
  }
  return { tasks, book, plans: [...plans.plans] };
}

/** A task's amount computed independently: cut only at price changes, never at hours. */
function reference(t: BilledTask, book: PriceBook): bigint {
  const from = t.billedFrom;
  const to = billedUntil(t);
  const points = [from, ...book.changeTimesWithin(from, to).sort((a, b) => a - b), to];
  const u = t.usage;
  const arch = u.cpuArchitecture === "ARM64" ? "arm" : "x86";
  const spot = u.capacityProviderName === "FARGATE_SPOT" ? "spot." : "";
  let sum = 0n;
  for (let i = 0; i + 1 < points.length; i++) {
    const p = book.at(points[i] as number);
    const ms = BigInt((points[i + 1] as number) - (points[i] as number));
    sum += p[`${spot}${arch}.vcpu` as PriceName] * BigInt(u.cpu) * ms;
    sum += p[`${spot}${arch}.gb` as PriceName] * BigInt(u.memoryMiB) * ms;
    sum += p["storage.gb"] * BigInt(Math.max(0, u.ephemeralStorageGiB - 20)) * 1024n * ms;
  }
  return sum;
}

const FROM = BASE - DAY;
const TO = BASE + 5 * DAY;
const sum = (lines: readonly CostLine[], pick: (l: CostLine) => bigint) =>
  lines.reduce((s, l) => s + pick(l), 0n);

const TRIALS = 150;

describe("billing properties (seeded random task sets)", () => {
  it("the total equals the sum of per-task amounts, computed without hour cuts", () => {
    for (let seed = 1; seed <= TRIALS; seed++) {
      const w = world(seed);
      const { lines } = rateUsage({
        tasks: w.tasks,
        priceBook: w.book,
        plans: [],
        region: "us-east-1",
        from: FROM,
        to: TO,
        now: TO,
      });
      const perTask = w.tasks.map((t) => reference(t, w.book));
      assert.equal(
        sum(lines, (l) => l.unblended),
        perTask.reduce((a, b) => a + b, 0n),
        `seed ${seed}`,
      );
      w.tasks.forEach((t, i) =>
        assert.equal(
          sum(
            lines.filter((l) => l.task?.taskArn === t.usage.taskArn),
            (l) => l.unblended,
          ),
          perTask[i],
          `seed ${seed} task ${i}`,
        ),
      );
    }
  });

  it("Savings Plans never change usage, and amortized equals unblended (no upfront)", () => {
    for (let seed = 1; seed <= TRIALS; seed++) {
      const w = world(seed);
      const base = rateUsage({
        tasks: w.tasks,
        priceBook: w.book,
        plans: [],
        region: "us-east-1",
        from: FROM,
        to: TO,
        now: TO,
      });
      const planned = rateUsage({
        tasks: w.tasks,
        priceBook: w.book,
        plans: w.plans,
        region: "us-east-1",
        from: FROM,
        to: TO,
        now: TO,
      });
      assert.equal(
        sum(planned.lines, (l) => l.quantity),
        sum(base.lines, (l) => l.quantity),
        `seed ${seed}`,
      );
      assert.equal(
        sum(planned.lines, (l) => l.amortized),
        sum(planned.lines, (l) => l.unblended),
        `seed ${seed}`,
      );
      // What plans save is what covered usage would have cost, less the plans' fees.
      const saved = sum(base.lines, (l) => l.unblended) - sum(planned.lines, (l) => l.unblended);
      const covered = planned.planHours.reduce(
        (s, h) => s + h.onDemandEquivalent - h.commitment,
        0n,
      );
      assert.equal(saved, covered, `seed ${seed}`);
      for (const h of planned.planHours)
        assert.ok(h.used <= h.commitment, `seed ${seed}: used beyond commitment`);
    }
  });

  it("grouping and granularity never change a total", () => {
    const identity = { accountId: "000000000000", region: "us-east-1" };
    const groupings: GroupDefinition[][] = [
      [{ Type: "DIMENSION", Key: "USAGE_TYPE" }],
      [{ Type: "DIMENSION", Key: "PURCHASE_TYPE" }],
      [{ Type: "TAG", Key: "team" }],
      [
        { Type: "TAG", Key: "aws:ecs:serviceName" },
        { Type: "DIMENSION", Key: "RECORD_TYPE" },
      ],
    ];
    for (let seed = 1; seed <= TRIALS / 3; seed++) {
      const w = world(seed);
      const { lines } = rateUsage({
        tasks: w.tasks,
        priceBook: w.book,
        plans: w.plans,
        region: "us-east-1",
        from: FROM,
        to: TO,
        now: TO,
      });
      const all = (g: "HOURLY" | "DAILY" | "MONTHLY") =>
        summarize(lines, periods(FROM, TO, g), [], undefined, identity).totals.reduce(
          (s, t) => s + t.unblended,
          0n,
        );
      const daily = all("DAILY");
      assert.equal(
        daily,
        sum(lines, (l) => l.unblended),
        `seed ${seed}`,
      );
      assert.equal(all("HOURLY"), daily, `seed ${seed}`);
      assert.equal(all("MONTHLY"), daily, `seed ${seed}`);
      for (const groupBy of groupings) {
        const { totals, groups } = summarize(
          lines,
          periods(FROM, TO, "DAILY"),
          groupBy,
          undefined,
          identity,
        );
        totals.forEach((total, i) => {
          const parts = [...(groups[i]?.values() ?? [])];
          for (const m of ["unblended", "amortized", "quantity"] as const)
            assert.equal(
              parts.reduce((s, g) => s + g.sum[m], 0n),
              total[m],
              `seed ${seed} ${JSON.stringify(groupBy)} ${m}`,
            );
        });
      }
    }
  });
});
