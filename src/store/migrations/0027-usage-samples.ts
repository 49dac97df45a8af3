/**
 * Usage samples shared between servers (control/metrics/usage-share): an agent sends its
 * tasks' samples to the one server it is connected to, and auto scaling runs on the leader,
 * so with several servers each writes what it receives here and reads what the others wrote.
 * Rows live a few metric periods.
 */
import type { Kysely, Migration } from "kysely";
import { autoIncrementId } from "../dialect.js";

export const usageSamplesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const counter = autoIncrementId(db);
    await db.schema
      .createTable("usage_samples")
      .addColumn("id", counter.type, counter.build)
      .addColumn("server_id", "text", (c) => c.notNull())
      .addColumn("series_key", "text", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("cpu_nanos", "bigint", (c) => c.notNull())
      .addColumn("memory_bytes", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("usage_samples_at").on("usage_samples").column("at").execute();
  },
};
