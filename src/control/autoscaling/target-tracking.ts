/**
 * Target tracking as Application Auto Scaling runs it, without CloudWatch: each policy has the
 * two alarms AWS creates for it — AlarmHigh (metric above the target for 3 consecutive
 * datapoints) and AlarmLow (below 90% of the target for 15) — and a breach proposes a capacity
 * proportional to how far the metric is from the target. Alarm states live in memory; a
 * restarted server counts datapoints afresh, as a re-created CloudWatch alarm would.
 */

/** AWS's target tracking alarms: 3 of 3 one-minute datapoints to scale out, 15 of 15 to scale in. */
export const HIGH_DATAPOINTS = 3;
export const LOW_DATAPOINTS = 15;
/** AlarmLow's threshold is 90% of the target value. */
export const LOW_THRESHOLD_RATIO = 0.9;

/** Consecutive datapoints above the target (high) and under its low threshold (low). */
export interface AlarmCounts {
  high: number;
  low: number;
}

export interface Proposal {
  direction: "out" | "in";
  capacity: number;
  /** Which of the policy's alarms fired. */
  alarm: "AlarmHigh" | "AlarmLow";
}

/** Counts one datapoint; a missing one (no data) changes nothing. */
export function observe(counts: AlarmCounts, value: number | undefined, target: number): void {
  if (value === undefined) return;
  counts.high = value > target ? counts.high + 1 : 0;
  counts.low = value < target * LOW_THRESHOLD_RATIO ? counts.low + 1 : 0;
}

/**
 * What the policy asks for now: out when AlarmHigh is in ALARM, in when AlarmLow is (unless
 * scale-in is disabled), at capacity x metric / target rounded up, moving at least one.
 */
export function targetTrackingProposal(
  counts: AlarmCounts,
  value: number | undefined,
  target: number,
  current: number,
  disableScaleIn: boolean,
): Proposal | undefined {
  if (value === undefined || current === 0) return undefined;
  const proportional = Math.ceil((current * value) / target);
  if (counts.high >= HIGH_DATAPOINTS)
    return { direction: "out", capacity: Math.max(current + 1, proportional), alarm: "AlarmHigh" };
  if (counts.low >= LOW_DATAPOINTS && !disableScaleIn)
    return { direction: "in", capacity: Math.min(current - 1, proportional), alarm: "AlarmLow" };
  return undefined;
}
