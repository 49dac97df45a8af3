/** Scheduled actions: PutScheduledAction (at, rate, cron with Timezone), Describe, Delete. */
import type {
  ApplicationAutoScaling,
  ScheduledAction,
} from "@aws-sdk/client-application-auto-scaling";
import { randomUUID } from "node:crypto";
import type { Handlers } from "../../aws/index.js";
import { arn } from "../../core/index.js";
import {
  ScheduleError,
  checkTimezone,
  findTarget,
  parseSchedule,
  readScheduledAction,
} from "../../control/index.js";
import type { Store } from "../../store/index.js";
import { describeResource, objectNotFound, targetNotRegistered, validation } from "./errors.js";
import { describeNamed, findNamed, saveNamed } from "./named-rows.js";
import { resourceOf } from "./scope.js";

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
    putScheduledAction: async (input, ctx) => {
      const resource = await resourceOf(store, input, false);
      if ((await findTarget(store, resource)) === undefined) throw targetNotRegistered(resource);
      const name = input.ScheduledActionName ?? "";
      const existing = await findNamed(store, "scheduled_actions", resource, name);
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
      await saveNamed(store, "scheduled_actions", existing !== undefined, {
        arn: actionArn,
        resource,
        name,
        document,
        now: ctx.clock.now(),
      });
      return {};
    },

    describeScheduledActions: async (input) => {
      const names = input.ScheduledActionNames;
      const { items, ...next } = await describeNamed(store, "scheduled_actions", input, names);
      return { ScheduledActions: items.map(readScheduledAction), ...next };
    },

    deleteScheduledAction: async (input) => {
      const resource = await resourceOf(store, input, false);
      const existing = await findNamed(
        store,
        "scheduled_actions",
        resource,
        input.ScheduledActionName ?? "",
      );
      if (existing === undefined)
        throw objectNotFound(
          `No scheduled action found for ${describeResource(resource)}, scheduled action name: ${input.ScheduledActionName ?? ""}`,
        );
      await store.deleteFrom("scheduled_actions").where("arn", "=", existing.arn).execute();
      return {};
    },
  } satisfies Handlers<ApplicationAutoScaling>;
}
