/** Scheduled actions: PutScheduledAction (at, rate, cron with Timezone), Describe, Delete. */
import { randomUUID } from "node:crypto";
import type {
  DeleteScheduledActionRequest,
  DeleteScheduledActionResponse,
  DescribeScheduledActionsRequest,
  DescribeScheduledActionsResponse,
  PutScheduledActionRequest,
  PutScheduledActionResponse,
  ScheduledAction,
} from "@aws-sdk/client-application-auto-scaling";
import type { RequestContext } from "../../aws/index.js";
import { arn } from "../../core/index.js";
import {
  ScheduleError,
  checkTimezone,
  findTarget,
  parseSchedule,
  readScheduledAction,
  resourceColumns,
  type ScalableResource,
} from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { describeResource, objectNotFound, targetNotRegistered, validation } from "./errors.js";
import { checkNamespace, pageOf, resourceOf } from "./scope.js";

async function findAction(store: Store, resource: ScalableResource, name: string) {
  return store
    .selectFrom("scheduled_actions")
    .selectAll()
    .where("namespace", "=", resource.namespace)
    .where("resource_id", "=", resource.resourceId)
    .where("dimension", "=", resource.dimension)
    .where("name", "=", name)
    .executeTakeFirst();
}

function checkSchedule(schedule: string | undefined, timezone: string | undefined): void {
  try {
    parseSchedule(schedule ?? "");
    checkTimezone(timezone ?? "UTC");
  } catch (error) {
    if (error instanceof ScheduleError) throw validation(error.message);
    throw error;
  }
}

export function scheduledActionHandlers(store: Store) {
  return {
    putScheduledAction: async (
      input: PutScheduledActionRequest,
      ctx: RequestContext,
    ): Promise<PutScheduledActionResponse> => {
      const resource = await resourceOf(store, input, false);
      if ((await findTarget(store, resource)) === undefined) throw targetNotRegistered(resource);
      const name = input.ScheduledActionName ?? "";
      const existing = await findAction(store, resource, name);
      const previous = existing === undefined ? undefined : readScheduledAction(existing.document);
      const schedule = input.Schedule ?? previous?.Schedule;
      if (schedule === undefined)
        throw validation("Schedule is required for a new scheduled action");
      const timezone = input.Timezone ?? previous?.Timezone;
      checkSchedule(schedule, timezone);
      const bounds = input.ScalableTargetAction ?? previous?.ScalableTargetAction ?? {};
      if (
        bounds.MinCapacity !== undefined &&
        bounds.MaxCapacity !== undefined &&
        bounds.MinCapacity > bounds.MaxCapacity
      )
        throw validation("Minimum capacity cannot be greater than maximum capacity");
      const startTime = input.StartTime ?? previous?.StartTime;
      const endTime = input.EndTime ?? previous?.EndTime;
      const actionArn =
        existing?.arn ??
        arn(
          ctx.identity,
          "autoscaling",
          `scheduledAction:${randomUUID()}:resource/${resource.namespace}/${resource.resourceId}:scheduledActionName/${name}`,
        );
      const action: ScheduledAction = {
        ScheduledActionName: name,
        ScheduledActionARN: actionArn,
        ServiceNamespace: "ecs",
        Schedule: schedule,
        ...(timezone === undefined ? {} : { Timezone: timezone }),
        ResourceId: resource.resourceId,
        ScalableDimension: "ecs:service:DesiredCount",
        ...(startTime === undefined ? {} : { StartTime: startTime }),
        ...(endTime === undefined ? {} : { EndTime: endTime }),
        ScalableTargetAction: bounds,
        CreationTime: previous?.CreationTime ?? ctx.clock.now(),
      };
      const document = JSON.stringify(action);
      if (existing === undefined)
        await store
          .insertInto("scheduled_actions")
          .values({
            arn: actionArn,
            ...resourceColumns(resource),
            name,
            document,
            created_at: ctx.clock.now().getTime(),
            last_run_at: null,
          })
          .execute();
      else
        await store
          .updateTable("scheduled_actions")
          .set({ document })
          .where("arn", "=", actionArn)
          .execute();
      return {};
    },

    describeScheduledActions: async (
      input: DescribeScheduledActionsRequest,
    ): Promise<DescribeScheduledActionsResponse> => {
      checkNamespace(input.ServiceNamespace, input.ScalableDimension);
      let query = store
        .selectFrom("scheduled_actions")
        .select("document")
        .where("namespace", "=", input.ServiceNamespace ?? "")
        .orderBy("created_at")
        .orderBy("arn");
      if (input.ResourceId !== undefined) query = query.where("resource_id", "=", input.ResourceId);
      if ((input.ScheduledActionNames ?? []).length > 0)
        query = query.where("name", "in", input.ScheduledActionNames ?? []);
      const { items, NextToken } = pageOf(await query.execute(), input.NextToken, input.MaxResults);
      return {
        ScheduledActions: items.map((row) => readScheduledAction(row.document)),
        ...(NextToken === undefined ? {} : { NextToken }),
      };
    },

    deleteScheduledAction: async (
      input: DeleteScheduledActionRequest,
    ): Promise<DeleteScheduledActionResponse> => {
      const resource = await resourceOf(store, input, false);
      const existing = await findAction(store, resource, input.ScheduledActionName ?? "");
      if (existing === undefined)
        throw objectNotFound(
          `No scheduled action found for ${describeResource(resource)}, scheduled action name: ${input.ScheduledActionName ?? ""}`,
        );
      await store.deleteFrom("scheduled_actions").where("arn", "=", existing.arn).execute();
      return {};
    },
  };
}
