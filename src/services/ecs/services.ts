/**
 * ECS services: CreateService, UpdateService, DeleteService, DescribeServices, ListServices,
 * and the launcher the reconciler (src/control) uses to draft and start a service's tasks.
 * The API writes desired state (count, task definition, deployments); the reconciler does the rest.
 */
import type {
  ECS,
  DeleteServiceRequest,
  DeleteServiceResponse,
  Deployment,
  DeploymentConfiguration,
  Failure,
  Service,
  UpdateServiceRequest,
  UpdateServiceResponse,
} from "@aws-sdk/client-ecs";
import { AwsError, page, type RequestContext, type Handlers } from "../../aws/index.js";
import { arn, BerthError, parseArn, type Clock, type Identity } from "../../core/index.js";
import {
  newDeploymentId,
  readService,
  writeService,
  type ServiceLauncher,
  type ServiceTargets,
  type StoredService,
  type TaskCommands,
  type Fence,
} from "../../control/index.js";
import { dropTags, readTags, type ServiceTable, type Store } from "../../store/index.js";
import { checkStrategy, resolveStrategy, splitStrategy } from "./capacity-providers.js";
import { findActiveCluster } from "./clusters.js";
import { checkLoadBalancers } from "./load-balancers.js";
import { clientException, invalidParameter, serviceNotFound } from "./errors.js";
import { checkRunsOnFargate } from "./fargate-containers.js";
import { draftTasks } from "./run-task.js";
import { sandboxRuntime } from "./sandbox-runtime.js";
import { tagEntries, writeTags } from "./tags.js";
import { findTaskDefinition, toTaskDefinition } from "./task-definitions.js";
import type { RegistryCredentialSource } from "./tasks.js";

const NAME = /^[a-zA-Z0-9_-]{1,255}$/;

const serviceNotActive = (): AwsError => new AwsError("ServiceNotActiveException");

export const serviceArnOf = (identity: Identity, cluster: string, name: string): string =>
  arn(identity, "ecs", `service/${cluster}/${name}`);

function serviceNameOf(identifier: string): string {
  const parsed = parseArn(identifier);
  if (parsed === undefined) return identifier;
  return parsed.resource.split("/").pop() ?? identifier;
}

function deploymentConfiguration(
  given: DeploymentConfiguration | undefined,
  base?: DeploymentConfiguration,
): DeploymentConfiguration {
  const merged: DeploymentConfiguration = {
    deploymentCircuitBreaker: given?.deploymentCircuitBreaker ??
      base?.deploymentCircuitBreaker ?? { enable: false, rollback: false },
    maximumPercent: given?.maximumPercent ?? base?.maximumPercent ?? 200,
    minimumHealthyPercent: given?.minimumHealthyPercent ?? base?.minimumHealthyPercent ?? 100,
  };
  if ((merged.maximumPercent ?? 0) < 100)
    throw invalidParameter(
      "The maximumPercent value must be at least 100 for services using the rolling update deployment type.",
    );
  if ((merged.minimumHealthyPercent ?? 0) > (merged.maximumPercent ?? 0))
    throw invalidParameter(
      "The minimumHealthyPercent value must be less than or equal to maximumPercent.",
    );
  return merged;
}

async function fargateTaskDefinition(store: Store, identifier: string): Promise<string> {
  const row = await findTaskDefinition(store, identifier);
  if (row === undefined) throw clientException("TaskDefinition not found.");
  if (row.status !== "ACTIVE") throw clientException("TaskDefinition is inactive");
  checkRunsOnFargate(toTaskDefinition(row));
  return row.arn;
}

function newDeployment(service: Service, taskDefinition: string, now: Date): Deployment {
  const id = newDeploymentId();
  return {
    id,
    status: "PRIMARY",
    taskDefinition,
    desiredCount: service.desiredCount ?? 0,
    pendingCount: 0,
    runningCount: 0,
    failedTasks: 0,
    createdAt: now,
    updatedAt: now,
    launchType: "FARGATE",
    platformVersion: "1.4.0",
    platformFamily: "Linux",
    ...(service.networkConfiguration === undefined
      ? {}
      : { networkConfiguration: service.networkConfiguration }),
    rolloutState: "IN_PROGRESS",
    rolloutStateReason: `ECS deployment ${id} in progress.`,
  };
}

