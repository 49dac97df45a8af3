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

/** A task by ARN or id: an ARN names its own cluster. */
function onTask(ctx: RequestContext, cluster: string | undefined, task: string): RequestedResource {
  const parsed = parseArn(task);
  if (parsed !== undefined) {
    const [, taskCluster] = parsed.resource.split("/");
    return inCluster(ctx, taskCluster ?? cluster, task);
  }
  const name = clusterName(cluster);
  return inCluster(ctx, name, arn(ctx.identity, "ecs", `task/${name}/${task}`));
}

function onService(
  ctx: RequestContext,
  cluster: string | undefined,
  service: string,
): RequestedResource {
  if (parseArn(service) !== undefined) {
    const [, serviceCluster] = (parseArn(service)?.resource ?? "").split("/");
    return inCluster(ctx, serviceCluster ?? cluster, service);
  }
  const name = clusterName(cluster);
  return inCluster(ctx, name, arn(ctx.identity, "ecs", `service/${name}/${service}`));
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
  StopTask: (input, ctx) => [onTask(ctx, input.cluster, input.task ?? "")],
  DescribeTasks: (input, ctx) =>
    (input.tasks ?? []).map((task) => onTask(ctx, input.cluster, task)),
  ExecuteCommand: (input, ctx) => [onTask(ctx, input.cluster, input.task ?? "")],
  GetTaskProtection: cluster,
  UpdateTaskProtection: cluster,
  CreateService: (input, ctx) => [onService(ctx, input.cluster, input.serviceName ?? "")],
  UpdateService: (input, ctx) => [onService(ctx, input.cluster, input.service ?? "")],
  DeleteService: (input, ctx) => [onService(ctx, input.cluster, input.service ?? "")],
  DescribeServices: (input, ctx) =>
    (input.services ?? []).map((service) => onService(ctx, input.cluster, service)),
  TagResource: (input) => [{ arn: input.resourceArn ?? "*" }],
  UntagResource: (input) => [{ arn: input.resourceArn ?? "*" }],
  ListTagsForResource: (input) => [{ arn: input.resourceArn ?? "*" }],
} satisfies ResourceTable<ecs.ECS>;
