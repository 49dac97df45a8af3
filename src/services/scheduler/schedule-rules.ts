/**
 * What EventBridge Scheduler checks in a CreateSchedule / UpdateSchedule beyond the model, and
 * the defaults it fills: the expression, the time zone, StartDate/EndDate, the flexible window,
 * and an ECS target. Pure: the handlers call it before they touch the store.
 */
import type { CreateScheduleInput, Target } from "@aws-sdk/client-scheduler";
import { parseArn } from "../../core/index.js";
import { invalid } from "./errors.js";
import { parseScheduleExpression, type ScheduleExpression } from "./expressions.js";
import { isTimeZone } from "./zoned-time.js";

/** A schedule as kept (dates as ms): what GetSchedule answers less names, state and dates. */
export interface ScheduleDefinition {
  Description?: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone: string;
  StartDate?: number;
  EndDate?: number;
  FlexibleTimeWindow: { Mode: string; MaximumWindowInMinutes?: number };
  Target: Target;
  KmsKeyArn?: string;
  ActionAfterCompletion: string;
}

export type ScheduleInput = Omit<CreateScheduleInput, "Name"> & { ActionAfterCompletion?: string };

/** AWS's defaults for a target's RetryPolicy. */
export const DEFAULT_RETRY = { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 };
const FIVE_MINUTES = 5 * 60_000;

export function checkSchedule(
  input: ScheduleInput,
  now: number,
): { definition: ScheduleDefinition; expression: ScheduleExpression } {
  const text = input.ScheduleExpression ?? "";
  const expression = parseScheduleExpression(text);
  if (expression === undefined) throw invalid(`Invalid Schedule Expression ${text}.`);
  const zone = input.ScheduleExpressionTimezone ?? "UTC";
  // Intl knows the IANA names AWS accepts; a name it does not know cannot be scheduled in.
  if (!isTimeZone(zone)) throw invalid(`Invalid Schedule Expression Timezone ${zone}.`);
  const start = input.StartDate?.getTime();
  const end = input.EndDate?.getTime();
  if (start !== undefined && start < now - FIVE_MINUTES)
    throw invalid("The StartDate you specify cannot be earlier than 5 minutes ago.");
  if (end !== undefined && end < now - FIVE_MINUTES)
    throw invalid("The EndDate you specify cannot be earlier than 5 minutes ago.");
  if (start !== undefined && end !== undefined && start >= end)
    throw invalid("The StartDate you specify must come before the EndDate.");
  const window = input.FlexibleTimeWindow ?? { Mode: "OFF" };
  if (window.Mode === "FLEXIBLE" && window.MaximumWindowInMinutes === undefined)
    throw invalid("MaximumWindowInMinutes is required when Mode is FLEXIBLE.");
  if (window.Mode === "OFF" && window.MaximumWindowInMinutes !== undefined)
    throw invalid("MaximumWindowInMinutes must not be set when Mode is OFF.");
  const target = checkTarget(input.Target);
  const definition: ScheduleDefinition = {
    ScheduleExpression: text,
    ScheduleExpressionTimezone: zone,
    FlexibleTimeWindow: {
      Mode: window.Mode ?? "OFF",
      ...(window.MaximumWindowInMinutes === undefined
        ? {}
        : { MaximumWindowInMinutes: window.MaximumWindowInMinutes }),
    },
    Target: target,
    ActionAfterCompletion: input.ActionAfterCompletion ?? "NONE",
    ...(input.Description === undefined ? {} : { Description: input.Description }),
    ...(start === undefined ? {} : { StartDate: start }),
    ...(end === undefined ? {} : { EndDate: end }),
    ...(input.KmsKeyArn === undefined ? {} : { KmsKeyArn: input.KmsKeyArn }),
  };
  return { definition, expression };
}

function checkTarget(target: Target | undefined): Target {
  const arn = target?.Arn ?? "";
  const parsed = parseArn(arn);
  if (parsed === undefined) throw invalid(`Provided Arn is not in correct format: ${arn}`);
  // AWS invokes any of its services' APIs; Berth runs ECS tasks only, so another target could
  // never be delivered and is refused when the schedule is written.
  if (parsed.service !== "ecs" || !parsed.resource.startsWith("cluster/"))
    throw invalid(`Berth's scheduler supports Amazon ECS cluster targets only, not ${arn}.`);
  const ecs = target?.EcsParameters;
  if (ecs === undefined) throw invalid("EcsParameters must be provided for an Amazon ECS target.");
  const definition = parseArn(ecs.TaskDefinitionArn ?? "");
  if (definition?.service !== "ecs" || !definition.resource.startsWith("task-definition/"))
    throw invalid(`Provided TaskDefinitionArn is not in correct format: ${ecs.TaskDefinitionArn}`);
  if (target?.Input !== undefined) {
    let input: unknown;
    try {
      input = JSON.parse(target.Input);
    } catch {
      input = undefined;
    }
    if (input === null || typeof input !== "object" || Array.isArray(input))
      throw invalid("Target Input must be a JSON object of ECS RunTask overrides.");
  }
  // DeadLetterConfig is kept and answered back, but nothing is ever sent to it: Berth has no SQS.
  return {
    ...target,
    Arn: arn,
    RetryPolicy: { ...DEFAULT_RETRY, ...target?.RetryPolicy },
  } as Target;
}
