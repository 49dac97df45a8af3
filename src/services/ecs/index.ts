/**
 * Amazon ECS (`AmazonEC2ContainerServiceV20141113`): the table of actions Berth answers.
 * Adding an action is adding its handler to a group of the table; the front door validates
 * its input against the model.
 */
import type * as ecs from "@aws-sdk/client-ecs";
import {
  checkLaunchRoles,
  checkRegisteredRoles,
  passLaunchRoles,
  type RoleGate,
} from "./task-roles.js";
import { readRunTask } from "./run-task-read.js";
import { ecsResources } from "./authorization.js";
import {
  actionTable,
  authorizeRequest,
  loadServiceModel,
  type Authorizer,
  type AwsJsonService,
  type RequestContext,
  internalContext,
} from "../../aws/index.js";
import type { Clock, Identity, Logger } from "../../core/index.js";
import {
  readTask,
  type Fence,
  type ServiceTargets,
  type TaskAddressSpace,
  type TaskCommands,
} from "../../control/index.js";
import { anyOf, type Store } from "../../store/index.js";
import { accountSettingHandlers } from "./account-settings.js";
import { clusterHandlers } from "./clusters.js";
import { ecsModelSupplement } from "./model-supplement.js";
import { tagHandlers } from "./tags.js";
import { taskDefinitionHandlers } from "./task-definitions.js";
import { capacityProviderHandlers } from "./capacity-providers.js";
import { serviceHandlers } from "./services.js";
import { taskProtectionHandlers } from "./task-protection.js";
import { taskHandlers, type RegistryCredentialSource } from "./tasks.js";
import { FARGATE_SIZES } from "./fargate.js";

export { ensureDefaultCluster } from "./clusters.js";
export { FARGATE_SIZES, parseCpu, parseMemory, checkFargateSize } from "./fargate.js";
export type { RegistryCredentialSource } from "./tasks.js";
export { serviceLauncher } from "./services.js";
export type { RoleGate } from "./task-roles.js";
export { splitStrategy } from "./capacity-providers.js";

/**
 * Pods' tasks (EKS on Fargate): a pod's task definition registered and one task run through
 * RegisterTaskDefinition and RunTask themselves, so a pod takes the path every task takes.
 */
export function podTaskLauncher(deps: {
  store: Store;
  tasks: TaskCommands;
  registryCredentials: RegistryCredentialSource;
  ctx: () => RequestContext;
}) {
  const definitions = taskDefinitionHandlers(deps.store);
  const tasks = taskHandlers(deps.store, deps.tasks, deps.registryCredentials);
  return {
    sizes: FARGATE_SIZES,
    async run(
      cluster: string,
      definition: ecs.RegisterTaskDefinitionRequest,
      options: { subnets: string[]; startedBy: string; group: string },
    ): Promise<{ taskArn: string } | { failure: string }> {
      const registered = await definitions.registerTaskDefinition(definition, deps.ctx());
      const ran = await tasks.runTask(
        {
          cluster,
          taskDefinition: registered.taskDefinition?.taskDefinitionArn,
          launchType: "FARGATE",
          startedBy: options.startedBy,
          group: options.group,
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: options.subnets.length > 0 ? options.subnets : ["eks"],
            },
          },
        },
        deps.ctx(),
      );
      const taskArn = ran.tasks?.[0]?.taskArn;
      if (taskArn !== undefined) return { taskArn };
      return { failure: ran.failures?.[0]?.reason ?? "no capacity" };
    },
    async stop(cluster: string, taskArn: string, reason: string): Promise<void> {
      await tasks.stopTask({ cluster, task: taskArn, reason }, deps.ctx());
    },
    async read(taskArns: string[]): Promise<Map<string, ecs.Task>> {
      const found = new Map<string, ecs.Task>();
      if (taskArns.length === 0) return found;
      const rows = await deps.store
        .selectFrom("tasks")
        .selectAll()
        .where(anyOf(deps.store, "arn", taskArns))
        .execute();
      for (const row of rows) found.set(row.arn, readTask(row));
      return found;
    },
  };
}

/** RunTask after the caller has passed the roles the tasks will have (the action's one body). */
function runTaskAsCaller(
  store: Store,
  tasks: ReturnType<typeof taskHandlers>,
  roles: RoleGate | undefined,
) {
  return async (input: ecs.RunTaskRequest, ctx: RequestContext): Promise<ecs.RunTaskResponse> => {
    if (roles === undefined) return tasks.runTask(input, ctx);
    // The definition the check reads is the one RunTask runs: read once, with the cluster, the
    // clientToken's answer and the runtime tags (run-task-read.ts).
    const read = await readRunTask(store, input);
    if (read.definitionError !== undefined) throw read.definitionError;
    await passLaunchRoles(roles, ctx, read.definition, input.overrides ?? {}, true);
    return tasks.runTask(input, ctx, read);
  };
}

/**
 * Scheduled tasks (EventBridge Scheduler): each fire is one RunTask through the RunTask action
 * itself, clientToken and all, as a session of the schedule's RoleArn: that role must be
 * allowed ecs:RunTask (IAM's step every gateway runs) and iam:PassRole on the task's roles,
 * as on AWS, so a schedule starts nothing its role may not.
 */
