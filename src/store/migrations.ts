/**
 * Versioned schema migrations. Append only: a migration that has shipped is never edited.
 * Written in Kysely's schema builder so that a PostgreSQL dialect runs the same ones.
 */
import type { Kysely, Migration, MigrationProvider } from "kysely";

const migrations: Record<string, Migration> = {
  "0001-ecs-foundation": {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("clusters")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("arn", "text", (c) => c.notNull().unique())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("task_definitions")
        .addColumn("family", "text", (c) => c.notNull())
        .addColumn("revision", "integer", (c) => c.notNull())
        .addColumn("arn", "text", (c) => c.notNull().unique())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("registered_at", "bigint", (c) => c.notNull())
        .addColumn("deregistered_at", "bigint")
        .addPrimaryKeyConstraint("task_definitions_pk", ["family", "revision"])
        .execute();
      await db.schema
        .createIndex("task_definitions_status")
        .on("task_definitions")
        .columns(["status", "family"])
        .execute();
      await db.schema
        .createTable("tags")
        .addColumn("resource_arn", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("tags_pk", ["resource_arn", "key"])
        .execute();
      await db.schema
        .createTable("idempotency")
        .addColumn("scope", "text", (c) => c.notNull())
        .addColumn("token", "text", (c) => c.notNull())
        .addColumn("request_hash", "text", (c) => c.notNull())
        .addColumn("response", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("idempotency_pk", ["scope", "token"])
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
