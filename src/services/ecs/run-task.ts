/**
 * Turning a RunTask request into task drafts: the task definition resolved, overrides checked
 * and merged, the ECS `Task` document as DescribeTasks will show it, and the assignment the
 * agent will run.
 */
import { roleArnOf } from "./task-roles.js";
import type {
  Container,
  ContainerDefinition,
  ContainerOverride,
  RunTaskRequest,
  Task,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import { randomUUID } from "node:crypto";
import { arn, newHexId, type Identity } from "../../core/index.js";
import { precreatedAttachment, type TaskDraft } from "../../control/index.js";
import type { ContainerAssignment, TaskAssignment } from "../../protocol/index.js";
import type { SandboxRuntime } from "./sandbox-runtime.js";
import { clientException, invalidParameter } from "./errors.js";
import { checkEphemeralStorage, checkFargateSize, parseCpu, parseMemory } from "./fargate.js";
import { checkRunsOnFargate } from "./fargate-containers.js";
import { mountPointsOf } from "./volumes.js";

const DEFAULT_STOP_TIMEOUT = 30;

export const taskArnOf = (identity: Identity, cluster: string, id: string): string =>
  arn(identity, "ecs", `task/${cluster}/${id}`);

/** The task's CPU and memory: the definition's, or the overrides' when they are a Fargate size. */
function taskSize(
  definition: TaskDefinition,
  request: RunTaskRequest,
): { cpu: number; memory: number } {
  const cpuText = request.overrides?.cpu ?? definition.cpu;
  const memoryText = request.overrides?.memory ?? definition.memory;
  const cpu = cpuText === undefined ? undefined : parseCpu(cpuText);
  const memory = memoryText === undefined ? undefined : parseMemory(memoryText);
  const size = checkFargateSize(cpu, memory);
  if (!size.ok)
    throw clientException(
      size.problem === "cpu"
        ? "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
        : "No Fargate configuration exists for given values.",
    );
  return { cpu: size.cpu, memory: size.memory };
}

function checkOverrides(definition: TaskDefinition, overrides: ContainerOverride[]): void {
  const names = new Set((definition.containerDefinitions ?? []).map((c) => c.name));
  for (const override of overrides) {
    if (override.name === undefined || !names.has(override.name))
      throw invalidParameter(
        `Override for container named ${override.name ?? ""} is not a container in the TaskDefinition.`,
      );
  }
}

function assignContainer(
  container: ContainerDefinition,
  override: ContainerOverride | undefined,
  taskId: string,
  byName: ReadonlyMap<string, ContainerDefinition>,
): ContainerAssignment {
  const environment = new Map(
    (container.environment ?? []).map((e) => [e.name ?? "", e.value ?? ""]),
  );
  for (const e of override?.environment ?? []) environment.set(e.name ?? "", e.value ?? "");
  const capabilities = container.linuxParameters?.capabilities;
  return {
    name: container.name ?? "",
    image: container.image ?? "",
    essential: container.essential !== false,
    command: override?.command ?? container.command,
    entryPoint: container.entryPoint,
    environment: [...environment].map(([name, value]) => ({ name, value })),
    workingDirectory: container.workingDirectory,
    user: container.user,
    cpu: override?.cpu ?? container.cpu ?? 0,
    memory: override?.memory ?? container.memory,
    memoryReservation: override?.memoryReservation ?? container.memoryReservation,
    readonlyRootFilesystem: container.readonlyRootFilesystem ?? false,
    initProcessEnabled: container.linuxParameters?.initProcessEnabled ?? false,
    capabilitiesAdd: capabilities?.add ?? [],
    capabilitiesDrop: capabilities?.drop ?? [],
    ulimits: (container.ulimits ?? []).map((u) => ({
      name: u.name ?? "",
      softLimit: u.softLimit ?? 0,
      hardLimit: u.hardLimit ?? 0,
    })),
    dockerLabels: container.dockerLabels ?? {},
    dependsOn: (container.dependsOn ?? []).map((d) => ({
      containerName: d.containerName ?? "",
      condition: d.condition ?? "START",
    })),
    stopTimeout: Math.min(container.stopTimeout ?? DEFAULT_STOP_TIMEOUT, 120),
    mountPoints: mountPointsOf(container, byName),
    ...awslogsOf(container, taskId),
    ...healthCheckOf(container),
    // References only: the host asks for the values when it starts the task.
    ...((container.secrets ?? []).length === 0
      ? {}
      : {
          secrets: (container.secrets ?? []).map((x) => ({
            name: x.name ?? "",
            valueFrom: x.valueFrom ?? "",
          })),
        }),
    ...(container.repositoryCredentials?.credentialsParameter === undefined
      ? {}
      : {
          repositoryCredentials: {
            credentialsParameter: container.repositoryCredentials.credentialsParameter,
          },
        }),
  };
}

/** ECS's defaults: every 30 s, 5 s to answer, 3 failures in a row, no start period. */
function healthCheckOf(container: ContainerDefinition): Pick<ContainerAssignment, "healthCheck"> {
  const check = container.healthCheck;
  if (check?.command === undefined || check.command.length === 0) return {};
  const [kind, ...rest] = check.command;
  if (kind === "NONE") return {};
  const command =
    kind === "CMD-SHELL"
      ? ["/bin/sh", "-c", rest.join(" ")]
      : kind === "CMD"
        ? rest
        : check.command;
  return {
    healthCheck: {
      command,
      interval: check.interval ?? 30,
      timeout: check.timeout ?? 5,
      retries: check.retries ?? 3,
      startPeriod: check.startPeriod ?? 0,
    },
  };
}

/** Where the awslogs driver sends a container's output: stream PREFIX/CONTAINER/TASK_ID. */
function awslogsOf(
  container: ContainerDefinition,
  taskId: string,
): Pick<ContainerAssignment, "awslogs"> {
  const config = container.logConfiguration;
  if (config?.logDriver !== "awslogs") return {};
  const options = config.options ?? {};
  const prefix = options["awslogs-stream-prefix"];
  const name = container.name ?? "";
  return {
    awslogs: {
      group: options["awslogs-group"] ?? "",
      stream:
        prefix === undefined || prefix === "" ? `${name}/${taskId}` : `${prefix}/${name}/${taskId}`,
      createGroup: options["awslogs-create-group"] === "true",
    },
  };
}

export interface DraftContext {
  identity: Identity;
  /** Credentials the agent pulls with (Berth's own registry). */
  registryCredentials: TaskAssignment["registryCredentials"];
  /** The capacity provider of each task (from a strategy); FARGATE when absent. */
  capacityProviders?: string[];
  clusterName: string;
  clusterArn: string;
  now: Date;
  /** The OCI runtime the tags ask for (sandbox-runtime.ts); the host's default when absent. */
  runtime?: SandboxRuntime;
}

export function draftTasks(
  definition: TaskDefinition,
  request: RunTaskRequest,
  ctx: DraftContext,
): TaskDraft[] {
  if (definition.status !== "ACTIVE") throw clientException("TaskDefinition is inactive");
  const launchType = request.launchType ?? "FARGATE";
  // ECS also runs EC2 and EXTERNAL launch types on instances you manage; Berth is Fargate only.
  if (launchType !== "FARGATE")
    throw invalidParameter(
      `Berth runs the FARGATE launch type only; launchType ${launchType} is not supported.`,
    );
  checkRunsOnFargate(definition);
  const count = request.count ?? 1;
  if (count < 1 || count > 10) throw invalidParameter("count must be between 1 and 10.");
  if (request.startedBy !== undefined && request.startedBy.length > 128)
    throw invalidParameter("startedBy must be at most 128 characters.");
  const overrides = request.overrides?.containerOverrides ?? [];
  checkOverrides(definition, overrides);
  const { cpu, memory } = taskSize(definition, request);
  checkEphemeralStorage(request.overrides?.ephemeralStorage?.sizeInGiB);
  const ephemeralStorageGiB =
    request.overrides?.ephemeralStorage?.sizeInGiB ?? definition.ephemeralStorage?.sizeInGiB ?? 20;
  const family = definition.family ?? "";
  const group = request.group ?? `family:${family}`;
  const containers = definition.containerDefinitions ?? [];
  const byName = new Map(containers.map((c) => [c.name ?? "", c]));
  const taskRole = request.overrides?.taskRoleArn ?? definition.taskRoleArn;
  const taskRoleArn =
    taskRole === undefined || taskRole === "" ? undefined : roleArnOf(ctx.identity, taskRole);
  const executionRole = request.overrides?.executionRoleArn ?? definition.executionRoleArn;
  const executionRoleArn =
    executionRole === undefined || executionRole === ""
      ? undefined
      : roleArnOf(ctx.identity, executionRole);

  return Array.from({ length: count }, (_, index): TaskDraft => {
    const id = newHexId();
    const taskArn = taskArnOf(ctx.identity, ctx.clusterName, id);
    const assigned = containers.map((c) =>
      assignContainer(
        c,
        overrides.find((o) => o.name === c.name),
        id,
        byName,
      ),
    );
    const taskContainers: Container[] = assigned.map((c) => ({
      containerArn: arn(ctx.identity, "ecs", `container/${ctx.clusterName}/${id}/${randomUUID()}`),
      taskArn,
      name: c.name,
      image: c.image,
      lastStatus: "PENDING",
      networkInterfaces: [],
      healthStatus: "UNKNOWN",
      cpu: String(c.cpu),
      ...(c.memory === undefined ? {} : { memory: String(c.memory) }),
      ...(c.memoryReservation === undefined
        ? {}
        : { memoryReservation: String(c.memoryReservation) }),
    }));
    const task: Task = {
      taskArn,
      clusterArn: ctx.clusterArn,
      taskDefinitionArn: definition.taskDefinitionArn,
      overrides: {
        containerOverrides: overrides,
        inferenceAcceleratorOverrides: [],
        ...pickTaskOverrides(request),
      },
      lastStatus: "PROVISIONING",
      desiredStatus: "RUNNING",
      cpu: String(cpu),
      memory: String(memory),
      containers: taskContainers,
      ...(request.startedBy === undefined ? {} : { startedBy: request.startedBy }),
      version: 1,
      createdAt: ctx.now,
      group,
      launchType: "FARGATE",
      platformVersion:
        request.platformVersion === undefined || request.platformVersion === "LATEST"
          ? "1.4.0"
          : request.platformVersion,
      platformFamily: "Linux",
      capacityProviderName: ctx.capacityProviders?.[index] ?? "FARGATE",
      attachments: [precreatedAttachment(ctx.clusterArn, request.networkConfiguration)],
      healthStatus: "UNKNOWN",
      ephemeralStorage: { sizeInGiB: ephemeralStorageGiB },
      enableExecuteCommand: request.enableExecuteCommand ?? false,
    };
    const assignment: TaskAssignment = {
      taskArn,
      ...(ctx.runtime === undefined ? {} : { runtime: ctx.runtime }),
      taskId: id,
      clusterArn: ctx.clusterArn,
      family,
      ...(definition.revision === undefined ? {} : { revision: definition.revision }),
      cpu,
      memory,
      ephemeralStorageGiB,
      ...(definition.pidMode === "task" ? { pidMode: "task" as const } : {}),
      desiredStatus: "RUNNING",
      containers: assigned.map((c, i) => ({ ...c, containerArn: taskContainers[i]?.containerArn })),
      // With an execution role, pulls are that role's (asked for at start); without one, the
      // platform's password (Fargate would fail the pull of a private ECR image instead).
      registryCredentials: executionRoleArn === undefined ? ctx.registryCredentials : [],
      ...(executionRoleArn === undefined ? {} : { executionRoleArn }),
      region: ctx.identity.region,
      ...(taskRoleArn === undefined
        ? {}
        : { taskRole: { roleArn: taskRoleArn, credentialsId: randomUUID() } }),
    };
    return {
      row: {
        arn: taskArn,
        id,
        cluster_name: ctx.clusterName,
        family,
        task_definition_arn: definition.taskDefinitionArn ?? "",
        last_status: "PROVISIONING",
        desired_status: "RUNNING",
        cpu,
        memory,
        started_by: request.startedBy ?? null,
        group_name: group,
        created_at: ctx.now.getTime(),
        stopped_at: null,
      },
      task,
      assignment,
    };
  });
}

function pickTaskOverrides(request: RunTaskRequest): Partial<NonNullable<Task["overrides"]>> {
  const o = request.overrides;
  if (o === undefined) return {};
  return {
    ...(o.cpu === undefined ? {} : { cpu: o.cpu }),
    ...(o.memory === undefined ? {} : { memory: o.memory }),
    ...(o.ephemeralStorage === undefined ? {} : { ephemeralStorage: o.ephemeralStorage }),
    ...(o.taskRoleArn === undefined ? {} : { taskRoleArn: o.taskRoleArn }),
    ...(o.executionRoleArn === undefined ? {} : { executionRoleArn: o.executionRoleArn }),
  };
}
