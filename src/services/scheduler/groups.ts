/**
 * Schedule groups: Create/Get/Delete/List. `default` exists from the first start and cannot be
 * deleted; deleting a group deletes its schedules with it (AWS does so asynchronously, through
 * a DELETING state; here it is one transaction, so DELETING is never seen).
 */
import type { Scheduler, ScheduleGroupSummary } from "@aws-sdk/client-scheduler";
import type { Handlers } from "../../aws/index.js";
import { arn, type Identity } from "../../core/index.js";
import {
  dropTags,
  isUniqueViolation,
  type Store,
  type ScheduleGroupTable,
} from "../../store/index.js";
import { conflict, groupNotFound, invalid } from "./errors.js";
import { pageOf } from "./paging.js";
import { writeTags } from "./tags.js";
import type { Clock } from "../../core/index.js";

export const DEFAULT_GROUP = "default";

export const groupArnOf = (identity: Identity, name: string): string =>
  arn(identity, "scheduler", `schedule-group/${name}`);

/** Makes the `default` group on a new store (every server may try: the first one wins). */
export async function ensureDefaultScheduleGroup(
  store: Store,
  identity: Identity,
  now: number,
): Promise<void> {
  await store
    .insertInto("schedule_groups")
    .values({
      name: DEFAULT_GROUP,
      arn: groupArnOf(identity, DEFAULT_GROUP),
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
}

export async function findGroup(store: Store, name: string): Promise<ScheduleGroupTable> {
  return store
    .selectFrom("schedule_groups")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirstOrThrow(() => groupNotFound(name));
}

function summary(row: ScheduleGroupTable): ScheduleGroupSummary {
  return {
    Arn: row.arn,
    Name: row.name,
    State: "ACTIVE",
    CreationDate: new Date(row.created_at),
    LastModificationDate: new Date(row.updated_at),
  };
}

export function groupHandlers(store: Store, clock: Clock) {
  return {
    createScheduleGroup: async (input, ctx) => {
      const name = input.Name ?? "";
      const groupArn = groupArnOf(ctx.identity, name);
      const now = clock.now().getTime();
      try {
        await store.transaction().execute(async (trx) => {
          await trx
            .insertInto("schedule_groups")
            .values({ name, arn: groupArn, created_at: now, updated_at: now })
            .execute();
          await writeTags(trx, groupArn, input.Tags ?? []);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`Schedule group ${name} already exists.`);
        throw error;
      }
      return { ScheduleGroupArn: groupArn };
    },

    getScheduleGroup: async (input) => summary(await findGroup(store, input.Name ?? "")),

    deleteScheduleGroup: async (input) => {
      const name = input.Name ?? "";
      if (name === DEFAULT_GROUP) throw invalid("Cannot delete the default schedule group.");
      const group = await findGroup(store, name);
      await store.transaction().execute(async (trx) => {
        const schedules = await trx
          .selectFrom("schedules")
          .select("arn")
          .where("group_name", "=", name)
          .execute();
        await trx.deleteFrom("schedules").where("group_name", "=", name).execute();
        const arns = [group.arn, ...schedules.map((row) => row.arn)];
        await dropTags(trx, arns);
        await trx.deleteFrom("schedule_groups").where("name", "=", name).execute();
      });
      return {};
    },

    listScheduleGroups: async (input) => {
      let query = store.selectFrom("schedule_groups").selectAll().orderBy("name");
      if (input.NamePrefix !== undefined)
        query = query
          .where("name", ">=", input.NamePrefix)
          .where("name", "<", `${input.NamePrefix}\uffff`);
      const rows = await query.execute();
      const { items, ...next } = pageOf(rows, input);
      return { ScheduleGroups: items.map(summary), ...next };
    },
  } satisfies Handlers<Scheduler>;
}
