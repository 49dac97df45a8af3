/**
 * What the meter reads: one task's billable facts, and the narrow source it reads them from.
 *
 * The compute side owns tasks; billing never reads its tables. It sees tasks only as
 * `TaskUsage` records, through two doors:
 *  - `Meter.recordTaskUsage(record)`: compute calls it when a task reaches STOPPED. It writes one
 *    usage row per task, once (later calls for the same taskArn change nothing), durably.
 *  - `TaskUsageSource.tasksPulledBefore(before, stoppedAtOrAfter)`: reports call it to bill tasks
 *    still running (up to now) and to catch stopped tasks whose hook never ran (a crash between
 *    STOPPED and the hook): the meter records those itself, so billing is level-triggered.
 *
 * Fargate's rule: a task is billed from pullStartedAt to stoppedAt, rounded up to the whole
 * second, at least 60 seconds; a task that never started pulling is not billed. It is billed for
 * its configured size (cpu units / 1024 vCPU, memory MiB / 1024 GB), for ephemeral storage
 * above the free 20 GB, by architecture and capacity provider.
 */

export type CpuArchitecture = "X86_64" | "ARM64";
export type CapacityProviderName = "FARGATE" | "FARGATE_SPOT";

export interface TaskUsage {
  taskArn: string;
  clusterArn: string;
  /** The task's group as ECS writes it: "service:web" for a service's task, "family:x" otherwise. */
  group?: string;
  taskDefinitionArn: string;
  family: string;
  /** Tags on the task (propagated from the service or task definition, or given to RunTask). */
  tags: Record<string, string>;
  /** Configured task-level CPU units (1024 = 1 vCPU). */
  cpu: number;
  /** Configured task-level memory, MiB. */
  memoryMiB: number;
  /** Configured ephemeral storage, GiB (Fargate's default and free amount is 20). */
  ephemeralStorageGiB: number;
  cpuArchitecture: CpuArchitecture;
  capacityProviderName: CapacityProviderName;
  pullStartedAt?: Date;
  stoppedAt?: Date;
}

/** The compute side's view of tasks, for billing. */
export interface TaskUsageSource {
  /**
   * Exactly the tasks with a pullStartedAt earlier than `before` that had not stopped before
   * `stoppedAtOrAfter` (no stoppedAt, or stoppedAt >= it), in any order.
   */
  tasksPulledBefore(before: Date, stoppedAtOrAfter: Date): Promise<TaskUsage[]>;
}

/** Ephemeral storage Fargate includes at no charge, GiB. */
export const FREE_EPHEMERAL_STORAGE_GIB = 20;
export const MINIMUM_BILLED_SECONDS = 60;

/** Whole seconds billed for a task that ran from `pullStartedAt` until `end`. */
export function billedSeconds(pullStartedAt: Date, end: Date): number {
  const ms = Math.max(0, end.getTime() - pullStartedAt.getTime());
  return Math.max(MINIMUM_BILLED_SECONDS, Math.ceil(ms / 1000));
}

/** A task with the interval it is billed for: [from, from + seconds). */
export interface BilledTask {
  usage: TaskUsage;
  billedFrom: number;
  billedSeconds: number;
  /** False while the task runs: it is billed up to the report's now. */
  final: boolean;
}

export function billedUntil(task: BilledTask): number {
  return task.billedFrom + task.billedSeconds * 1000;
}
