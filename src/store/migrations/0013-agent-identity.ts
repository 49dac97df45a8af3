/**
 * Who may speak for a host on the agent channel: join tokens with an expiry, a use limit and
 * revocation (listed by id; only the secret's SHA-256 is kept), and one credential per joined
 * host. The old `agent_tokens` never expired and were bound to no host: they are dropped, so
 * every token minted before this migration stops working.
 */
import type { Kysely, Migration } from "kysely";

export const agentIdentityMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("agent_tokens").execute();
    await db.schema
      .createTable("join_tokens")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("secret_hash", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint")
      .addColumn("usage_limit", "integer")
      .addColumn("uses", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("revoked_at", "bigint")
      .execute();
    await db.schema
      .createTable("host_credentials")
      .addColumn("host_id", "text", (c) => c.primaryKey())
      .addColumn("secret_hash", "text", (c) => c.notNull())
      .addColumn("joined_with", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
