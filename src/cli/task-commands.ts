/** `berth ps`, `berth stop`, `berth logs`: tasks the way `docker` users expect. */
import { StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { invalidArgument } from "./errors.js";
import { BerthError } from "../core/index.js";
import { ecsClient, streamTaskLogs, type LogRecord } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom } from "./config.js";
import { clusterName, findTask, listTasks } from "./task-lookup.js";

const CLUSTER_FLAG = {
  type: "string",
  value: "CLUSTER",
  help: "only this cluster (name or ARN); without it, every cluster",
} as const;

export function printRecord(record: LogRecord): void {
  if (record.text === undefined) return;
  (record.stream === "stderr" ? process.stderr : process.stdout).write(record.text + "\n");
}

/** The rows `berth ps` prints. */
export function renderTasks(tasks: Task[]): string {
  const lines = [
    `${"TASK ID".padEnd(32)}  ${"CLUSTER".padEnd(12)} ${"TASK DEFINITION".padEnd(24)} ${"STATUS".padEnd(14)} ${"CPU".padStart(5)} ${"MEMORY".padStart(6)} ${"EXIT".padStart(4)}  IMAGE`,
  ];
  for (const task of tasks) {
    const id = (task.taskArn ?? "").split("/").pop() ?? "";
    const definition = (task.taskDefinitionArn ?? "").split("/").pop() ?? "";
    const exit = task.containers?.find((c) => c.exitCode !== undefined)?.exitCode;
    lines.push(
      [
        id.padEnd(33),
        clusterName(task.clusterArn ?? "").padEnd(12),
        definition.padEnd(24),
        (task.lastStatus ?? "").padEnd(14),
        (task.cpu ?? "").padStart(5),
        (task.memory ?? "").padStart(6),
        String(exit ?? "").padStart(4),
        ` ${task.containers?.[0]?.image ?? ""}`,
      ].join(" "),
    );
  }
  return lines.join("\n") + "\n";
}

export const ps = defineCommand({
  name: "ps",
  summary: "list the tasks of every cluster",
  usage: ["berth ps [-a] [--cluster CLUSTER]"],
  flags: {
    all: { type: "boolean", short: "a", help: "stopped tasks too (ECS keeps them about an hour)" },
    cluster: CLUSTER_FLAG,
    ...CLIENT_FLAGS,
  },
  run: async ({ flags }, env) => {
    const ecs = ecsClient(clientConfigFrom(flags, env));
    try {
      const tasks = await listTasks(
        ecs,
        flags.cluster,
        flags.all ? ["RUNNING", "STOPPED"] : ["RUNNING"],
      );
      process.stdout.write(renderTasks(tasks));
      return 0;
    } finally {
      ecs.destroy();
    }
  },
});

export const stop = defineCommand({
  name: "stop",
  summary: "stop tasks (SIGTERM, then SIGKILL after each container's stop timeout)",
  usage: ["berth stop TASK... [--reason TEXT] [--cluster CLUSTER]"],
  description:
    "TASK is a task id (found in any cluster) or a task ARN. Prints each stopped task's ARN.",
  flags: {
    reason: {
      type: "string",
      value: "TEXT",
      help: "the stoppedReason DescribeTasks shows (default: Task stopped by user)",
    },
    cluster: CLUSTER_FLAG,
    ...CLIENT_FLAGS,
  },
  positionals: true,
  run: async ({ flags, positionals }, env) => {
    if (positionals.length === 0) throw invalidArgument("name a task to stop: berth stop TASK...");
    const ecs = ecsClient(clientConfigFrom(flags, env));
    try {
      for (const reference of positionals) {
        const task = await findTask(ecs, flags.cluster, reference);
        const { task: stopped } = await ecs.send(
          new StopTaskCommand({
            cluster: task.clusterArn,
            task: task.taskArn,
            reason: flags.reason ?? "Task stopped by user",
          }),
        );
        process.stdout.write(`${stopped?.taskArn ?? reference}\n`);
      }
      return 0;
    } finally {
      ecs.destroy();
    }
  },
});

export const logs = defineCommand({
  name: "logs",
  summary: "print a task's output (stdout and stderr of its containers)",
  usage: ["berth logs TASK [-f] [--container NAME] [--cluster CLUSTER]"],
  description:
    "TASK is a task id (found in any cluster) or a task ARN. The output of a stopped task is\nkept until its host forgets the task.",
  flags: {
    follow: { type: "boolean", short: "f", help: "keep printing until the task stops" },
    container: { type: "string", value: "NAME", help: "one container only (default: all)" },
    cluster: CLUSTER_FLAG,
    ...CLIENT_FLAGS,
  },
  positionals: true,
  run: async ({ flags, positionals }, env) => {
    const [reference, ...extra] = positionals;
    if (reference === undefined || extra.length > 0)
      throw invalidArgument("name one task: berth logs TASK [-f]");
    const config = clientConfigFrom(flags, env);
    const ecs = ecsClient(config);
    try {
      const task = await findTask(ecs, flags.cluster, reference);
      let failure: string | undefined;
      await streamTaskLogs(
        config,
        task.taskArn ?? reference,
        {
          follow: flags.follow,
          ...(flags.container === undefined ? {} : { container: flags.container }),
        },
        (record) => {
          if (record.error !== undefined) failure = record.error;
          printRecord(record);
        },
      );
      if (failure !== undefined) throw new BerthError("LogsUnavailable", failure);
      return 0;
    } finally {
      ecs.destroy();
    }
  },
});
