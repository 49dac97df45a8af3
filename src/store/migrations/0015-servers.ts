/**
 * The servers sharing one store (server/peers): each records the registry host its clients push
 * to, so that a task placed by any server gets credentials for whichever server's registry its
 * images name.
 */
import type { Kysely, Migration } from "kysely";

export const serversMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("servers")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("endpoint", "text", (c) => c.notNull())
      .addColumn("registry_host", "text", (c) => c.notNull())
      .addColumn("seen_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
