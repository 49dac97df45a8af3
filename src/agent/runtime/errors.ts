/** Stable error codes of the container runtime; callers branch on `code`. */
import { BerthError } from "../../core/index.js";

export const RuntimeErrorCode = {
  /** The spec is malformed (bad id, empty args, unknown capability or ulimit). */
  InvalidSpec: "InvalidContainerSpec",
  ContainerNotFound: "ContainerNotFound",
  ContainerExists: "ContainerAlreadyExists",
  SandboxNotFound: "SandboxNotFound",
  /** The operation needs a running container (exec). */
  ContainerNotRunning: "ContainerNotRunning",
  /** `user` names a user or group that the container's /etc does not have. */
  UserNotFound: "ContainerUserNotFound",
  /** The OCI runtime or the monitor failed; the message carries their stderr. */
  RuntimeFailed: "ContainerRuntimeFailed",
  /** The agent cannot make a task's cgroup here at all (it refuses to start). */
  CgroupsUnavailable: "CgroupsUnavailable",
  /** The host's disk cannot honour the task's ephemeral storage (storage-budget.ts). */
  StorageUnavailable: "EphemeralStorageUnavailable",
} as const;

export function invalidSpec(message: string): BerthError {
  return new BerthError(RuntimeErrorCode.InvalidSpec, message);
}

export function runtimeFailed(message: string, cause?: unknown): BerthError {
  return new BerthError(RuntimeErrorCode.RuntimeFailed, message, { fault: "server", cause });
}
