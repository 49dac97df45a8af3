/**
 * Usage samples across servers. An agent sends its tasks' samples to the one server it is
 * connected to, while auto scaling (and every server's `/metrics` and console) wants all of
 * them: with several servers on one store, each server writes the samples it receives to
 * `usage_samples` and reads, every interval, the recent ones the others wrote into its own
 * series. A sample read twice changes nothing (a series keeps only samples newer than its last),
 * so each read looks back a little further than the last one rather than keeping a cursor that
 * an identity value committed out of order could skip. Rows older than the series' window go.
 */
import type { Logger } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import type { UsageSample, UsageSeries } from "./usage-series.js";

export interface UsageShareOptions {
  store: Store;
  series: UsageSeries;
  /** This server (server-id): its own rows are already in its series. */
  serverId: string;
  /** How often the others' samples are read; the agents' sampling interval. */
  intervalMs: number;
  /** How long samples are kept (the series' window). */
  windowMs: number;
  now: () => number;
  log: Logger;
}

export class UsageShare {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #lastPrune = 0;

  constructor(private readonly options: UsageShareOptions) {}

  /** Samples this server received (already in its own series), for the other servers. */
  async publish(samples: ReadonlyArray<{ key: string; sample: UsageSample }>): Promise<void> {
    if (samples.length === 0) return;
    const { store, serverId } = this.options;
    await store
      .insertInto("usage_samples")
      .values(
        samples.map(({ key, sample }) => ({
          server_id: serverId,
          series_key: key,
          at: sample.at,
          cpu_nanos: Math.round(sample.cpuNanos),
          memory_bytes: Math.round(sample.memoryBytes),
        })),
      )
      .execute();
  }

  /** Reads the others' recent samples into this server's series once. */
  async pull(): Promise<number> {
    const { store, series, serverId, intervalMs, windowMs, now } = this.options;
    const at = now();
    // Three intervals back: a row committed late (a slow transaction) is still seen.
    const rows = await store
      .selectFrom("usage_samples")
      .select(["series_key", "at", "cpu_nanos", "memory_bytes"])
      .where("at", ">", at - 3 * intervalMs)
      .where("server_id", "!=", serverId)
      .orderBy("at")
      .execute();
    for (const row of rows)
      series.record(row.series_key, {
        at: Number(row.at),
        cpuNanos: Number(row.cpu_nanos),
        memoryBytes: Number(row.memory_bytes),
      });
    if (at - this.#lastPrune >= windowMs / 4) {
      this.#lastPrune = at;
      await store
        .deleteFrom("usage_samples")
        .where("at", "<", at - windowMs)
        .execute();
    }
    return rows.length;
  }

  start(): void {
    const tick = (): void => {
      this.#timer = setTimeout(() => {
        this.#running = this.pull()
          .then(() => undefined)
          .catch((error: unknown) =>
            this.options.log.warn("reading other servers' usage samples failed", {
              error: String(error),
            }),
          )
          .finally(() => {
            this.#running = undefined;
            if (this.#timer !== undefined) tick();
          });
      }, this.options.intervalMs);
      this.#timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
