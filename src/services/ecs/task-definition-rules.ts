/**
 * The semantic rules ECS applies to RegisterTaskDefinition beyond what the model checks, with
 * ECS's own error texts. `normalizeTaskDefinition` also fills in what ECS fills in (defaults,
 * CPU and memory as plain units) so that Describe returns what ECS would.
 */
import type {
  ContainerDefinition,
  PortMapping,
  RegisterTaskDefinitionRequest,
} from "@aws-sdk/client-ecs";
import { checkEphemeralStorage, checkFargateSize, parseCpu, parseMemory } from "./fargate.js";
import { clientException } from "./errors.js";
import { checkFargateContainers, fargateContainerProblem } from "./fargate-containers.js";
import { checkVolumes } from "./volumes.js";

const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,255}$/;

export interface NormalizedSize {
  cpu?: string;
  memory?: string;
  /** Whether the definition can run on Fargate (it goes into `compatibilities`). */
  fargateCompatible: boolean;
}

function checkFamily(family: string): void {
  if (family.trim() === "") throw clientException("Family can not be blank.");
  if (!NAME_PATTERN.test(family)) throw clientException("Family contains invalid characters.");
}

function checkContainers(containers: ContainerDefinition[]): void {
  if (containers.length === 0) throw clientException("Container list cannot be empty.");
  const names = new Set<string>();
  for (const container of containers) {
    if (container.name === undefined || container.name === "")
      throw clientException("Container.name should not be null or empty.");
    if (!NAME_PATTERN.test(container.name))
      throw clientException("Container.name contains invalid characters.");
    if (container.image === undefined || container.image.trim() === "")
      throw clientException("Container.image should not be null or empty.");
    if (names.has(container.name))
      throw clientException("Container names must be unique within a Task Definition.");
    names.add(container.name);
  }
  if (!containers.some((c) => c.essential !== false))
    throw clientException("Task definition doesn't have any essential container.");
  checkDependencies(containers);
}

function checkDependencies(containers: ContainerDefinition[]): void {
  const byName = new Map(containers.map((c) => [c.name as string, c]));
  for (const container of containers) {
    for (const dependency of container.dependsOn ?? []) {
      const target = byName.get(dependency.containerName ?? "");
      // The " + " is in ECS's own text.
      if (target === undefined)
        throw clientException(
          `Cannot depend on container + '${dependency.containerName ?? ""}' because it does not exist`,
        );
      if (dependency.condition === "HEALTHY" && target.healthCheck === undefined)
        throw clientException(
          `Container '${container.name ?? ""}' depends on '${target.name ?? ""}' being HEALTHY, but '${target.name ?? ""}' has no health check.`,
        );
      if (
        (dependency.condition === "SUCCESS" || dependency.condition === "COMPLETE") &&
        target.essential !== false
      )
        throw clientException(
          "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
        );
    }
  }
  // Depth-first search for a cycle. ECS's text for a dependsOn cycle is not documented; this
  // follows its text for a cycle in `links` ("Container links should not have a cycle").
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string): void => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting")
      throw clientException("Container dependsOn should not have a cycle");
    state.set(name, "visiting");
    for (const dependency of byName.get(name)?.dependsOn ?? [])
      visit(dependency.containerName ?? "");
    state.set(name, "done");
  };
  for (const name of byName.keys()) visit(name);
}

function checkPortMappings(container: ContainerDefinition, networkMode: string): void {
  for (const mapping of container.portMappings ?? []) {
    const port = mapping.containerPort;
    if (port !== undefined && (port < 1 || port > 65535))
      throw clientException(
        `Invalid 'containerPort' setting for container '${container.name ?? ""}'.`,
      );
    if (networkMode === "awsvpc" && mapping.hostPort !== undefined && mapping.hostPort !== port)
      throw clientException(
        "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
      );
  }
}

function checkResources(
  containers: ContainerDefinition[],
  taskCpu: number | undefined,
  taskMemory: number | undefined,
): void {
  for (const container of containers) {
    if (taskMemory !== undefined && container.memory !== undefined && container.memory > taskMemory)
      throw clientException(
        `The 'memory' setting for container '${container.name ?? ""}' is greater than for the task.`,
      );
    if (
      container.memory !== undefined &&
      container.memoryReservation !== undefined &&
      container.memoryReservation > container.memory
    )
      throw clientException(
        `Invalid setting for container '${container.name ?? ""}'. 'memoryReservation' must be less than or equal to 'memory'.`,
      );
  }
  const sumCpu = containers.reduce((sum, c) => sum + (c.cpu ?? 0), 0);
  if (taskCpu !== undefined && sumCpu > taskCpu)
    throw clientException(
      "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
    );
  const sumReservation = containers.reduce((sum, c) => sum + (c.memoryReservation ?? 0), 0);
  if (taskMemory !== undefined && sumReservation > taskMemory)
    throw clientException(
      "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.",
    );
}

const INVALID_CPU =
  "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";

const hasExecutionRole = (request: RegisterTaskDefinitionRequest): boolean =>
  request.executionRoleArn !== undefined && request.executionRoleArn !== "";

/**
 * What only the execution role can fetch needs one, with ECS's texts: `secrets` (an empty list
 * too, as ECS answers it) and `repositoryCredentials`.
 */
function checkExecutionRoleNeeded(
  request: RegisterTaskDefinitionRequest,
  containers: ContainerDefinition[],
): void {
  if (hasExecutionRole(request)) return;
  if (containers.some((c) => c.secrets !== undefined))
    throw clientException(
      "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
    );
  if (containers.some((c) => c.repositoryCredentials !== undefined))
    throw clientException(
      "Private repository authentication requires that the task definition specify a value for executionRoleArn.",
    );
}

