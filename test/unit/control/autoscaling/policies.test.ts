// Target tracking's alarms and arithmetic, and how a target's policies combine
// under cooldowns and its min/max.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  HIGH_DATAPOINTS,
  LOW_DATAPOINTS,
  LOW_THRESHOLD_RATIO,
  decideScaling,
  observe,
  targetTrackingProposal,
  type AlarmCounts,
  type PolicyProposal,
} from "../../../../src/control/index.js";

/** Feeds datapoints to fresh alarms; the proposal after each. */
function feed(
  values: Array<number | undefined>,
  target: number,
  current: number,
  disableScaleIn = false,
) {
  const counts: AlarmCounts = { high: 0, low: 0 };
  return values.map((value) => {
    observe(counts, value, target);
    return targetTrackingProposal(counts, value, target, current, disableScaleIn);
  });
}

describe("target tracking alarms", () => {
  it("uses AWS's datapoint counts and low threshold", () => {
    assert.equal(HIGH_DATAPOINTS, 3);
    assert.equal(LOW_DATAPOINTS, 15);
    assert.equal(LOW_THRESHOLD_RATIO, 0.9);
  });

  it("scales out after 3 consecutive datapoints over the target, proportionally", () => {
    const proposals = feed([80, 90, 100], 50, 2);
    assert.equal(proposals[0], undefined);
    assert.equal(proposals[1], undefined);
    // 2 tasks x 100% / 50% = 4.
    assert.deepEqual(proposals[2], { direction: "out", capacity: 4, alarm: "AlarmHigh" });
  });

  it("starts counting again after a datapoint at or under the target", () => {
    const proposals = feed([80, 80, 50, 80, 80], 50, 1);
    assert.ok(proposals.every((p) => p === undefined));
  });

  it("adds at least one task", () => {
    const [, , p] = feed([51, 51, 51], 50, 1);
    assert.deepEqual(p, { direction: "out", capacity: 2, alarm: "AlarmHigh" });
  });

  it("ignores missing datapoints instead of breaking the run", () => {
    const proposals = feed([80, undefined, 80, 80], 50, 1);
    assert.equal(proposals[3]?.direction, "out");
  });

  it("scales in after 15 datapoints under 90% of the target, not 14", () => {
    const proposals = feed(Array(15).fill(10) as number[], 50, 4);
    assert.equal(proposals[13], undefined);
    // ceil(4 x 10 / 50) = 1.
    assert.deepEqual(proposals[14], { direction: "in", capacity: 1, alarm: "AlarmLow" });
  });

  it("does not scale in between 90% of the target and the target", () => {
    const proposals = feed(Array(20).fill(46) as number[], 50, 4);
    assert.ok(proposals.every((p) => p === undefined));
  });

  it("never scales in with DisableScaleIn", () => {
    const proposals = feed(Array(20).fill(0) as number[], 50, 4, true);
    assert.ok(proposals.every((p) => p === undefined));
  });
});

const policy = (
  policyName: string,
  proposal: PolicyProposal["proposal"],
  extra: Partial<PolicyProposal> = {},
): PolicyProposal => ({
  policyName,
  proposal,
  scalesIn: true,
  scaleOutCooldownMs: 60_000,
  scaleInCooldownMs: 60_000,
  ...extra,
});
const out = (capacity: number) => ({
  direction: "out" as const,
  capacity,
  alarm: "AlarmHigh" as const,
});
const inTo = (capacity: number) => ({
  direction: "in" as const,
  capacity,
  alarm: "AlarmLow" as const,
});
const none = { out: false, in: false };

describe("combining policies", () => {
  it("scales out to the largest proposal, clamped to max", () => {
    const d = decideScaling(
      2,
      1,
      5,
      [policy("cpu", out(4)), policy("mem", out(9))],
      undefined,
      undefined,
      0,
      none,
    );
    assert.deepEqual(d, { capacity: 5, direction: "out", policyName: "mem", alarm: "AlarmHigh" });
  });

  it("changes nothing at max or min, and says which bound blocked it", () => {
    assert.deepEqual(
      decideScaling(5, 1, 5, [policy("cpu", out(8))], undefined, undefined, 0, none),
      {
        direction: "out",
        policyName: "cpu",
        alarm: "AlarmHigh",
        capacity: 5,
        notScaled: "AlreadyAtMaxCapacity",
      },
    );
    assert.deepEqual(
      decideScaling(2, 2, 5, [policy("cpu", inTo(1))], undefined, undefined, 0, none),
      {
        direction: "in",
        policyName: "cpu",
        alarm: "AlarmLow",
        capacity: 2,
        notScaled: "AlreadyAtMinCapacity",
      },
    );
  });

  it("waits out the scale-out cooldown", () => {
    const p = [policy("cpu", out(4), { scaleOutCooldownMs: 10_000 })];
    assert.equal(decideScaling(2, 1, 5, p, 1_000, undefined, 10_999, none), undefined);
    assert.equal(decideScaling(2, 1, 5, p, 1_000, undefined, 11_000, none)?.capacity, 4);
  });

  it("scales in only when every policy that scales in agrees, to the largest of them, not under min", () => {
    assert.equal(
      decideScaling(
        4,
        2,
        5,
        [policy("cpu", inTo(1)), policy("mem", undefined)],
        undefined,
        undefined,
        0,
        none,
      ),
      undefined,
    );
    const d = decideScaling(
      4,
      2,
      5,
      [
        policy("cpu", inTo(1)),
        policy("mem", inTo(3)),
        policy("alb", undefined, { scalesIn: false }),
      ],
      undefined,
      undefined,
      0,
      none,
    );
    assert.deepEqual(d, { capacity: 3, direction: "in", policyName: "mem", alarm: "AlarmLow" });
    assert.equal(
      decideScaling(4, 2, 5, [policy("cpu", inTo(0))], undefined, undefined, 0, none)?.capacity,
      2,
    );
  });

  it("waits out the scale-in cooldown", () => {
    const p = [policy("cpu", inTo(1), { scaleInCooldownMs: 5_000 })];
    assert.equal(decideScaling(3, 1, 5, p, undefined, 10_000, 14_999, none), undefined);
    assert.equal(decideScaling(3, 1, 5, p, undefined, 10_000, 15_000, none)?.capacity, 1);
  });

  it("prefers scaling out when policies disagree", () => {
    const d = decideScaling(
      3,
      1,
      5,
      [policy("cpu", out(4)), policy("mem", inTo(1))],
      undefined,
      undefined,
      0,
      none,
    );
    assert.equal(d?.direction, "out");
  });

  it("honours suspended dynamic scaling", () => {
    assert.equal(
      decideScaling(2, 1, 5, [policy("cpu", out(4))], undefined, undefined, 0, {
        out: true,
        in: false,
      }),
      undefined,
    );
    assert.equal(
      decideScaling(3, 1, 5, [policy("cpu", inTo(1))], undefined, undefined, 0, {
        out: false,
        in: true,
      }),
      undefined,
    );
  });
});
