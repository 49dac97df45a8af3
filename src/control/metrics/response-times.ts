/**
 * ELB's TargetResponseTime: the seconds from the load balancer sending a request to a target
 * until the target's response headers begin. The load balancer keeps, per target group, a
 * cumulative histogram (counts per bucket, the sum, the count); a period's Average and
 * percentiles come from the difference of two readings, so reading never resets anything and
 * two readers never steal each other's samples.
 */
import type { ResponseTimeTotals } from "../../core/index.js";

export type { ResponseTimeTotals };

/** One period's TargetResponseTime statistics, in seconds. */
export interface ResponseTimeStats {
  count: number;
  average: number;
  p50: number;
  p90: number;
  p99: number;
}

/**
 * The statistics of what several readings gained since their earlier ones (a target group each;
 * a reading below its earlier one means the counters restarted, and counts whole). Undefined
 * when nothing was answered in the period: CloudWatch has no datapoint then either.
 */
export function responseTimeStats(
  pairs: readonly { before?: ResponseTimeTotals; after: ResponseTimeTotals }[],
): ResponseTimeStats | undefined {
  let count = 0;
  let sum = 0;
  const merged = new Map<number, number>();
  for (const { before, after } of pairs) {
    const restarted =
      before === undefined || after.count < before.count || before.bounds !== after.bounds;
    const base = restarted ? undefined : before;
    const n = after.count - (base?.count ?? 0);
    if (n <= 0) continue;
    count += n;
    sum += after.sumSeconds - (base?.sumSeconds ?? 0);
    after.bounds.forEach((bound, i) =>
      merged.set(
        bound,
        (merged.get(bound) ?? 0) + (after.buckets[i] ?? 0) - (base?.buckets[i] ?? 0),
      ),
    );
  }
  if (count === 0) return undefined;
  const bounds = [...merged.keys()].sort((a, b) => a - b);
  // A percentile is the upper bound of the bucket it falls in (within one bucket's width,
  // 19% here; CloudWatch computes percentiles from the raw values).
  const percentile = (p: number): number => {
    const rank = Math.ceil((p / 100) * count);
    let seen = 0;
    for (const bound of bounds) {
      seen += merged.get(bound) ?? 0;
      if (seen >= rank) return bound;
    }
    return bounds.at(-1) ?? 0;
  };
  return {
    count,
    average: Math.max(0, sum) / count,
    p50: percentile(50),
    p90: percentile(90),
    p99: percentile(99),
  };
}
