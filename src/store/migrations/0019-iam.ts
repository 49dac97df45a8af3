/**
 * IAM and STS: users and their access keys, roles with their trust policies, customer managed
 * policies, inline policies and attachments (of users and roles), and the temporary
 * credentials STS hands out. Secrets are kept as issued: SigV4 needs them to check signatures.
 */
import type { Kysely, Migration } from "kysely";

export const iamMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("iam_users")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("id", "text", (c) => c.notNull().unique())
      .addColumn("arn", "text", (c) => c.notNull())
      .addColumn("path", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("iam_access_keys")
      .addColumn("access_key_id", "text", (c) => c.primaryKey())
      .addColumn("user_name", "text", (c) => c.notNull())
      .addColumn("secret", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("iam_roles")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("id", "text", (c) => c.notNull().unique())
      .addColumn("arn", "text", (c) => c.notNull())
      .addColumn("path", "text", (c) => c.notNull())
      .addColumn("trust_policy", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("max_session_duration", "integer", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("iam_policies")
      .addColumn("arn", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull().unique())
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("path", "text", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    // Inline policies and attachments of a principal: kind is `user` or `role`.
    await db.schema
      .createTable("iam_inline_policies")
      .addColumn("principal_kind", "text", (c) => c.notNull())
      .addColumn("principal_name", "text", (c) => c.notNull())
      .addColumn("policy_name", "text", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("iam_inline_policies_pk", [
        "principal_kind",
        "principal_name",
        "policy_name",
      ])
      .execute();
    await db.schema
      .createTable("iam_attached_policies")
      .addColumn("principal_kind", "text", (c) => c.notNull())
      .addColumn("principal_name", "text", (c) => c.notNull())
      .addColumn("policy_arn", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("iam_attached_policies_pk", [
        "principal_kind",
        "principal_name",
        "policy_arn",
      ])
      .execute();
    await db.schema
      .createTable("sts_sessions")
      .addColumn("access_key_id", "text", (c) => c.primaryKey())
      .addColumn("secret", "text", (c) => c.notNull())
      .addColumn("session_token", "text", (c) => c.notNull())
      .addColumn("role_name", "text", (c) => c.notNull())
      .addColumn("session_name", "text", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("sts_sessions_expiry")
      .on("sts_sessions")
      .column("expires_at")
      .execute();
  },
};
