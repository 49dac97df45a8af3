/**
 * EventBridge Scheduler (services/scheduler): schedule groups and schedules. A schedule keeps
 * its definition as the API's document, and the runner's state beside it: the fire time it
 * owes next (`next_fire_at`, the schedule's own time), when to try it (`due_at`: the flexible
 * window's offset or a retry's back-off), and which attempt that is. `version` counts updates,
 * so a run derived from an older definition is told apart (its RunTask clientToken differs).
 */
import type { Kysely, Migration } from "kysely";

export const schedulerMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("schedule_groups")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("arn", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("schedules")
      .addColumn("group_name", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("arn", "text", (c) => c.notNull().unique())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("document", "text", (c) => c.notNull())
      .addColumn("version", "bigint", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addColumn("next_fire_at", "bigint")
      .addColumn("due_at", "bigint")
      .addColumn("attempt", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("last_fire_at", "bigint")
      .addPrimaryKeyConstraint("schedules_pk", ["group_name", "name"])
      .execute();
    await db.schema.createIndex("schedules_due").on("schedules").columns(["due_at"]).execute();
  },
};
