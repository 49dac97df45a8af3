/**
 * What Fargate refuses in a container definition: the EC2-only parameters that would hand a
 * task the host (privileged, host devices, capabilities beyond SYS_PTRACE) or the host's
 * memory tuning. One rule set for every path a definition reaches a host by —
 * RegisterTaskDefinition with requiresCompatibilities FARGATE, RunTask and CreateService (the
 * launch type is always FARGATE on Berth) — so a definition stored before these rules, or one
 * registered as EC2-only, is still refused before it is placed.
 *
 * The list is the developer guide's "Task definition differences for Fargate". ECS's recorded
 * text for this family of refusals is "Fargate compatible task definitions do not support
 * sourcePath" (volumes.ts); the texts below follow that form, as ECS's own texts for the
 * container parameters are not recorded.
 */
import type { ContainerDefinition, TaskDefinition } from "@aws-sdk/client-ecs";
import { clientException, invalidParameter } from "./errors.js";

/** The one capability a Fargate task may add (the developer guide: "only ... CAP_SYS_PTRACE"). */
export const FARGATE_ADDABLE_CAPABILITIES: readonly string[] = ["SYS_PTRACE"];

const present = (value: unknown): boolean =>
  value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);

/** Container-level parameters Fargate does not support (the developer guide's list). */
const UNSUPPORTED_CONTAINER = [
  "links",
  "dnsServers",
  "dnsSearchDomains",
  "extraHosts",
  "dockerSecurityOptions",
] as const;

/** `linuxParameters` members Fargate does not support. */
const UNSUPPORTED_LINUX = [
  "devices",
  "sharedMemorySize",
  "maxSwap",
  "swappiness",
  "tmpfs",
] as const;

/** Why Fargate refuses this container, in ECS's form; undefined when it may run. */
export function fargateContainerProblem(container: ContainerDefinition): string | undefined {
  // `privileged: false` asks for nothing; ECS's answer to an explicit false is not recorded.
  if (container.privileged === true)
    return "Fargate compatible task definitions do not support privileged";
  if (container.disableNetworking === true)
    return "Fargate compatible task definitions do not support disableNetworking";
  for (const name of UNSUPPORTED_CONTAINER)
    if (present(container[name]))
      return `Fargate compatible task definitions do not support ${name}`;
  const linux = container.linuxParameters;
  for (const name of UNSUPPORTED_LINUX)
    // tmpfs: Fargate accepts it since January 2026; Berth does not mount tmpfs yet.
    if (present(linux?.[name])) return `Fargate compatible task definitions do not support ${name}`;
  for (const capability of linux?.capabilities?.add ?? [])
    if (!FARGATE_ADDABLE_CAPABILITIES.includes(capability))
      return `Fargate compatible task definitions only support adding the SYS_PTRACE capability, not '${capability}'`;
  return undefined;
}

/** Throws ECS's ClientException for the first container Fargate would refuse. */
export function checkFargateContainers(containers: readonly ContainerDefinition[]): void {
  for (const container of containers) {
    const problem = fargateContainerProblem(container);
    if (problem !== undefined) throw clientException(problem);
  }
}

/**
 * The launch-time decision, for RunTask and CreateService/UpdateService alike: a definition
 * registered as EC2-only (its `compatibilities` lack FARGATE: no task size, bridge networking,
 * a json-file log driver, pidMode host ...) is refused with ECS's text; and its containers are
 * checked again, so one stored before these rules never reaches a host.
 */
export function checkRunsOnFargate(definition: TaskDefinition): void {
  if (!definition.compatibilities?.includes("FARGATE"))
    throw invalidParameter("Task definition does not support launch_type FARGATE.");
  checkFargateContainers(definition.containerDefinitions ?? []);
}
