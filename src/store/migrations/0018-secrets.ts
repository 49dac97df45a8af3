/**
 * Secrets Manager's secrets and their versions, and Parameter Store's parameters with every
 * version (GetParameterHistory). Values are kept sealed (core/sealed-values.ts: a data key per
 * value under the data dir's master key); the store never holds one in the clear. Tags are in
 * the shared `tags` table by ARN.
 */
import type { Kysely, Migration } from "kysely";

export const secretsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("sm_secrets")
      .addColumn("arn", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull().unique())
      .addColumn("description", "text")
      .addColumn("kms_key_id", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("changed_at", "bigint", (c) => c.notNull())
      .addColumn("accessed_at", "bigint")
      // Set while the secret is scheduled for deletion: when it was asked, and when it goes.
      .addColumn("deleted_at", "bigint")
      .addColumn("delete_after", "bigint")
      .execute();
    await db.schema
      .createTable("sm_secret_versions")
      .addColumn("secret_arn", "text", (c) => c.notNull())
      .addColumn("version_id", "text", (c) => c.notNull())
      // JSON array of staging labels; a version without any is deprecated.
      .addColumn("stages", "text", (c) => c.notNull())
      // `string` or `binary`, and the value sealed.
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("sealed", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("accessed_at", "bigint")
      .addPrimaryKeyConstraint("sm_secret_versions_pk", ["secret_arn", "version_id"])
      .execute();
    await db.schema
      .createTable("ssm_parameters")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("arn", "text", (c) => c.notNull())
      .addColumn("version", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("ssm_parameter_versions")
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("version", "bigint", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      // String and StringList values are sealed too: one path for every value at rest.
      .addColumn("sealed", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("allowed_pattern", "text")
      .addColumn("key_id", "text")
      .addColumn("tier", "text", (c) => c.notNull())
      .addColumn("data_type", "text", (c) => c.notNull())
      .addColumn("labels", "text", (c) => c.notNull())
      .addColumn("modified_at", "bigint", (c) => c.notNull())
      .addColumn("modified_by", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("ssm_parameter_versions_pk", ["name", "version"])
      .execute();
  },
};
