/**
 * What each ECS action acts on, for IAM (the service authorization reference's resource types
 * and the `ecs:cluster` condition key): clusters, task definitions, tasks and services by ARN.
 * Actions not listed act on `*` (ListClusters, RegisterTaskDefinition, ...).
 */
import type * as ecs from "@aws-sdk/client-ecs";
import {
  type RequestContext,
  type RequestedResource,
  type ResourceTable,
} from "../../aws/index.js";
import { arn, parseArn } from "../../core/index.js";
import { clusterArn, clusterName, parseTaskDefinitionRef } from "./resources.js";

function inCluster(
  ctx: RequestContext,
  cluster: string | undefined,
  resource: string,
): RequestedResource {
  return {
    arn: resource,
    context: { "ecs:cluster": [clusterArn(ctx.identity, clusterName(cluster))] },
  };
}

const onCluster = (ctx: RequestContext, cluster: string | undefined): RequestedResource =>
  inCluster(ctx, cluster, clusterArn(ctx.identity, clusterName(cluster)));

/** A task or a service by ARN or by id or name: an ARN names its own cluster. */
function inClusterOf(
  ctx: RequestContext,
  cluster: string | undefined,
  kind: "task" | "service",
  reference: string,
): RequestedResource {
  const parsed = parseArn(reference);
  if (parsed !== undefined) {
    const [, ownCluster] = parsed.resource.split("/");
    return inCluster(ctx, ownCluster ?? cluster, reference);
  }
  const name = clusterName(cluster);
  return inCluster(ctx, name, arn(ctx.identity, "ecs", `${kind}/${name}/${reference}`));
}

/** RunTask and StartTask act on the task definition, in the cluster the request names. */
function onTaskDefinition(
  ctx: RequestContext,
  cluster: string | undefined,
  ref: string,
): RequestedResource {
  const parsed = parseTaskDefinitionRef(ref);
  const resource =
    parseArn(ref) !== undefined
      ? ref
      : arn(
          ctx.identity,
          "ecs",
          `task-definition/${parsed?.family ?? ref}${parsed?.revision === undefined ? "" : `:${parsed.revision}`}`,
        );
  return inCluster(ctx, cluster, resource);
}

const cluster = (input: { cluster?: string }, ctx: RequestContext) => [
  onCluster(ctx, input.cluster),
];

export const ecsResources = {
  CreateCluster: (input, ctx) => [onCluster(ctx, input.clusterName)],
  DescribeClusters: (input, ctx) =>
    (input.clusters ?? [undefined]).map((name) => onCluster(ctx, name)),
  DeleteCluster: cluster,
  UpdateCluster: cluster,
  UpdateClusterSettings: cluster,
  PutClusterCapacityProviders: cluster,
  ListServices: cluster,
  ListTasks: cluster,
  ListContainerInstances: cluster,
  RunTask: (input, ctx) => [onTaskDefinition(ctx, input.cluster, input.taskDefinition ?? "")],
  StartTask: (input, ctx) => [onTaskDefinition(ctx, input.cluster, input.taskDefinition ?? "")],
  StopTask: (input, ctx) => [inClusterOf(ctx, input.cluster, "task", input.task ?? "")],
  DescribeTasks: (input, ctx) =>
    (input.tasks ?? []).map((task) => inClusterOf(ctx, input.cluster, "task", task)),
  ExecuteCommand: (input, ctx) => [inClusterOf(ctx, input.cluster, "task", input.task ?? "")],
  GetTaskProtection: cluster,
  UpdateTaskProtection: cluster,
  CreateService: (input, ctx) => [
    inClusterOf(ctx, input.cluster, "service", input.serviceName ?? ""),
  ],
  UpdateService: (input, ctx) => [inClusterOf(ctx, input.cluster, "service", input.service ?? "")],
  DeleteService: (input, ctx) => [inClusterOf(ctx, input.cluster, "service", input.service ?? "")],
  DescribeServices: (input, ctx) =>
    (input.services ?? []).map((service) => inClusterOf(ctx, input.cluster, "service", service)),
  TagResource: (input) => [{ arn: input.resourceArn ?? "*" }],
  UntagResource: (input) => [{ arn: input.resourceArn ?? "*" }],
  ListTagsForResource: (input) => [{ arn: input.resourceArn ?? "*" }],
} satisfies ResourceTable<ecs.ECS>;
