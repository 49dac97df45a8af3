/**
 * Container health as Docker and ECS judge it (pure): one check's result moves a container's
 * status (HEALTHY after a pass, UNHEALTHY after `retries` failures in a row, failures during
 * the start period not counted, UNKNOWN until then), and the task's health rolls up from its
 * essential containers that have a check.
 */
import type { ContainerAssignment, ContainerState } from "../../protocol/index.js";

type HealthCheck = NonNullable<ContainerAssignment["healthCheck"]>;
export type HealthStatus = NonNullable<ContainerState["healthStatus"]>;

export interface HealthProgress {
  status: HealthStatus;
  /** Failures in a row that counted (outside the start period). */
  failures: number;
}

/** The progress after one check that exited `exitCode`, `sinceStartMs` after the watch began. */
export function afterCheck(
  progress: HealthProgress,
  check: Pick<HealthCheck, "retries" | "startPeriod">,
  exitCode: number,
  sinceStartMs: number,
): HealthProgress {
  if (exitCode === 0) return { status: "HEALTHY", failures: 0 };
  if (sinceStartMs < check.startPeriod * 1000) return progress;
  const failures = progress.failures + 1;
  return { status: failures >= check.retries ? "UNHEALTHY" : progress.status, failures };
}

/** The task's health: undefined when no essential container has a check. */
export function taskHealth(
  containers: Array<{ essential: boolean; checked: boolean; status: HealthStatus | undefined }>,
): HealthStatus | undefined {
  const states = containers.filter((c) => c.essential && c.checked).map((c) => c.status);
  if (states.length === 0) return undefined;
  if (states.some((s) => s === "UNHEALTHY")) return "UNHEALTHY";
  return states.every((s) => s === "HEALTHY") ? "HEALTHY" : "UNKNOWN";
}
