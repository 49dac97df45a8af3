/**
 * How the proposals of a scalable target's policies become one new capacity, as Application
 * Auto Scaling combines them: scale out to the largest proposal; scale in only when every
 * policy proposes to (policies with scale-in disabled abstain), to the largest of those; honour
 * each direction's cooldown; clamp to the target's min and max. AWS lets a larger scale-out
 * through during the scale-out cooldown (counting what the last one added); Berth waits the
 * cooldown out, and the alarms count afresh after every change anyway.
 */
import type { Proposal } from "./target-tracking.js";

export interface PolicyProposal {
  policyName: string;
  proposal: Proposal | undefined;
  /** Whether this policy takes part in scale-in at all (not DisableScaleIn). */
  scalesIn: boolean;
  scaleOutCooldownMs: number;
  scaleInCooldownMs: number;
}

export interface Decision {
  capacity: number;
  direction: "out" | "in";
  /** The policy and alarm whose proposal won. */
  policyName: string;
  alarm: Proposal["alarm"];
  /**
   * Set when the winning proposal is blocked by the target's max or min: nothing changes, and
   * Application Auto Scaling records a "not scaled" activity with this reason code.
   */
  notScaled?: "AlreadyAtMaxCapacity" | "AlreadyAtMinCapacity";
}

export function clamp(capacity: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, capacity));
}

export function decideScaling(
  current: number,
  min: number,
  max: number,
  proposals: PolicyProposal[],
  lastScaleOutAt: number | undefined,
  lastScaleInAt: number | undefined,
  now: number,
  suspended: { out: boolean; in: boolean },
): Decision | undefined {
  const outs = proposals.filter((p) => p.proposal?.direction === "out");
  if (outs.length > 0 && !suspended.out) {
    const best = outs.reduce((a, b) =>
      (b.proposal?.capacity ?? 0) > (a.proposal?.capacity ?? 0) ? b : a,
    );
    const capacity = clamp(best.proposal?.capacity ?? current, min, max);
    const cooling = lastScaleOutAt !== undefined && now < lastScaleOutAt + best.scaleOutCooldownMs;
    if (cooling) return undefined;
    const decision = { direction: "out", policyName: best.policyName, alarm: "AlarmHigh" } as const;
    return capacity > current
      ? { ...decision, capacity }
      : { ...decision, capacity: current, notScaled: "AlreadyAtMaxCapacity" };
  }
  const voters = proposals.filter((p) => p.scalesIn);
  const ins = voters.filter((p) => p.proposal?.direction === "in");
  if (suspended.in || ins.length === 0 || ins.length < voters.length) return undefined;
  const best = ins.reduce((a, b) =>
    (b.proposal?.capacity ?? 0) > (a.proposal?.capacity ?? 0) ? b : a,
  );
  const capacity = clamp(best.proposal?.capacity ?? current, min, max);
  const cooling = lastScaleInAt !== undefined && now < lastScaleInAt + best.scaleInCooldownMs;
  if (cooling) return undefined;
  const decision = { direction: "in", policyName: best.policyName, alarm: "AlarmLow" } as const;
  return capacity < current
    ? { ...decision, capacity }
    : { ...decision, capacity: current, notScaled: "AlreadyAtMinCapacity" };
}
