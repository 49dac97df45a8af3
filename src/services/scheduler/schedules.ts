/**
 * Schedules: Create/Get/Update/Delete/List. A write checks the schedule (schedule-rules.ts),
 * stores its definition with the first fire it owes (fire-plan.ts), and kicks the runner. An
 * update replaces the whole definition, as AWS's does, and counts from the update again.
 */
import type { Scheduler, GetScheduleOutput, ScheduleSummary } from "@aws-sdk/client-scheduler";
import type { Handlers } from "../../aws/index.js";
import { arn, type Clock } from "../../core/index.js";
import { isUniqueViolation, type ScheduleTable, type Store } from "../../store/index.js";
import { conflict, scheduleNotFound } from "./errors.js";
import { firstFire } from "./fire-plan.js";
import { DEFAULT_GROUP, findGroup } from "./groups.js";
import { pageOf } from "./paging.js";
import { checkSchedule, type ScheduleDefinition } from "./schedule-rules.js";

export function scheduleHandlers(store: Store, clock: Clock, kick: () => void) {
  async function find(group: string, name: string): Promise<ScheduleTable> {
    return store
      .selectFrom("schedules")
      .selectAll()
      .where("group_name", "=", group)
      .where("name", "=", name)
      .executeTakeFirstOrThrow(() => scheduleNotFound(name));
  }

  return {
    createSchedule: async (input, ctx) => {
      const name = input.Name ?? "";
      const group = input.GroupName ?? DEFAULT_GROUP;
      await findGroup(store, group);
      const now = clock.now().getTime();
      const { definition, expression } = checkSchedule(input, now);
      const scheduleArn = arn(ctx.identity, "scheduler", `schedule/${group}/${name}`);
      const fire = firstFire(definition, expression, scheduleArn, now);
      try {
        await store
          .insertInto("schedules")
          .values({
            group_name: group,
            name,
            arn: scheduleArn,
            state: input.State ?? "ENABLED",
            document: JSON.stringify(definition),
            version: 1,
            created_at: now,
            updated_at: now,
            next_fire_at: fire.nextFireAt,
            due_at: fire.dueAt,
            attempt: 0,
            last_fire_at: null,
          })
          .execute();
      } catch (error) {
        // The same name in the same group; the ClientToken's idempotency is not kept (a retried
        // create answers ConflictException, as moto does).
        if (isUniqueViolation(error)) throw conflict(`Schedule ${name} already exists.`);
        throw error;
      }
      kick();
      return { ScheduleArn: scheduleArn };
    },

    getSchedule: async (input) => {
      const row = await find(input.GroupName ?? DEFAULT_GROUP, input.Name ?? "");
      const definition = JSON.parse(row.document) as ScheduleDefinition;
      return {
        Arn: row.arn,
        Name: row.name,
        GroupName: row.group_name,
        State: row.state as GetScheduleOutput["State"],
        CreationDate: new Date(row.created_at),
        LastModificationDate: new Date(row.updated_at),
        ...definition,
        StartDate: definition.StartDate === undefined ? undefined : new Date(definition.StartDate),
        EndDate: definition.EndDate === undefined ? undefined : new Date(definition.EndDate),
      } as GetScheduleOutput;
    },

    updateSchedule: async (input) => {
      const name = input.Name ?? "";
      const group = input.GroupName ?? DEFAULT_GROUP;
      const row = await find(group, name);
      const now = clock.now().getTime();
      const { definition, expression } = checkSchedule(input, now);
      const fire = firstFire(definition, expression, row.arn, now);
      const updated = await store
        .updateTable("schedules")
        .set({
          state: input.State ?? "ENABLED",
          document: JSON.stringify(definition),
          version: Number(row.version) + 1,
          updated_at: now,
          next_fire_at: fire.nextFireAt,
          due_at: fire.dueAt,
          attempt: 0,
        })
        .where("arn", "=", row.arn)
        .where("version", "=", row.version)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n)
        throw conflict(`Schedule ${name} was changed by another request; retry.`);
      kick();
      return { ScheduleArn: row.arn };
    },

    deleteSchedule: async (input) => {
      const row = await find(input.GroupName ?? DEFAULT_GROUP, input.Name ?? "");
      await store.deleteFrom("schedules").where("arn", "=", row.arn).execute();
      return {};
    },

    listSchedules: async (input) => {
      if (input.GroupName !== undefined) await findGroup(store, input.GroupName);
      let query = store.selectFrom("schedules").selectAll().orderBy("group_name").orderBy("name");
      if (input.GroupName !== undefined) query = query.where("group_name", "=", input.GroupName);
      if (input.State !== undefined) query = query.where("state", "=", input.State);
      if (input.NamePrefix !== undefined)
        query = query
          .where("name", ">=", input.NamePrefix)
          .where("name", "<", `${input.NamePrefix}\uffff`);
      const rows = await query.execute();
      const { items, ...next } = pageOf(rows, input);
      return {
        Schedules: items.map((row): ScheduleSummary => ({
          Arn: row.arn,
          Name: row.name,
          GroupName: row.group_name,
          State: row.state as ScheduleSummary["State"],
          CreationDate: new Date(row.created_at),
          LastModificationDate: new Date(row.updated_at),
          Target: { Arn: (JSON.parse(row.document) as ScheduleDefinition).Target.Arn },
        })),
        ...next,
      };
    },
  } satisfies Handlers<Scheduler>;
}
