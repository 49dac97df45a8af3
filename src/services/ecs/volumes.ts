/**
 * Task volumes as Fargate has them: a volume with no host path (`{name}` or `host: {}`) is
 * scratch space on the task's ephemeral storage, shared by the containers that mount it with
 * `mountPoints` or take another container's mounts with `volumesFrom`. ECS's checks at
 * RegisterTaskDefinition, and each container's mounts resolved for the agent.
 */
import type { ContainerDefinition, Volume } from "@aws-sdk/client-ecs";
import type { ContainerAssignment } from "../../protocol/index.js";
import { clientException } from "./errors.js";

const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,255}$/;

type MountPoint = NonNullable<ContainerAssignment["mountPoints"]>[number];

/** Kinds Berth has no storage for; ECS runs EFS on Fargate (and FSx on Windows, EBS at launch). */
const UNSUPPORTED_KINDS = [
  "efsVolumeConfiguration",
  "fsxWindowsFileServerVolumeConfiguration",
  "configuredAtLaunch",
] as const;

/**
 * Throws ECS's ClientException for a bad volume or mount; answers whether the volumes can run
 * on Fargate (a host path or a Docker volume is EC2 only: refused outright when `fargate`).
 */
export function checkVolumes(
  volumes: Volume[],
  containers: ContainerDefinition[],
  fargate: boolean,
): boolean {
  const names = new Set<string>();
  let fargateCompatible = true;
  for (const volume of volumes) {
    const name = volume.name ?? "";
    // ECS's text in the form of its "Container.name should not be null or empty.".
    if (name === "") throw clientException("volume.name should not be null or empty.");
    if (!NAME_PATTERN.test(name)) throw clientException("volume.name contains invalid characters.");
    // ECS's text for this is not recorded; worded like its rule for container names.
    if (names.has(name))
      throw clientException("Volume names must be unique within a Task Definition.");
    names.add(name);
    for (const kind of UNSUPPORTED_KINDS)
      if (volume[kind] !== undefined && volume[kind] !== false)
        throw clientException(
          `Berth supports bind mount volumes only; volume '${name}' has ${kind}.`,
        );
    const hostPath = volume.host?.sourcePath !== undefined && volume.host.sourcePath !== "";
    if (fargate && hostPath)
      throw clientException("Fargate compatible task definitions do not support sourcePath");
    // Worded like the recorded sourcePath text.
    if (fargate && volume.dockerVolumeConfiguration !== undefined)
      throw clientException(
        "Fargate compatible task definitions do not support dockerVolumeConfiguration",
      );
    if (hostPath || volume.dockerVolumeConfiguration !== undefined) fargateCompatible = false;
  }
  for (const container of containers) {
    for (const mount of container.mountPoints ?? []) {
      if (mount.sourceVolume === undefined || !names.has(mount.sourceVolume))
        throw clientException(`Unknown volume '${mount.sourceVolume ?? "null"}'.`);
      // Docker refuses these when the container is created; ECS's text is not recorded.
      if (!mount.containerPath?.startsWith("/"))
        throw clientException(
          `Invalid containerPath '${mount.containerPath ?? ""}' for container '${container.name ?? ""}': it must be an absolute path.`,
        );
    }
  }
  const byName = new Map(containers.map((c) => [c.name ?? "", c]));
  for (const container of containers) {
    for (const from of container.volumesFrom ?? [])
      if (!byName.has(from.sourceContainer ?? ""))
        // Worded like ECS's dependsOn text for a missing container.
        throw clientException(
          `Cannot mount volumes from container '${from.sourceContainer ?? ""}' because it does not exist`,
        );
    const paths = new Set<string>();
    for (const mount of mountPointsOf(container, byName))
      if (paths.has(mount.containerPath))
        throw clientException(
          `Duplicate mount point '${mount.containerPath}' in container '${container.name ?? ""}'.`,
        );
      else paths.add(mount.containerPath);
  }
  return fargateCompatible;
}

/**
 * A container's mounts: its own mountPoints, then every mount of each volumesFrom container
 * (theirs transitively), read-only when volumesFrom says so and as the source has it otherwise
 * (Docker's `--volumes-from c[:ro]`, which the ECS agent passes).
 */
export function mountPointsOf(
  container: ContainerDefinition,
  byName: ReadonlyMap<string, ContainerDefinition>,
  seen: ReadonlySet<string> = new Set(),
): MountPoint[] {
  const name = container.name ?? "";
  // Docker cannot create containers that take volumes from each other.
  if (seen.has(name)) throw clientException("Container volumesFrom should not have a cycle");
  const path = new Set([...seen, name]);
  const mounts: MountPoint[] = (container.mountPoints ?? []).map((m) => ({
    sourceVolume: m.sourceVolume ?? "",
    containerPath: m.containerPath ?? "",
    readOnly: m.readOnly ?? false,
  }));
  for (const from of container.volumesFrom ?? []) {
    const source = byName.get(from.sourceContainer ?? "");
    if (source === undefined) continue;
    for (const mount of mountPointsOf(source, byName, path))
      mounts.push({ ...mount, readOnly: from.readOnly === true || mount.readOnly });
  }
  return mounts;
}
