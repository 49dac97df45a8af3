/**
 * The web console's sign-in sessions (src/console/sessions.ts): only the SHA-256 of each
 * session's cookie is kept, so the store never holds a usable session; signing out deletes the
 * row, so a copied cookie is dead from then on, on every server of the store.
 */
import type { Kysely, Migration } from "kysely";

export const consoleSessionsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("console_sessions")
      .addColumn("token_hash", "text", (c) => c.primaryKey())
      .addColumn("access_key_id", "text", (c) => c.notNull())
      .addColumn("csrf_token", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("console_sessions_expiry")
      .on("console_sessions")
      .column("expires_at")
      .execute();
  },
};
