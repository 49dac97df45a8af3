/**
 * Amazon EventBridge Scheduler (REST-JSON, signing name `scheduler`): schedules and schedule
 * groups whose targets are ECS RunTask, and the runner that fires them. The front door picks
 * each action by the model's method and URI template; adding an action is adding a handler.
 */
import type * as scheduler from "@aws-sdk/client-scheduler";
import {
  actionTable,
  loadServiceModel,
  resources,
  type AwsRestJsonService,
  type RequestContext,
} from "../../aws/index.js";
import { arn, type Clock } from "../../core/index.js";
import type { Store } from "../../store/index.js";
import { DEFAULT_GROUP, groupArnOf, groupHandlers } from "./groups.js";
import { schedulerModelSupplement } from "./model-supplement.js";
import { scheduleHandlers } from "./schedules.js";
import { tagHandlers } from "./tags.js";

export { ensureDefaultScheduleGroup } from "./groups.js";
export { ScheduleRunner } from "./runner.js";
export { scheduleClockFrom } from "./schedule-clock.js";

export function createSchedulerService({
  store,
  clock,
  kickRunner,
}: {
  store: Store;
  /** The schedule clock (creation dates, StartDate checks, first fire times). */
  clock: Clock;
  /** A schedule was written: its first fire may be due now. */
  kickRunner: () => void;
}): AwsRestJsonService {
  const schedules = scheduleHandlers(store, clock, kickRunner);
  const groups = groupHandlers(store, clock);
  const tags = tagHandlers(store);
  const service: AwsRestJsonService = {
    signingName: "scheduler",
    model: loadServiceModel("scheduler", schedulerModelSupplement),
    validationErrorCode: "ValidationException",
    actions: actionTable<scheduler.Scheduler>(schedules, groups, tags),
  };
  // What each action acts on, for IAM (`scheduler:Action` on the schedule's or group's ARN;
  // the List actions act on `*`). AWS also asks iam:PassRole for the target's RoleArn; Berth
  // runs the target as the account (below), so no role is passed and none is checked.
  const scheduleArn = resources<{ Name?: string; GroupName?: string }>((input, ctx) => [
    {
      arn: arn(
        ctx.identity,
        "scheduler",
        `schedule/${input.GroupName ?? DEFAULT_GROUP}/${input.Name ?? ""}`,
      ),
    },
  ]);
  const groupArn = resources<{ Name?: string }>((input, ctx: RequestContext) => [
    { arn: groupArnOf(ctx.identity, input.Name ?? "") },
  ]);
  const taggedArn = resources<{ ResourceArn?: string }>((input) => [
    { arn: input.ResourceArn ?? "*" },
  ]);
  return {
    ...service,
    resources: {
      CreateSchedule: scheduleArn,
      GetSchedule: scheduleArn,
      UpdateSchedule: scheduleArn,
      DeleteSchedule: scheduleArn,
      CreateScheduleGroup: groupArn,
      GetScheduleGroup: groupArn,
      DeleteScheduleGroup: groupArn,
      TagResource: taggedArn,
      UntagResource: taggedArn,
      ListTagsForResource: taggedArn,
    },
  };
}
