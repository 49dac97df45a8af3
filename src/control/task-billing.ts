/**
 * Tasks as billing sees them: the billable facts of each task (size, storage, architecture,
 * capacity provider, tags, when its pull started and when it stopped), read from the tasks the
 * control plane owns. The shape matches billing's `TaskUsage` structurally, so neither side
 * imports the other; the server wires this in as billing's task source and calls the meter's
 * hook when a task reaches STOPPED.
 */
import type { Task, TaskDefinition } from "@aws-sdk/client-ecs";
import { readTags, type Store, type TaskTable } from "../store/index.js";
import { readTask } from "./tasks.js";

export interface TaskBillingFacts {
  taskArn: string;
  clusterArn: string;
  group?: string;
  taskDefinitionArn: string;
  family: string;
  tags: Record<string, string>;
  cpu: number;
  memoryMiB: number;
  ephemeralStorageGiB: number;
  cpuArchitecture: "X86_64" | "ARM64";
  capacityProviderName: "FARGATE" | "FARGATE_SPOT";
  pullStartedAt?: Date;
  stoppedAt?: Date;
}

async function facts(store: Store, row: TaskTable, task: Task): Promise<TaskBillingFacts> {
  const definition = await store
    .selectFrom("task_definitions")
    .select("document")
    .where("arn", "=", row.task_definition_arn)
    .executeTakeFirst();
  const platform =
    definition === undefined
      ? undefined
      : (JSON.parse(definition.document) as TaskDefinition).runtimePlatform;
  const tags = await readTags(store, row.arn);
  return {
    taskArn: row.arn,
    clusterArn: task.clusterArn ?? "",
    group: row.group_name,
    taskDefinitionArn: row.task_definition_arn,
    family: row.family,
    tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
    cpu: row.cpu,
    memoryMiB: row.memory,
    ephemeralStorageGiB: task.ephemeralStorage?.sizeInGiB ?? 20,
    cpuArchitecture: platform?.cpuArchitecture === "ARM64" ? "ARM64" : "X86_64",
    capacityProviderName: task.capacityProviderName === "FARGATE_SPOT" ? "FARGATE_SPOT" : "FARGATE",
    ...(task.pullStartedAt === undefined ? {} : { pullStartedAt: task.pullStartedAt }),
    ...(row.last_status === "STOPPED" && task.stoppedAt !== undefined
      ? { stoppedAt: task.stoppedAt }
      : {}),
  };
}

/** The billing facts of one task, or undefined when there is no such task. */
export async function taskBillingFacts(
  store: Store,
  taskArn: string,
): Promise<TaskBillingFacts | undefined> {
  const row = await store
    .selectFrom("tasks")
    .selectAll()
    .where("arn", "=", taskArn)
    .executeTakeFirst();
  return row === undefined ? undefined : facts(store, row, readTask(row));
}

/** Tasks whose pull started before `before` and that had not stopped before `stoppedAtOrAfter`. */
export async function tasksPulledBefore(
  store: Store,
  before: Date,
  stoppedAtOrAfter: Date,
): Promise<TaskBillingFacts[]> {
  // A task is created before its pull starts, so created_at narrows the scan.
  const rows = await store
    .selectFrom("tasks")
    .selectAll()
    .where("created_at", "<", before.getTime())
    .where((eb) =>
      eb.or([eb("stopped_at", "is", null), eb("stopped_at", ">=", stoppedAtOrAfter.getTime())]),
    )
    .execute();
  const result: TaskBillingFacts[] = [];
  for (const row of rows) {
    const task = readTask(row);
    if (task.pullStartedAt === undefined || task.pullStartedAt.getTime() >= before.getTime())
      continue;
    if (
      row.last_status === "STOPPED" &&
      task.stoppedAt !== undefined &&
      task.stoppedAt < stoppedAtOrAfter
    )
      continue;
    result.push(await facts(store, row, task));
  }
  return result;
}
