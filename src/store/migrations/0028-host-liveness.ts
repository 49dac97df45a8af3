/**
 * A host's channel state off its `hosts` row: when its agent was last heard from and the last
 * report applied. Heartbeats (every host every 2 s) and reports wrote the row that placement
 * claims room on, so every heartbeat waited behind (and held up) the placements booking that
 * host, and on PostgreSQL SERIALIZABLE reports lost to placements' commits. `hosts` is now
 * written only by joining, placement and status changes.
 */
import { sql, type Kysely, type Migration } from "kysely";

export const hostLivenessMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("host_liveness")
      .addColumn("host_id", "text", (c) => c.primaryKey())
      .addColumn("last_seen_at", "bigint", (c) => c.notNull())
      .addColumn("last_seq", "bigint", (c) => c.notNull())
      .execute();
    await sql`insert into host_liveness (host_id, last_seen_at, last_seq) select id, last_seen_at, last_seq from hosts`.execute(
      db,
    );
    await db.schema.alterTable("hosts").dropColumn("last_seen_at").execute();
    await db.schema.alterTable("hosts").dropColumn("last_seq").execute();
  },
};
