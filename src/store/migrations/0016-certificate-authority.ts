/**
 * Berth's CA, kept in the store (server/shared-ca): the servers of one store must serve
 * certificates from one CA, since an agent pins the CA of the join line and moves between them.
 */
import type { Kysely, Migration } from "kysely";

export const certificateAuthorityMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("certificate_authority")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("certificate", "text", (c) => c.notNull())
      .addColumn("private_key", "text", (c) => c.notNull())
      .execute();
  },
};
