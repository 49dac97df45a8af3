/** Task histories for billing tests: a task is a size, a place and two instants. */
import type { BilledTask, TaskUsage } from "../../../src/billing/index.js";
import { billedSeconds } from "../../../src/billing/index.js";

export const ACCOUNT = "000000000000";
export const CLUSTER_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/default`;

let serial = 0;

export function task(overrides: Partial<TaskUsage> & { pull?: string; stop?: string }): TaskUsage {
  serial += 1;
  const id =
    overrides.taskArn ??
    `arn:aws:ecs:us-east-1:${ACCOUNT}:task/default/${serial.toString(16).padStart(32, "0")}`;
  const family = overrides.family ?? "web";
  const { pull, stop, ...rest } = overrides;
  return {
    taskArn: id,
    clusterArn: CLUSTER_ARN,
    group: `family:${family}`,
    taskDefinitionArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/${family}:1`,
    family,
    tags: {},
    cpu: 1024,
    memoryMiB: 2048,
    ephemeralStorageGiB: 20,
    cpuArchitecture: "X86_64",
    capacityProviderName: "FARGATE",
    pullStartedAt: pull === undefined ? undefined : new Date(pull),
    stoppedAt: stop === undefined ? undefined : new Date(stop),
    ...rest,
  };
}

/** A stopped task as the meter bills it. */
export function billed(usage: TaskUsage): BilledTask {
  const from = usage.pullStartedAt as Date;
  return {
    usage,
    billedFrom: from.getTime(),
    billedSeconds: billedSeconds(from, usage.stoppedAt as Date),
    final: true,
  };
}

export const at = (iso: string): number => new Date(iso).getTime();
