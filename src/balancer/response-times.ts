/**
 * TargetResponseTime as the load balancer measures it: per target group, how long each target
 * took from the request being sent until its response headers began, kept as a cumulative
 * histogram (constant memory however many requests) that the metrics read by difference.
 */
import type { ResponseTimeTotals } from "../core/index.js";

/** 100 µs to about 2 minutes, each bound 2^(1/4) (19%) above the last. */
export const RESPONSE_TIME_BOUNDS: readonly number[] = Array.from(
  { length: 81 },
  (_, i) => 0.0001 * 2 ** (i / 4),
);

export class ResponseTimeHistogram {
  #count = 0;
  #sum = 0;
  readonly #buckets = new Array<number>(RESPONSE_TIME_BOUNDS.length).fill(0);

  record(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    // The first bound at or above the value; 4·log2(value / 100 µs) finds it without a search.
    const guess = Math.ceil(4 * Math.log2(Math.max(seconds, 0.0001) / 0.0001) - 1e-9);
    let i = Math.min(Math.max(guess, 0), RESPONSE_TIME_BOUNDS.length - 1);
    while (i > 0 && (RESPONSE_TIME_BOUNDS[i - 1] ?? 0) >= seconds) i--;
    while (i < RESPONSE_TIME_BOUNDS.length - 1 && (RESPONSE_TIME_BOUNDS[i] ?? 0) < seconds) i++;
    this.#buckets[i] = (this.#buckets[i] ?? 0) + 1;
    this.#count++;
    this.#sum += seconds;
  }

  reading(): ResponseTimeTotals {
    return {
      count: this.#count,
      sumSeconds: this.#sum,
      bounds: RESPONSE_TIME_BOUNDS,
      buckets: [...this.#buckets],
    };
  }
}
