/**
 * One-time console sign-in links (src/console/sessions.ts): only each token's SHA-256 is kept,
 * like sessions; redeeming a link deletes its row, so a link works once, on any server.
 */
import type { Kysely, Migration } from "kysely";

export const consoleLinksMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("console_links")
      .addColumn("token_hash", "text", (c) => c.primaryKey())
      .addColumn("access_key_id", "text", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