/** The service's row changed between a handler's read and its write: read it again. */
class RowChanged extends BerthError {
  constructor() {
    super("ServiceChanged", "the service kept changing while this request was applied", {
      fault: "server",
    });
  }
}

export interface ServiceHandlerDeps {
  store: Store;
  /** Where the launcher's drafted tasks start, as RunTask's do. */
  tasks: TaskCommands;
  registryCredentials: RegistryCredentialSource;
  /** Asks the reconciler for a pass now. */
  kick: () => void;
  /** Load balancers' target groups, for `loadBalancers`. */
  targets?: ServiceTargets;
}

export function serviceHandlers({
  store,
  kick,
  targets,
}: Pick<ServiceHandlerDeps, "store" | "kick" | "targets">) {
  async function findService(
    cluster: string,
    identifier: string,
  ): Promise<ServiceTable | undefined> {
    return store
      .selectFrom("services")
      .selectAll()
      .where("cluster_name", "=", cluster)
      .where("name", "=", serviceNameOf(identifier))
      .executeTakeFirst();
  }

  /** The service as DescribeServices shows it: counts computed from its tasks now. */
  async function present(row: ServiceTable, includeTags: boolean): Promise<Service> {
    const { service } = readService(row);
    const tasks = await store
      .selectFrom("tasks")
      .select(["last_status", "desired_status"])
      .where("cluster_name", "=", row.cluster_name)
      .where("group_name", "=", `service:${row.name}`)
      .where("last_status", "!=", "STOPPED")
      .execute();
    service.runningCount = tasks.filter((t) => t.last_status === "RUNNING").length;
    service.pendingCount = tasks.filter((t) => t.last_status !== "RUNNING").length;
    if (includeTags) service.tags = await readTags(store, row.arn);
    else delete service.tags;
    return service;
  }

  /**
   * Writes `stored` over `row` only if nobody changed the row since it was read (another
   * server's UpdateService, the reconciler's pass): otherwise throws `RowChanged` and the caller
   * starts again from the fresh row, so no accepted change is overwritten by a stale copy.
   */
  async function save(
    row: ServiceTable,
    stored: StoredService,
    now: Date,
    fence?: Fence,
  ): Promise<ServiceTable> {
    const updated: ServiceTable = {
      ...row,
      desired_count: stored.service.desiredCount ?? row.desired_count,
      status: stored.service.status ?? row.status,
      document: writeService(stored),
      // Always moves, so the reconciler knows desired state changed under it.
      updated_at: Math.max(now.getTime(), row.updated_at + 1),
    };
    const result = await store.transaction().execute(async (trx) => {
      await fence?.(trx);
      return (
        trx
          .updateTable("services")
          .set(updated)
          .where("arn", "=", row.arn)
          .where("updated_at", "=", row.updated_at)
          // The reconciler writes counts and events without moving updated_at.
          .where("document", "=", row.document)
          .executeTakeFirst()
      );
    });
    if (result.numUpdatedRows === 0n) throw new RowChanged();
    return updated;
  }

  /** Runs a read-modify-save of one service again while its row changed underneath. */
  async function retryOnChange<T>(attempt: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof RowChanged) || tries >= 20) throw error;
      }
    }
  }

  async function updateOnce(
    input: UpdateServiceRequest,
    ctx: RequestContext,
    fence: Fence | undefined,
  ): Promise<UpdateServiceResponse> {
    const cluster = await findActiveCluster(store, input.cluster);
    const row = await findService(cluster.name, input.service ?? "");
    if (row === undefined) throw serviceNotFound();
    if (row.status !== "ACTIVE") throw serviceNotActive();
    const now = ctx.clock.now();
    const stored = readService(row);
    const { service } = stored;
    if (input.desiredCount !== undefined) {
      if (input.desiredCount < 0) throw invalidParameter("desiredCount can not be negative.");
      service.desiredCount = input.desiredCount;
    }
    if (input.deploymentConfiguration !== undefined)
      service.deploymentConfiguration = deploymentConfiguration(
        input.deploymentConfiguration,
        service.deploymentConfiguration,
      );
    if (input.healthCheckGracePeriodSeconds !== undefined)
      service.healthCheckGracePeriodSeconds = input.healthCheckGracePeriodSeconds;
    if (input.capacityProviderStrategy !== undefined) {
      checkStrategy(input.capacityProviderStrategy);
      service.capacityProviderStrategy = input.capacityProviderStrategy;
    }
    let redeploy = input.forceNewDeployment === true;
    if (input.networkConfiguration !== undefined) {
      service.networkConfiguration = input.networkConfiguration;
      redeploy = true;
    }
    if (input.taskDefinition !== undefined) {
      const next = await fargateTaskDefinition(store, input.taskDefinition);
      if (next !== service.taskDefinition) redeploy = true;
      service.taskDefinition = next;
    }
    if (redeploy) {
      for (const deployment of service.deployments ?? [])
        if (deployment.status === "PRIMARY") deployment.status = "ACTIVE";
      service.deployments = [
        newDeployment(service, service.taskDefinition ?? "", now),
        ...(service.deployments ?? []),
      ];
      // A new deployment starts afresh: earlier failures no longer hold launches back.
      stored.extras.consecutiveFailures = 0;
      stored.extras.backoffUntil = undefined;
    }
    for (const deployment of service.deployments ?? []) {
      if (deployment.status === "PRIMARY") {
        deployment.desiredCount = service.desiredCount;
        deployment.updatedAt = now;
      }
    }
    const saved = await save(row, stored, now, fence);
    kick();
    return { service: await present(saved, false) };
  }

  async function deleteOnce(
    input: DeleteServiceRequest,
    ctx: RequestContext,
  ): Promise<DeleteServiceResponse> {
    const cluster = await findActiveCluster(store, input.cluster);
    const row = await findService(cluster.name, input.service ?? "");
    if (row === undefined || row.status === "INACTIVE") throw serviceNotFound();
    if (row.status === "DRAINING") return { service: await present(row, false) };
    if (row.desired_count > 0 && input.force !== true)
      throw invalidParameter("The service cannot be stopped while it is scaled above 0.");
    const stored = readService(row);
    stored.service.status = "DRAINING";
    stored.service.desiredCount = 0;
    const saved = await save(row, stored, ctx.clock.now());
    kick();
    return { service: await present(saved, false) };
  }

  return {
    createService: async (input, ctx) => {
      const cluster = await findActiveCluster(store, input.cluster);
      const name = input.serviceName ?? "";
      if (!NAME.test(name))
        throw invalidParameter(
          "Service name can only contain letters, numbers, hyphens and underscores, up to 255 characters.",
        );
      if ((input.launchType ?? "FARGATE") !== "FARGATE")
        // ECS also runs EC2 and EXTERNAL services on instances you manage; Berth is Fargate only.
        throw invalidParameter(
          `Berth runs the FARGATE launch type only; launchType ${input.launchType ?? ""} is not supported.`,
        );
      if ((input.schedulingStrategy ?? "REPLICA") !== "REPLICA")
        throw invalidParameter("Fargate does not support the DAEMON scheduling strategy.");
      if ((input.deploymentController?.type ?? "ECS") !== "ECS")
        throw invalidParameter(
          "Berth supports the ECS (rolling update) deployment controller only.",
        );
      if (input.taskDefinition === undefined)
        throw invalidParameter("TaskDefinition must be specified.");
      const desiredCount = input.desiredCount ?? 0;
      if (desiredCount < 0) throw invalidParameter("desiredCount can not be negative.");
      const existing = await findService(cluster.name, name);
      if (existing !== undefined && existing.status !== "INACTIVE")
        throw invalidParameter("Creation of service was not idempotent.");
      const taskDefinition = await fargateTaskDefinition(store, input.taskDefinition);
      const strategy = resolveStrategy(input, cluster.document);
      const now = ctx.clock.now();
      const serviceArn = serviceArnOf(ctx.identity, cluster.name, name);
      const service: Service = {
        serviceArn,
        serviceName: name,
        clusterArn: cluster.arn,
        loadBalancers: await checkLoadBalancers(
          store,
          targets,
          input.loadBalancers ?? [],
          taskDefinition,
        ),
        serviceRegistries: input.serviceRegistries ?? [],
        status: "ACTIVE",
        desiredCount,
        runningCount: 0,
        pendingCount: 0,
        launchType: "FARGATE",
        platformVersion: input.platformVersion ?? "LATEST",
        platformFamily: "Linux",
        taskDefinition,
        deploymentConfiguration: deploymentConfiguration(input.deploymentConfiguration),
        deployments: [],
        events: [],
        createdAt: now,
        placementConstraints: input.placementConstraints ?? [],
        placementStrategy: input.placementStrategy ?? [],
        ...(input.networkConfiguration === undefined
          ? {}
          : { networkConfiguration: input.networkConfiguration }),
        ...(input.healthCheckGracePeriodSeconds === undefined
          ? {}
          : { healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds }),
        ...(strategy.length === 0 ? {} : { capacityProviderStrategy: strategy }),
        schedulingStrategy: "REPLICA",
        deploymentController: { type: "ECS" },
        createdBy: `arn:aws:iam::${ctx.identity.accountId}:root`,
        enableECSManagedTags: input.enableECSManagedTags ?? false,
        propagateTags: input.propagateTags ?? "NONE",
        enableExecuteCommand: input.enableExecuteCommand ?? false,
      };
      service.deployments = [newDeployment(service, taskDefinition, now)];
      const row: ServiceTable = {
        arn: serviceArn,
        cluster_name: cluster.name,
        name,
        status: "ACTIVE",
        desired_count: desiredCount,
        document: writeService({ service, extras: {} }),
        created_at: now.getTime(),
        updated_at: now.getTime(),
      };
      await store.transaction().execute(async (trx) => {
        // A name whose service is INACTIVE may be used again.
        await trx.deleteFrom("services").where("arn", "=", serviceArn).execute();
        await dropTags(trx, [serviceArn]);
        await trx.insertInto("services").values(row).execute();
      });
      await writeTags(store, serviceArn, input.tags);
      kick();
      return { service: await present(row, true) };
    },

    updateService: (
      input: UpdateServiceRequest,
      ctx: RequestContext,
      fence?: Fence,
    ): Promise<UpdateServiceResponse> => retryOnChange(() => updateOnce(input, ctx, fence)),

    deleteService: (input, ctx) => retryOnChange(() => deleteOnce(input, ctx)),

    describeServices: async (input, ctx) => {
      const cluster = await findActiveCluster(store, input.cluster);
      const identifiers = input.services ?? [];
      if (identifiers.length > 10) throw invalidParameter("services can have at most 10 items.");
      const services: Service[] = [];
      const failures: Failure[] = [];
      for (const identifier of identifiers) {
        const row = await findService(cluster.name, identifier);
        if (row === undefined) {
          failures.push({
            arn: serviceArnOf(ctx.identity, cluster.name, serviceNameOf(identifier)),
            reason: "MISSING",
          });
          continue;
        }
        services.push(await present(row, input.include?.includes("TAGS") ?? false));
      }
      return { services, failures };
    },

    listServices: async (input) => {
      const cluster = await findActiveCluster(store, input.cluster);
      if (
        (input.launchType ?? "FARGATE") !== "FARGATE" ||
        (input.schedulingStrategy ?? "REPLICA") !== "REPLICA"
      )
        return { serviceArns: [] };
      const rows = await store
        .selectFrom("services")
        .select("arn")
        .where("cluster_name", "=", cluster.name)
        .where("status", "!=", "INACTIVE")
        .orderBy("created_at")
        .execute();
      // ListServices pages 10 at a time by default, up to 100.
      const { items, nextToken } = page(
        rows,
        { ...input, maxResults: input.maxResults ?? 10 },
        100,
      );
      return { serviceArns: items.map((row) => row.arn), nextToken };
    },
  } satisfies Handlers<ECS>;
}

