/**
 * How a billed cost line looks to Cost Explorer: its dimension values and its tags. Besides the
 * task's own tags, every task line carries the cost allocation tags AWS generates for ECS
 * (aws:ecs:clusterName, aws:ecs:serviceName) and Berth's berth:taskDefinitionFamily, so costs
 * are attributable to cluster, service and task family as well as to any propagated tag.
 */
import type { CostLine } from "../../billing/index.js";
import type { Identity } from "../../core/index.js";
import type { Attributed } from "./filter.js";

export const TAG_CLUSTER = "aws:ecs:clusterName";
export const TAG_SERVICE = "aws:ecs:serviceName";
/** Berth's own: AWS has no generated tag for the task definition family. */
export const TAG_FAMILY = "berth:taskDefinitionFamily";

/** The dimensions GetCostAndUsage can filter and group on here. */
export const COST_DIMENSIONS = [
  "SERVICE",
  "USAGE_TYPE",
  "PURCHASE_TYPE",
  "RECORD_TYPE",
  "REGION",
  "LINKED_ACCOUNT",
  "SAVINGS_PLAN_ARN",
] as const;

/** Every tag a line carries: the task's own and the generated cost allocation tags. */
export function managedTags(line: CostLine): Record<string, string> {
  const task = line.task;
  if (task === undefined) return {};
  const tags: Record<string, string> = { ...task.tags };
  const cluster = /:cluster\/(.+)$/.exec(task.clusterArn)?.[1];
  if (cluster !== undefined) tags[TAG_CLUSTER] = cluster;
  if (task.group?.startsWith("service:")) tags[TAG_SERVICE] = task.group.slice("service:".length);
  tags[TAG_FAMILY] = task.family;
  return tags;
}

export function attributesOf(line: CostLine, identity: Identity): Attributed {
  let tags: Record<string, string> | undefined;
  return {
    dimension(key) {
      switch (key) {
        case "SERVICE":
          return line.service;
        case "USAGE_TYPE":
          return line.usageType;
        case "PURCHASE_TYPE":
          return line.purchaseType;
        case "RECORD_TYPE":
          return line.recordType;
        case "REGION":
          return identity.region;
        case "LINKED_ACCOUNT":
          return identity.accountId;
        case "SAVINGS_PLAN_ARN":
          return line.savingsPlanArn;
        default:
          return undefined;
      }
    },
    tag(key) {
      tags ??= managedTags(line);
      return Object.hasOwn(tags, key) ? tags[key] : undefined;
    },
  };
}
