/**
 * What changed, as the console's live stream tells it (src/console/change-relay.ts), for the
 * other servers on the same store: each server appends its own coalesced changes and reads the
 * others'. Rows live a minute; only PostgreSQL stores have several servers to tell.
 */
import type { Kysely, Migration } from "kysely";
import { autoIncrementId } from "../dialect.js";

export const consoleChangesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const counter = autoIncrementId(db);
    await db.schema
      .createTable("console_changes")
      .addColumn("id", counter.type, counter.build)
      .addColumn("server_id", "text", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      /** JSON: { kinds, taskArns, manyTasks }, the stream's own message. */
      .addColumn("payload", "text", (c) => c.notNull())
      .execute();
  },
};
