/**
 * Leader leases (control/leases): one row per singleton role, held by one server until
 * `expires_at` on the database's clock; `epoch` counts the holders, and fences their writes.
 */
import type { Kysely, Migration } from "kysely";

export const leasesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("leases")
      .addColumn("role", "text", (c) => c.primaryKey())
      .addColumn("holder", "text", (c) => c.notNull())
      .addColumn("epoch", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