export function scheduledTaskRunner(deps: {
  store: Store;
  tasks: TaskCommands;
  registryCredentials: RegistryCredentialSource;
  roles?: RoleGate;
  authorizer?: Authorizer;
  /** The run's context, as a session of `roleArn` (throws AccessDenied if it cannot be assumed). */
  ctx: (roleArn: string, sessionName: string) => Promise<RequestContext>;
}): (
  request: ecs.RunTaskRequest & { clientToken: string },
  roleArn: string,
) => Promise<ecs.RunTaskResponse> {
  const tasks = taskHandlers(deps.store, deps.tasks, deps.registryCredentials);
  const runTask = runTaskAsCaller(deps.store, tasks, deps.roles);
  return async (request, roleArn) => {
    // AWS does not document the session name Scheduler uses; the run's token names the run.
    const ctx = await deps.ctx(roleArn, request.clientToken.slice(0, 32));
    await authorizeRequest(
      deps.authorizer,
      { signingName: "ecs", resources: ecsResources },
      "RunTask",
      request,
      ctx,
    );
    return runTask(request, ctx);
  };
}

/** ECS clusters as another service makes them (EKS: the cluster whose tasks are its pods). */
export function ecsClusterLifecycle(store: Store) {
  const clusters = clusterHandlers(store);
  return {
    create: (name: string, ctx: RequestContext) =>
      clusters.createCluster({ clusterName: name }, ctx).then(() => undefined),
    delete: (name: string, ctx: RequestContext) =>
      clusters.deleteCluster({ cluster: name }, ctx).then(() => undefined),
  };
}

/**
 * Sets a service's desired count through UpdateService itself, so a scaling change takes the
 * path a user's does (validation, the PRIMARY deployment's count, a reconciler kick).
 */
export function serviceDesiredCountSetter(deps: {
  store: Store;
  kick: () => void;
  identity: Identity;
  clock: Clock;
  log: Logger;
  /** The auto scaling role's fence: a deposed leader's new desired count is never written. */
  fence?: Fence;
}): (cluster: string, service: string, desiredCount: number) => Promise<void> {
  const { updateService } = serviceHandlers(deps);
  return async (cluster, service, desiredCount) => {
    const ctx = internalContext(deps, "application-autoscaling");
    await updateService({ cluster, service, desiredCount }, ctx, deps.fence);
  };
}

export interface EcsDependencies {
  store: Store;
  /** The one way tasks start and stop (RunTask's, StopTask's). */
  tasks: TaskCommands;
  /** The task address space, whose cluster blocks DeleteCluster gives back. */
  addresses?: TaskAddressSpace;
  registryCredentials?: RegistryCredentialSource;
  /** Asks the service reconciler for a pass now (desired state changed). */
  kickServices?: () => void;
  /** Load balancers' target groups, for services with `loadBalancers`. */
  serviceTargets?: ServiceTargets;
  /** IAM's side of passing roles to tasks; without it roles are taken unchecked. */
  roles?: RoleGate;
}

export function createEcsService({
  store,
  tasks: commands,
  addresses,
  registryCredentials,
  kickServices,
  serviceTargets,
  roles,
}: EcsDependencies): AwsJsonService {
  const clusters = clusterHandlers(store, addresses);
  const settings = accountSettingHandlers(store);
  const definitions = taskDefinitionHandlers(store);
  const tags = tagHandlers(store);
  const capacity = capacityProviderHandlers(store);
  const tasks = taskHandlers(store, commands, registryCredentials ?? (() => []));
  const services = serviceHandlers({
    store,
    kick: kickServices ?? (() => undefined),
    ...(serviceTargets === undefined ? {} : { targets: serviceTargets }),
  });
  const protection = taskProtectionHandlers(store);
  return {
    targetPrefix: "AmazonEC2ContainerServiceV20141113",
    signingName: "ecs",
    model: loadServiceModel("ecs", ecsModelSupplement),
    resources: ecsResources,
    // ECS answers constraint violations with InvalidParameterException (it has no ValidationException).
    validationErrorCode: "InvalidParameterException",
    actions: actionTable<ecs.ECS>(
      settings,
      clusters,
      definitions,
      tasks,
      capacity,
      services,
      protection,
      tags,
      {
        registerTaskDefinition: async (input, ctx) => {
          if (roles !== undefined) await checkRegisteredRoles(roles, ctx, input);
          return definitions.registerTaskDefinition(input, ctx);
        },
        runTask: runTaskAsCaller(store, tasks, roles),
        createService: async (input, ctx) => {
          // ECS reports a role it cannot assume in the service's events, not here.
          if (roles !== undefined)
            await checkLaunchRoles(roles, store, ctx, input.taskDefinition, {}, false);
          return services.createService(input, ctx);
        },
        updateService: async (input, ctx) => {
          // A new definition hands its roles to the next tasks: passed as at CreateService.
          if (roles !== undefined && input.taskDefinition !== undefined)
            await checkLaunchRoles(roles, store, ctx, input.taskDefinition, {}, false);
          return services.updateService(input, ctx);
        },
      },
    ),
  };
}
