/** ECS account settings (Put/List/DeleteAccountSetting): one value per principal and name. */
import type { Kysely, Migration } from "kysely";

export const ecsAccountSettingsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("ecs_account_settings")
      .addColumn("principal_arn", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("ecs_account_settings_pk", ["principal_arn", "name"])
      .execute();
  },
};
