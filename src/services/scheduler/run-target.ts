/**
 * One run of a schedule as the ECS RunTask request EventBridge Scheduler makes: the target's
 * EcsParameters in RunTask's own (lower-case) names, the Input as RunTask's `overrides`, the
 * schedule as `startedBy`, and a clientToken derived from the schedule, its version, the fire
 * time and the attempt — so a run retried after a crash is the same RunTask, answered once.
 */
import { createHash } from "node:crypto";
import type { RunTaskRequest, TaskOverride } from "@aws-sdk/client-ecs";
import type { Target } from "@aws-sdk/client-scheduler";

/** ECS keeps at most 36 characters of startedBy. */
const STARTED_BY_MAX = 36;

/** What AWS puts in a scheduled task's startedBy: `chronos-schedule/NAME`, cut to ECS's 36. */
export function startedByOf(scheduleName: string): string {
  return `chronos-schedule/${scheduleName}`.slice(0, STARTED_BY_MAX);
}

export interface Run {
  scheduleArn: string;
  scheduleName: string;
  version: number;
  /** The fire time owed (ms), not when it is made. */
  fireAt: number;
  attempt: number;
}

/** A RunTask clientToken (ECS takes up to 64 characters) that names this run and nothing else. */
export function runToken(run: Run): string {
  return createHash("sha256")
    .update(`${run.scheduleArn}\n${run.version}\n${run.fireAt}\n${run.attempt}`)
    .digest("hex")
    .slice(0, 64);
}

export function runTaskRequest(target: Target, run: Run): RunTaskRequest & { clientToken: string } {
  const ecs = target.EcsParameters;
  const vpc = ecs?.NetworkConfiguration?.awsvpcConfiguration;
  // The Input of an ECS target is RunTask's overrides: `{"containerOverrides": [...], ...}`.
  const overrides =
    target.Input === undefined ? undefined : (JSON.parse(target.Input) as TaskOverride);
  const request: RunTaskRequest & { clientToken: string } = {
    cluster: target.Arn,
    taskDefinition: ecs?.TaskDefinitionArn,
    count: ecs?.TaskCount ?? 1,
    startedBy: startedByOf(run.scheduleName),
    clientToken: runToken(run),
    ...(ecs?.LaunchType === undefined ? {} : { launchType: ecs.LaunchType }),
    ...(ecs?.CapacityProviderStrategy === undefined
      ? {}
      : {
          capacityProviderStrategy: ecs.CapacityProviderStrategy.map((item) => ({
            capacityProvider: item.capacityProvider,
            ...(item.weight === undefined ? {} : { weight: item.weight }),
            ...(item.base === undefined ? {} : { base: item.base }),
          })),
        }),
    ...(vpc === undefined
      ? {}
      : {
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: vpc.Subnets,
              ...(vpc.SecurityGroups === undefined ? {} : { securityGroups: vpc.SecurityGroups }),
              ...(vpc.AssignPublicIp === undefined ? {} : { assignPublicIp: vpc.AssignPublicIp }),
            },
          },
        }),
    ...(ecs?.PlatformVersion === undefined ? {} : { platformVersion: ecs.PlatformVersion }),
    ...(ecs?.Group === undefined ? {} : { group: ecs.Group }),
    ...(ecs?.EnableECSManagedTags === undefined
      ? {}
      : { enableECSManagedTags: ecs.EnableECSManagedTags }),
    ...(ecs?.EnableExecuteCommand === undefined
      ? {}
      : { enableExecuteCommand: ecs.EnableExecuteCommand }),
    ...(ecs?.PropagateTags === undefined ? {} : { propagateTags: ecs.PropagateTags }),
    ...(ecs?.ReferenceId === undefined ? {} : { referenceId: ecs.ReferenceId }),
    ...(ecs?.PlacementConstraints === undefined
      ? {}
      : {
          placementConstraints: ecs.PlacementConstraints.map((c) => ({
            type: c.type,
            ...(c.expression === undefined ? {} : { expression: c.expression }),
          })),
        }),
    ...(ecs?.PlacementStrategy === undefined
      ? {}
      : {
          placementStrategy: ecs.PlacementStrategy.map((s) => ({
            type: s.type,
            ...(s.field === undefined ? {} : { field: s.field }),
          })),
        }),
    // Scheduler's tags are a list of one-entry maps; RunTask's are key/value pairs.
    ...(ecs?.Tags === undefined
      ? {}
      : {
          tags: ecs.Tags.flatMap((map) =>
            Object.entries(map).map(([key, value]) => ({ key, value })),
          ),
        }),
    ...(overrides === undefined ? {} : { overrides }),
  };
  return request;
}
