/**
 * The meter: turns tasks into billed intervals, durably. `recordTaskUsage` is the hook the
 * compute side calls when a task reaches STOPPED; reports call `billedTasks` for a window, which
 * also bills running tasks up to now and records stopped tasks the hook missed.
 */
import { BerthError, type Clock, type Logger } from "../core/index.js";
import type { Store, TaskUsageTable } from "../store/index.js";
import {
  MINIMUM_BILLED_SECONDS,
  billedSeconds,
  type BilledTask,
  type TaskUsage,
  type TaskUsageSource,
} from "./usage.js";

export type RecordOutcome = "recorded" | "already-recorded" | "not-billable";

function invalid(record: TaskUsage, why: string): BerthError {
  return new BerthError("InvalidTaskUsage", `usage of ${record.taskArn}: ${why}`, {
    fault: "server",
  });
}

/** Checks what the compute side hands over; a bad record is our bug, not a client's. */
function check(record: TaskUsage): void {
  if (typeof record.taskArn !== "string" || record.taskArn === "")
    throw invalid(record, "no taskArn");
  if (!Number.isInteger(record.cpu) || record.cpu <= 0)
    throw invalid(record, "cpu must be positive units");
  if (!Number.isInteger(record.memoryMiB) || record.memoryMiB <= 0)
    throw invalid(record, "memoryMiB must be a positive integer");
  if (!Number.isInteger(record.ephemeralStorageGiB) || record.ephemeralStorageGiB < 0)
    throw invalid(record, "ephemeralStorageGiB must be a whole number");
  if (record.cpuArchitecture !== "X86_64" && record.cpuArchitecture !== "ARM64")
    throw invalid(record, "cpuArchitecture must be X86_64 or ARM64");
  if (record.capacityProviderName !== "FARGATE" && record.capacityProviderName !== "FARGATE_SPOT")
    throw invalid(record, "capacityProviderName must be FARGATE or FARGATE_SPOT");
}

function toRow(record: TaskUsage, pulled: Date, stopped: Date, now: Date): TaskUsageTable {
  const seconds = billedSeconds(pulled, stopped);
  return {
    task_arn: record.taskArn,
    cluster_arn: record.clusterArn,
    group_name: record.group ?? null,
    task_definition_arn: record.taskDefinitionArn,
    family: record.family,
    tags: JSON.stringify(record.tags),
    cpu: record.cpu,
    memory_mib: record.memoryMiB,
    ephemeral_storage_gib: record.ephemeralStorageGiB,
    cpu_architecture: record.cpuArchitecture,
    capacity_provider: record.capacityProviderName,
    pull_started_at: pulled.getTime(),
    stopped_at: stopped.getTime(),
    billed_seconds: seconds,
    billed_until: pulled.getTime() + seconds * 1000,
    recorded_at: now.getTime(),
  };
}

function fromRow(row: TaskUsageTable): BilledTask {
  return {
    usage: {
      taskArn: row.task_arn,
      clusterArn: row.cluster_arn,
      group: row.group_name ?? undefined,
      taskDefinitionArn: row.task_definition_arn,
      family: row.family,
      tags: JSON.parse(row.tags) as Record<string, string>,
      cpu: row.cpu,
      memoryMiB: row.memory_mib,
      ephemeralStorageGiB: row.ephemeral_storage_gib,
      cpuArchitecture: row.cpu_architecture as TaskUsage["cpuArchitecture"],
      capacityProviderName: row.capacity_provider as TaskUsage["capacityProviderName"],
      pullStartedAt: new Date(Number(row.pull_started_at)),
      stoppedAt: new Date(Number(row.stopped_at)),
    },
    billedFrom: Number(row.pull_started_at),
    billedSeconds: row.billed_seconds,
    final: true,
  };
}

export interface MeterOptions {
  store: Store;
  source: TaskUsageSource;
  clock: Clock;
  log: Logger;
}

export class Meter {
  constructor(private readonly options: MeterOptions) {}

  /**
   * Records a stopped task's usage, once: the first call for a taskArn writes its row; later
   * calls change nothing and say so. A task that never started pulling is not billed.
   */
  async recordTaskUsage(record: TaskUsage): Promise<RecordOutcome> {
    check(record);
    if (record.pullStartedAt === undefined) return "not-billable";
    if (record.stoppedAt === undefined) throw invalid(record, "recordTaskUsage needs stoppedAt");
    const row = toRow(record, record.pullStartedAt, record.stoppedAt, this.options.clock.now());
    const result = await this.options.store
      .insertInto("task_usage")
      .values(row)
      .onConflict((oc) => oc.column("task_arn").doNothing())
      .executeTakeFirst();
    const outcome =
      Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 ? "recorded" : "already-recorded";
    if (outcome === "recorded")
      this.options.log.debug("task usage recorded", {
        taskArn: record.taskArn,
        billedSeconds: row.billed_seconds,
      });
    return outcome;
  }

  /** Every task billed for some part of [from, to), as of now. */
  async billedTasks(from: Date, to: Date): Promise<BilledTask[]> {
    const now = this.options.clock.now();
    // A stopped task is billed at most 60 s past its stop (the minimum), so older ones cannot reach `from`.
    const live = await this.options.source.tasksPulledBefore(
      to,
      new Date(from.getTime() - MINIMUM_BILLED_SECONDS * 1000),
    );
    for (const task of live) {
      if (task.stoppedAt !== undefined && task.pullStartedAt !== undefined)
        // Level-triggered: a stop whose hook never ran (a crash in between) is recorded here.
        await this.recordTaskUsage(task);
    }
    const rows = await this.options.store
      .selectFrom("task_usage")
      .selectAll()
      .where("pull_started_at", "<", to.getTime())
      .where("billed_until", ">", from.getTime())
      .execute();
    const billed = rows.map(fromRow);
    const recorded = new Set(billed.map((b) => b.usage.taskArn));
    for (const task of live) {
      if (recorded.has(task.taskArn) || task.pullStartedAt === undefined) continue;
      if (task.stoppedAt !== undefined) continue;
      check(task);
      billed.push({
        usage: task,
        billedFrom: task.pullStartedAt.getTime(),
        billedSeconds: billedSeconds(task.pullStartedAt, now),
        final: false,
      });
    }
    return billed.filter((b) => b.billedFrom + b.billedSeconds * 1000 > from.getTime());
  }
}
