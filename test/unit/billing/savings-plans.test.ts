/** Savings Plans: what a plan may be, and deleting one without rewriting billed hours. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SavingsPlans, planEnd, planState } from "../../../src/billing/index.js";

const now = new Date("2026-06-01T10:20:00Z");
const create = (
  over: Partial<{
    commitment: string;
    discountRate: string;
    start: Date;
    termSeconds: number;
  }> = {},
) =>
  SavingsPlans.empty().create(
    {
      commitment: "0.1",
      discountRate: "0.2",
      start: new Date("2026-06-01T12:00:00Z"),
      termSeconds: 86400,
      ...over,
    },
    "123456789012",
    now,
  );

describe("SavingsPlans", () => {
  it("creates a plan with an AWS-shaped ARN", () => {
    const { plan, plans } = create();
    assert.match(
      plan.savingsPlanArn,
      /^arn:aws:savingsplans::123456789012:savingsplan\/[0-9a-f-]{36}$/,
    );
    assert.equal(planState(plan, now.getTime()), "queued");
    assert.equal(plans.revision, 2);
    assert.deepEqual(
      SavingsPlans.parse(JSON.stringify(plans.toJSON()), "f").toJSON(),
      plans.toJSON(),
    );
  });

  it("refuses plans that cannot be", () => {
    assert.throws(() => create({ commitment: "0" }), /more than 0/);
    assert.throws(() => create({ discountRate: "1" }), /below 1/);
    assert.throws(() => create({ start: new Date("2026-06-01T12:30:00Z") }), /hour boundary/);
    assert.throws(() => create({ termSeconds: 60 }), /at least one hour/);
    // The hour under way (10:00) and earlier ones are billed already: the earliest start is 11:00.
    assert.throws(
      () => create({ start: new Date("2026-06-01T10:00:00Z") }),
      /cannot start in the past .* the next hour, 2026-06-01T11:00:00.000Z/,
    );
    assert.equal(
      planState(create({ start: new Date("2026-06-01T11:00:00Z") }).plan, now.getTime()),
      "queued",
    );
  });

  it("deletes a queued plan, retires a started one at the next hour", () => {
    const queued = create();
    assert.equal(queued.plans.delete(queued.plan.savingsPlanId, now).outcome, "deleted");
    assert.equal(queued.plans.delete(queued.plan.savingsPlanId, now).plans.plans.length, 0);
    const started = SavingsPlans.empty().create(
      {
        commitment: "0.1",
        discountRate: "0.2",
        start: new Date("2026-06-01T08:00:00Z"),
        termSeconds: 86400,
      },
      "123456789012",
      new Date("2026-06-01T07:00:00Z"),
    );
    const { plans, outcome } = started.plans.delete(started.plan.savingsPlanArn, now);
    assert.equal(outcome, "retired");
    const retired = plans.plans[0];
    assert.ok(retired !== undefined);
    // Hours 08, 09 and 10 (the one under way) keep the plan; from 11:00 it is gone.
    assert.equal(new Date(planEnd(retired)).toISOString(), "2026-06-01T11:00:00.000Z");
    assert.equal(planState(retired, Date.parse("2026-06-01T11:00:00Z")), "retired");
    assert.throws(
      () => plans.delete(retired.savingsPlanId, new Date("2026-06-02T00:00:00Z")),
      /already retired/,
    );
    assert.throws(() => plans.delete("nope", now), /no savings plan/);
  });
});
