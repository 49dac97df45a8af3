/**
 * The disk a host offers to task storage (issue 12, item 10), as the agent measures it, and
 * each task's size, so placement counts ephemeral storage as it counts CPU and memory. Null: an agent that does not
 * report it, whose disk placement leaves to the agent's own admission check.
 */
import type { Kysely, Migration } from "kysely";

export const hostTaskStorageMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("hosts").addColumn("task_storage_gib", "real").execute();
    // What each task reserves there; tasks placed before have Fargate's default 20 GiB.
    await db.schema
      .alterTable("tasks")
      .addColumn("ephemeral_storage_gib", "integer", (c) => c.notNull().defaultTo(20))
      .execute();
  },
};
