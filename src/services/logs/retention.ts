/**
 * Retention enforced: a periodic sweep deletes events older than their group's retention, a
 * chunk at a time so writers are never held up long. Reads already hide such events, so the
 * sweep's timing changes how much disk is used, never what a caller sees.
 */
import { sql, type Transaction } from "kysely";
import type { Clock, Logger } from "../../core/index.js";
import { larger, type Database, type Store } from "../../store/index.js";
import { retentionCutoff } from "./resources.js";

const DELETE_CHUNK = 5000;

/**
 * Called first in each chunk's transaction: with several servers the sweep is the leader's,
 * and a deposed leader's chunk rolls back.
 */
type SweepFence = (trx: Transaction<Database>) => Promise<void>;

/** Deletes every event past its group's retention at `now`; returns how many went. */
export async function sweepExpiredLogEvents(
  store: Store,
  now: Date,
  fence?: SweepFence,
): Promise<number> {
  const groups = await store
    .selectFrom("log_groups")
    .select(["id", "retention_days"])
    .where("retention_days", "is not", null)
    .execute();
  let deleted = 0;
  for (const group of groups) {
    const cutoff = retentionCutoff(group, now);
    for (;;) {
      const removed = await store.transaction().execute(async (trx) => {
        await fence?.(trx);
        const chunk = trx
          .selectFrom("log_events")
          .select("seq")
          .where("group_id", "=", group.id)
          .where("timestamp", "<", cutoff)
          .orderBy("timestamp")
          .limit(DELETE_CHUNK);
        const { count, bytes } = await trx
          .selectFrom("log_events")
          .select([
            sql<number>`count(*)`.as("count"),
            sql<number>`coalesce(sum(octet_length(message)), 0)`.as("bytes"),
          ])
          .where("seq", "in", chunk)
          .executeTakeFirstOrThrow();
        if (count === 0) return 0;
        await trx.deleteFrom("log_events").where("seq", "in", chunk).execute();
        await trx
          .updateTable("log_groups")
          .set({ stored_bytes: larger(trx, sql<number>`stored_bytes - ${bytes}`, 0) })
          .where("id", "=", group.id)
          .execute();
        return count;
      });
      deleted += removed;
      if (removed < DELETE_CHUNK) break;
    }
  }
  return deleted;
}

export interface LogRetention {
  /** Runs a sweep now (and waits for one already running). */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

/** Sweeps at start and then every `intervalMs` (default a minute) until closed. */
export function startLogRetention(options: {
  store: Store;
  clock: Clock;
  log: Logger;
  intervalMs?: number;
  fence?: SweepFence;
}): LogRetention {
  let running: Promise<number> = Promise.resolve(0);
  let closed = false;
  const sweep = (): Promise<number> => {
    running = running
      .catch(() => 0)
      .then(() =>
        closed ? 0 : sweepExpiredLogEvents(options.store, options.clock.now(), options.fence),
      );
    return running;
  };
  const tick = (): void => {
    sweep().catch((error: unknown) =>
      options.log.error("log retention sweep failed", { error: String(error) }),
    );
  };
  const timer = setInterval(tick, options.intervalMs ?? 60_000);
  timer.unref();
  tick();
  return {
    sweep,
    async close() {
      closed = true;
      clearInterval(timer);
      await running.catch(() => 0);
    },
  };
}
