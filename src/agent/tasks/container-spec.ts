/**
 * From a container's assignment and its image config to the runtime's ContainerSpec, merged the
 * way Docker (and so ECS) merges them: an `entryPoint` in the definition replaces the image's
 * ENTRYPOINT and drops its CMD; a `command` replaces CMD; environment adds to the image's.
 */
import { posix } from "node:path";
import type { ContainerAssignment, TaskAssignment } from "../../protocol/index.js";
import type { BindMount, ContainerSpec } from "../runtime/index.js";
import type { ImageRunConfig } from "./ports.js";

export function containerId(taskId: string, name: string, index: number): string {
  const readable = `${taskId}-${name}`;
  return readable.length <= 128 ? readable : `${taskId}-c${index}`;
}

export function containerArgs(container: ContainerAssignment, image: ImageRunConfig): string[] {
  if (container.entryPoint !== undefined)
    return [...container.entryPoint, ...(container.command ?? [])];
  return [...(image.entrypoint ?? []), ...(container.command ?? image.cmd ?? [])];
}

export function containerEnv(
  container: ContainerAssignment,
  image: ImageRunConfig,
  platformEnv: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of image.env ?? []) {
    const at = entry.indexOf("=");
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  // What Fargate sets in every container.
  env.AWS_EXECUTION_ENV = "AWS_ECS_FARGATE";
  Object.assign(env, platformEnv);
  for (const { name, value } of container.environment) env[name] = value;
  return env;
}

/** The task metadata endpoint's URIs in a container's environment, as Fargate sets them. */
export function metadataEnv(base: string, taskId: string, index: number): Record<string, string> {
  return {
    ECS_CONTAINER_METADATA_URI_V4: `${base}/v4/${taskId}-${index}`,
    ECS_CONTAINER_METADATA_URI: `${base}/v3/${taskId}-${index}`,
  };
}

/** The ECS task credentials endpoint's path, relative to 169.254.170.2 (as the SDKs want it). */
export function credentialsRelativeUri(credentialsId: string): string {
  return `/v2/credentials/${credentialsId}`;
}

/**
 * What the AWS SDKs in a task read, as Fargate sets it: the Region, the task role's credentials
 * endpoint when the task has a role, and (Berth's own) the endpoint of Berth's API, so the SDK
 * and CLI in a task call Berth and not AWS.
 */
export function awsEnv(assignment: TaskAssignment, apiUrl: string | undefined): Record<string, string> {
  return {
    ...(assignment.region === undefined
      ? {}
      : { AWS_REGION: assignment.region, AWS_DEFAULT_REGION: assignment.region }),
    ...(apiUrl === undefined ? {} : { AWS_ENDPOINT_URL: apiUrl }),
    ...(assignment.taskRole === undefined
      ? {}
      : {
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: credentialsRelativeUri(
            assignment.taskRole.credentialsId,
          ),
        }),
  };
}

/**
 * The task's volumes a container mounts, as bind mounts of their host directories. As on
 * Fargate, a mount at a path the image declares as a VOLUME starts with the image's content
 * there.
 */
export function containerMounts(
  container: ContainerAssignment,
  volumes: Record<string, string>,
  image: ImageRunConfig,
): BindMount[] {
  const declared = new Set((image.volumes ?? []).map(normalizePath));
  return (container.mountPoints ?? []).map((mount) => {
    const source = volumes[mount.sourceVolume];
    if (source === undefined) throw new Error(`the task has no volume ${mount.sourceVolume}`);
    return {
      source,
      destination: mount.containerPath,
      readonly: mount.readOnly,
      seedFromImage: declared.has(normalizePath(mount.containerPath)),
    };
  });
}

const normalizePath = (path: string): string => posix.normalize(path).replace(/(.)\/+$/, "$1");

export function buildContainerSpec(
  taskId: string,
  index: number,
  container: ContainerAssignment,
  image: { digest: string; config: ImageRunConfig },
  volumes: Record<string, string>,
  /** What the platform sets besides (the task metadata endpoint's URIs). */
  platformEnv: Record<string, string> = {},
  /** The container's resolved `secrets`: in its environment, never in a file. */
  secretEnv: Record<string, string> = {},
): ContainerSpec {
  return {
    id: containerId(taskId, container.name, index),
    taskId,
    name: container.name,
    rootfs: { imageDigest: image.digest },
    args: containerArgs(container, image.config),
    env: containerEnv(container, image.config, platformEnv),
    ...(Object.keys(secretEnv).length === 0 ? {} : { secretEnv }),
    cwd: container.workingDirectory ?? (image.config.workingDir || "/"),
    ...((container.user ?? image.config.user) ? { user: container.user ?? image.config.user } : {}),
    readonlyRootfs: container.readonlyRootFilesystem,
    capabilities: { add: container.capabilitiesAdd, drop: container.capabilitiesDrop },
    ulimits: container.ulimits,
    initProcessEnabled: container.initProcessEnabled,
    labels: container.dockerLabels,
    ...(container.cpu > 0 ? { cpuShares: container.cpu } : {}),
    ...(container.memory === undefined ? {} : { memoryMiB: container.memory }),
    ...(container.memoryReservation === undefined
      ? {}
      : { memoryReservationMiB: container.memoryReservation }),
    mounts: containerMounts(container, volumes, image.config),
  };
}
