/**
 * Application Auto Scaling's state (services/autoscaling, control/autoscaler): scalable
 * targets, scaling policies, scheduled actions and scaling activities, each an AWS-shaped
 * document beside the columns queries filter on; and ECS task scale-in protection.
 */
import type { Kysely, Migration } from "kysely";

export const autoscalingMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("scalable_targets")
      .addColumn("namespace", "text", (c) => c.notNull())
      .addColumn("resource_id", "text", (c) => c.notNull())
      .addColumn("dimension", "text", (c) => c.notNull())
      .addColumn("arn", "text", (c) => c.notNull().unique())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("scalable_targets_pk", ["namespace", "resource_id", "dimension"])
      .execute();
    await db.schema
      .createTable("scaling_policies")
      .addColumn("arn", "text", (c) => c.primaryKey())
      .addColumn("namespace", "text", (c) => c.notNull())
      .addColumn("resource_id", "text", (c) => c.notNull())
      .addColumn("dimension", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("scaling_policies_name", [
        "namespace",
        "resource_id",
        "dimension",
        "name",
      ])
      .execute();
    await db.schema
      .createTable("scheduled_actions")
      .addColumn("arn", "text", (c) => c.primaryKey())
      .addColumn("namespace", "text", (c) => c.notNull())
      .addColumn("resource_id", "text", (c) => c.notNull())
      .addColumn("dimension", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      /** When the action last ran (epoch ms); null until it first does. */
      .addColumn("last_run_at", "bigint")
      .addUniqueConstraint("scheduled_actions_name", [
        "namespace",
        "resource_id",
        "dimension",
        "name",
      ])
      .execute();
    await db.schema
      .createTable("scaling_activities")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("namespace", "text", (c) => c.notNull())
      .addColumn("resource_id", "text", (c) => c.notNull())
      .addColumn("dimension", "text", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("scaling_activities_resource")
      .on("scaling_activities")
      .columns(["namespace", "resource_id", "started_at"])
      .execute();
    await db.schema
      .createTable("task_protection")
      .addColumn("task_arn", "text", (c) => c.primaryKey())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
