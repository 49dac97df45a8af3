/**
 * Step scaling's arithmetic (StepScalingPolicyConfiguration): which step adjustment a breach
 * falls in, and the capacity its AdjustmentType makes of the current one.
 */
import type { StepScalingPolicyConfiguration } from "@aws-sdk/client-application-auto-scaling";

/**
 * The capacity a step policy asks for when its alarm's metric is `value` against `threshold`,
 * or undefined when no step covers the breach. Bounds are relative to the threshold: a step
 * covers `lower <= value - threshold < upper` (a missing bound is infinite).
 */
export function stepScalingCapacity(
  config: StepScalingPolicyConfiguration,
  value: number,
  threshold: number,
  current: number,
): number | undefined {
  const breach = value - threshold;
  const step = (config.StepAdjustments ?? []).find(
    (s) =>
      (s.MetricIntervalLowerBound ?? -Infinity) <= breach &&
      breach < (s.MetricIntervalUpperBound ?? Infinity),
  );
  if (step === undefined) return undefined;
  const adjustment = step.ScalingAdjustment ?? 0;
  switch (config.AdjustmentType) {
    case "ExactCapacity":
      return adjustment;
    case "PercentChangeInCapacity": {
      // AWS: a change between -1 and 1 becomes -1 or 1; others round toward zero; then
      // MinAdjustmentMagnitude is the least change.
      const raw = (current * adjustment) / 100;
      let change = Math.abs(raw) < 1 ? Math.sign(raw) : Math.trunc(raw);
      const least = config.MinAdjustmentMagnitude ?? 0;
      if (Math.abs(change) < least) change = Math.sign(change) * least;
      return current + change;
    }
    default:
      return current + adjustment;
  }
}