/** How the reconciler starts a service's tasks: drafted and started as RunTask's are. */
export function serviceLauncher(
  deps: ServiceHandlerDeps & { identity: Identity; clock: Clock },
): ServiceLauncher {
  const { store, tasks, registryCredentials, identity, clock } = deps;
  return {
    async launch(service: Service, deployment: Deployment, count: number, fence?: Fence) {
      const definitionRow = await findTaskDefinition(store, deployment.taskDefinition ?? "");
      if (definitionRow === undefined)
        return { taskArns: [], failures: ["TaskDefinition not found"] };
      const clusterName = (service.clusterArn ?? "").split("/").pop() ?? "default";
      const tags = [
        ...(service.propagateTags === "SERVICE"
          ? await readTags(store, service.serviceArn ?? "")
          : []),
        ...(service.propagateTags === "TASK_DEFINITION"
          ? await readTags(store, definitionRow.arn)
          : []),
      ];
      const taskArns: string[] = [];
      const failures: string[] = [];
      const strategy = service.capacityProviderStrategy ?? [];
      // Each new task's provider, given what the service's tasks already run on.
      const existing = new Map<string, number>();
      const active = await store
        .selectFrom("tasks")
        .select("document")
        .where("cluster_name", "=", clusterName)
        .where("group_name", "=", `service:${service.serviceName ?? ""}`)
        .where("last_status", "!=", "STOPPED")
        .where("desired_status", "!=", "STOPPED")
        .execute();
      for (const row of active) {
        const name =
          (JSON.parse(row.document) as { capacityProviderName?: string }).capacityProviderName ??
          "FARGATE";
        existing.set(name, (existing.get(name) ?? 0) + 1);
      }
      const providers =
        strategy.length > 0
          ? splitStrategy(strategy, count, existing)
          : Array<string>(count).fill("FARGATE");
      const runtime = await sandboxRuntime(store, service.clusterArn ?? "", definitionRow.arn);
      for (const chosen of providers) {
        // Where the chosen provider has no room, another the strategy allows may (Spot -> on-demand).
        const candidates = [
          chosen,
          ...strategy.map((item) => item.capacityProvider ?? "").filter((name) => name !== chosen),
        ];
        let started = false;
        let reason = "";
        for (const capacityProvider of candidates) {
          const drafts = draftTasks(
            // A deployment keeps running the revision it started with, even if deregistered since.
            { ...toTaskDefinition(definitionRow), status: "ACTIVE" },
            {
              taskDefinition: definitionRow.arn,
              count: 1,
              startedBy: deployment.id,
              group: `service:${service.serviceName ?? ""}`,
              enableExecuteCommand: service.enableExecuteCommand ?? false,
              ...(service.networkConfiguration === undefined
                ? {}
                : { networkConfiguration: service.networkConfiguration }),
            },
            {
              identity,
              clusterName,
              clusterArn: service.clusterArn ?? "",
              now: clock.now(),
              registryCredentials: registryCredentials(),
              capacityProviders: [capacityProvider],
              ...(runtime === undefined ? {} : { runtime }),
            },
          );
          const placed = await tasks.startTasks({ drafts, tags: tagEntries(tags), fence });
          const task = placed.tasks[0];
          if (task === undefined) {
            reason = placed.failures[0]?.reason ?? "RESOURCE";
            continue;
          }
          taskArns.push(task.taskArn ?? "");
          started = true;
          break;
        }
        if (!started) failures.push(reason);
      }
      return { taskArns, failures };
    },
  };
}
