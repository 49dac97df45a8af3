/** How ECS names things: ARNs of clusters and task definitions, and reading identifiers back. */
import { arn, parseArn, type Identity } from "../../core/index.js";

export const DEFAULT_CLUSTER = "default";

export const clusterArn = (identity: Identity, name: string): string =>
  arn(identity, "ecs", `cluster/${name}`);

export const taskDefinitionArn = (identity: Identity, family: string, revision: number): string =>
  arn(identity, "ecs", `task-definition/${family}:${revision}`);

/** A cluster's name from its name or ARN; `default` when none is given. */
export function clusterName(identifier: string | undefined): string {
  if (identifier === undefined || identifier === "") return DEFAULT_CLUSTER;
  const parsed = parseArn(identifier);
  if (parsed !== undefined && parsed.resource.startsWith("cluster/"))
    return parsed.resource.slice("cluster/".length);
  return identifier;
}

export interface TaskDefinitionRef {
  family: string;
  /** Absent for a bare family: the latest ACTIVE revision. */
  revision?: number;
}

/** "family", "family:3" or a task definition ARN; undefined when it is none of these. */
export function parseTaskDefinitionRef(identifier: string): TaskDefinitionRef | undefined {
  const parsed = parseArn(identifier);
  let text = identifier;
  if (parsed !== undefined) {
    if (parsed.service !== "ecs" || !parsed.resource.startsWith("task-definition/"))
      return undefined;
    text = parsed.resource.slice("task-definition/".length);
  }
  const match = /^([a-zA-Z0-9_-]{1,255})(?::(\d+))?$/.exec(text);
  if (match === null) return undefined;
  const family = match[1] as string;
  if (match[2] === undefined) return parsed === undefined ? { family } : undefined;
  const revision = Number(match[2]);
  return Number.isSafeInteger(revision) && revision > 0 ? { family, revision } : undefined;
}
