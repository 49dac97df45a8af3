/**
 * A cumulative reading of response times, as the load balancer keeps it per target group and
 * the metrics read it by difference (both import it from here: neither imports the other).
 */
export interface ResponseTimeTotals {
  count: number;
  sumSeconds: number;
  /** Upper bounds in seconds, ascending; the last bucket also takes anything slower. */
  bounds: readonly number[];
  /** `buckets[i]` counts responses of at most `bounds[i]` seconds. */
  buckets: readonly number[];
}