/** Throws the ClientException ECS would; returns the task's size in plain units. */
export function checkTaskDefinition(request: RegisterTaskDefinitionRequest): NormalizedSize {
  checkFamily(request.family ?? "");
  const containers = request.containerDefinitions ?? [];
  checkContainers(containers);
  const fargate = request.requiresCompatibilities?.includes("FARGATE") ?? false;
  const networkMode = request.networkMode ?? (fargate ? "awsvpc" : "bridge");

  const cpu = request.cpu === undefined ? undefined : parseCpu(request.cpu);
  const memory = request.memory === undefined ? undefined : parseMemory(request.memory);
  if (request.cpu !== undefined && cpu === undefined) throw clientException(INVALID_CPU);
  if (request.memory !== undefined && memory === undefined)
    throw clientException("Invalid 'memory' setting for task.");

  const size = checkFargateSize(cpu, memory);
  if (fargate) {
    if (request.networkMode !== undefined && request.networkMode !== "awsvpc")
      // ECS's text, curly quotes included.
      throw clientException("Fargate only supports network mode \u2018awsvpc\u2019.");
    if (request.cpu === undefined)
      throw clientException("Fargate requires that 'cpu' be defined at the task level.");
    if (request.memory === undefined)
      throw clientException("Fargate requires that 'memory' be defined at the task level.");
    if (!size.ok)
      throw clientException(
        size.problem === "cpu" ? INVALID_CPU : "No Fargate configuration exists for given values.",
      );
    if (request.ipcMode !== undefined)
      throw clientException("Tasks using the Fargate launch type do not support ipcMode.");
    if (request.pidMode === "host")
      throw clientException(
        "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.",
      );
    checkFargateContainers(containers);
    const os = request.runtimePlatform?.operatingSystemFamily;
    // Fargate also runs Windows Server; Berth's hosts run Linux containers only.
    if (os !== undefined && os !== "LINUX")
      throw clientException(
        `Berth runs Linux containers only; operatingSystemFamily '${os}' is not supported.`,
      );
  }
  checkEphemeralStorage(request.ephemeralStorage?.sizeInGiB);
  checkExecutionRoleNeeded(request, containers);
  const volumesOnFargate = checkVolumes(request.volumes ?? [], containers, fargate);
  for (const container of containers) {
    checkPortMappings(container, networkMode);
    const health = container.healthCheck;
    if (health !== undefined) {
      const bounds: Array<[string, number | undefined, number, number]> = [
        ["interval", health.interval, 5, 300],
        ["timeout", health.timeout, 2, 60],
        ["retries", health.retries, 1, 10],
        ["startPeriod", health.startPeriod, 0, 300],
      ];
      for (const [name, value, min, max] of bounds)
        if (value !== undefined && (value < min || value > max))
          throw clientException(
            `Invalid healthCheck ${name} for container '${container.name ?? ""}': it must be from ${min} to ${max}.`,
          );
      const kind = health.command?.[0];
      if (kind !== "CMD" && kind !== "CMD-SHELL" && kind !== "NONE")
        throw clientException(
          `The healthCheck command of container '${container.name ?? ""}' must start with CMD or CMD-SHELL.`,
        );
    }
    const logging = container.logConfiguration;
    if (logging?.logDriver === "awslogs") {
      const missing = ["awslogs-region", "awslogs-group"].filter((key) => !logging.options?.[key]);
      if (missing.length > 0)
        throw clientException(`Log driver awslogs requires options: ${missing.join(", ")}`);
      // Fargate ships awslogs as the execution role (log-access.ts), so it needs one.
      if (fargate && !hasExecutionRole(request))
        throw clientException(
          "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
        );
    } else if (fargate && logging?.logDriver !== undefined)
      // Fargate also takes splunk and awsfirelens; Berth ships only to its own Logs. Any other
      // driver (json-file, syslog ...) registers as EC2-only, and RunTask refuses it.
      throw clientException(
        `Berth supports the awslogs log driver only, not ${logging.logDriver}.`,
      );
    if (networkMode === "awsvpc" && container.hostname !== undefined)
      throw clientException("hostname is not supported on container when networkMode=awsvpc.");
  }
  checkResources(containers, cpu, memory);
  return {
    ...(cpu === undefined ? {} : { cpu: String(cpu) }),
    ...(memory === undefined ? {} : { memory: String(memory) }),
    fargateCompatible:
      networkMode === "awsvpc" &&
      size.ok &&
      request.ipcMode === undefined &&
      request.pidMode !== "host" &&
      containers.every((c) => (c.logConfiguration?.logDriver ?? "awslogs") === "awslogs") &&
      // The rule above, for a definition that does not ask for FARGATE: it registers EC2-only.
      (hasExecutionRole(request) ||
        !containers.some((c) => c.logConfiguration?.logDriver === "awslogs")) &&
      volumesOnFargate &&
      containers.every((c) => fargateContainerProblem(c) === undefined),
  };
}

/** What ECS fills into each container definition when it registers one. */
export function normalizeContainer(
  container: ContainerDefinition,
  networkMode: string,
): ContainerDefinition {
  const portMappings: PortMapping[] = (container.portMappings ?? []).map((mapping) => ({
    ...mapping,
    ...(networkMode === "awsvpc" && mapping.containerPort !== undefined
      ? { hostPort: mapping.containerPort }
      : {}),
    protocol: mapping.protocol ?? "tcp",
  }));
  return {
    ...container,
    cpu: container.cpu ?? 0,
    portMappings,
    essential: container.essential ?? true,
    environment: container.environment ?? [],
    mountPoints: container.mountPoints ?? [],
    volumesFrom: container.volumesFrom ?? [],
  };
}
