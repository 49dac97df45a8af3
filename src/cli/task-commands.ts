/** `berth run`, `berth ps`, `berth stop`, `berth logs`: tasks the way `docker` users expect. */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import {
  DescribeTasksCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ECSClient,
  type Task,
} from "@aws-sdk/client-ecs";
import { BerthError } from "../core/index.js";
import { ecsClient, signedGet, streamTaskLogs, type LogRecord } from "./client.js";
import { resolveClientConfig, type ClientConfig } from "./config.js";

const CLIENT_OPTIONS = {
  endpoint: { type: "string" },
  "data-dir": { type: "string" },
  region: { type: "string" },
  cluster: { type: "string" },
} as const;

function config(
  values: { endpoint?: string; "data-dir"?: string; region?: string },
  env: NodeJS.ProcessEnv,
): ClientConfig {
  return resolveClientConfig(
    { endpoint: values.endpoint, dataDir: values["data-dir"], region: values.region },
    env,
  );
}

async function describe(
  ecs: ECSClient,
  cluster: string | undefined,
  taskArn: string,
): Promise<Task> {
  const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
  const task = tasks[0];
  if (task === undefined) throw new BerthError("TaskNotFound", `Task ${taskArn} was not found.`);
  return task;
}

function printRecord(record: LogRecord): void {
  if (record.text === undefined) return;
  (record.stream === "stderr" ? process.stderr : process.stdout).write(record.text + "\n");
}

/** A family name from an image reference: `127.0.0.1:4566/team/app:1` -> `run-team-app`. */
export function familyFor(image: string): string {
  const withoutDigest = image.split("@", 1)[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  const repository = colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
  const path =
    repository.includes("/") && /[.:]/.test(repository.split("/", 1)[0] ?? "")
      ? repository.slice(repository.indexOf("/") + 1)
      : repository;
  return `run-${path.replace(/[^a-zA-Z0-9_-]+/g, "-")}`.slice(0, 255);
}

const MB = 1e6;

/** One line, rewritten in place: how much of the image is here. */
async function showProgress(client: ClientConfig, taskArn: string, image: string): Promise<void> {
  const response = await signedGet(client, "/_berth/tasks/progress", { task: taskArn }).catch(
    () => undefined,
  );
  if (response?.ok !== true) return;
  const { bytesDone, bytesTotal } = (await response.json()) as {
    bytesDone?: number;
    bytesTotal?: number;
  };
  if (bytesDone === undefined || bytesTotal === undefined || bytesTotal === 0) return;
  const percent = Math.min(100, Math.floor((bytesDone / bytesTotal) * 100));
  process.stderr.write(
    `\rpulling ${image}: ${(bytesDone / MB).toFixed(1)} / ${(bytesTotal / MB).toFixed(1)} MB (${percent}%)  `,
  );
}

export async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...CLIENT_OPTIONS,
      cpu: { type: "string", default: "256" },
      memory: { type: "string", default: "512" },
      env: { type: "string", short: "e", multiple: true },
      detach: { type: "boolean", short: "d", default: false },
      init: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [image, ...command] = positionals;
  if (image === undefined) {
    process.stderr.write(
      "Usage: berth run IMAGE [--cpu 256 --memory 512] [-e K=V] [-d] [-- CMD...]\n",
    );
    return 2;
  }
  const client = config(values, env);
  const ecs = ecsClient(client);
  try {
    const environment = (values.env ?? []).map((pair) => {
      const at = pair.indexOf("=");
      return at < 0
        ? { name: pair, value: env[pair] ?? "" }
        : { name: pair.slice(0, at), value: pair.slice(at + 1) };
    });
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: familyFor(image),
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: values.cpu,
        memory: values.memory,
        containerDefinitions: [
          {
            name: "main",
            image,
            essential: true,
            ...(command.length > 0 ? { command } : {}),
            environment,
            ...(values.init ? { linuxParameters: { initProcessEnabled: true } } : {}),
          },
        ],
      }),
    );
    const started = await ecs.send(
      new RunTaskCommand({
        cluster: values.cluster,
        taskDefinition: taskDefinition?.taskDefinitionArn,
        launchType: "FARGATE",
        startedBy: "berth-run",
        // Like `docker run`, a task started here can be entered with `berth exec`.
        enableExecuteCommand: true,
        clientToken: randomUUID(),
      }),
    );
    const task = started.tasks?.[0];
    if (task?.taskArn === undefined) {
      const reason = started.failures?.[0]?.reason ?? "unknown";
      process.stderr.write(
        `berth run: no host has room for ${values.cpu} CPU units and ${values.memory} MiB (${reason}).\n`,
      );
      return 1;
    }
    const taskArn = task.taskArn;
    process.stderr.write(`task ${taskArn.split("/").pop() ?? taskArn}\n`);
    if (values.detach) return 0;

    const interrupt = (): void => {
      process.stderr.write("stopping the task...\n");
      ecs
        .send(
          new StopTaskCommand({
            cluster: values.cluster,
            task: taskArn,
            reason: "Task stopped by user",
          }),
        )
        .catch(() => undefined);
    };
    process.on("SIGINT", interrupt);
    try {
      let last = "";
      let streaming: Promise<void> | undefined;
      for (;;) {
        const current = await describe(ecs, values.cluster, taskArn);
        const status = current.lastStatus ?? "";
        if (status !== last) {
          if (status === "PENDING") process.stderr.write(`pulling ${image}...\n`);
          if (last === "PENDING" && process.stderr.isTTY) process.stderr.write("\n");
          last = status;
        }
        if (status === "PENDING" && process.stderr.isTTY)
          await showProgress(client, taskArn, image);
        const started = [
          "RUNNING",
          "DEACTIVATING",
          "STOPPING",
          "DEPROVISIONING",
          "STOPPED",
        ].includes(status);
        if (streaming === undefined && started && current.pullStoppedAt !== undefined) {
          streaming = streamTaskLogs(client, taskArn, { follow: true }, printRecord).catch(
            (error: unknown) => {
              process.stderr.write(`berth run: ${String(error)}\n`);
            },
          );
        }
        if (status === "STOPPED") {
          await streaming;
          const main = current.containers?.find((c) => c.name === "main");
          if (current.stopCode === "TaskFailedToStart" || main?.exitCode === undefined) {
            process.stderr.write(
              `berth run: the task stopped: ${current.stoppedReason ?? "unknown reason"}\n`,
            );
            return 125;
          }
          if (main.reason !== undefined) process.stderr.write(`${main.reason}\n`);
          return main.exitCode;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      process.off("SIGINT", interrupt);
    }
  } finally {
    ecs.destroy();
  }
}

export async function ps(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...CLIENT_OPTIONS, all: { type: "boolean", short: "a", default: false } },
    strict: true,
  });
  const ecs = ecsClient(config(values, env));
  try {
    const arns: string[] = [];
    for (const desiredStatus of values.all
      ? (["RUNNING", "STOPPED"] as const)
      : (["RUNNING"] as const)) {
      let nextToken: string | undefined;
      do {
        const page = await ecs.send(
          new ListTasksCommand({ cluster: values.cluster, desiredStatus, nextToken }),
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
    }
    process.stdout.write(
      "TASK ID                           TASK DEFINITION          STATUS          CPU   MEMORY  EXIT  IMAGE\n",
    );
    for (let i = 0; i < arns.length; i += 100) {
      const { tasks = [] } = await ecs.send(
        new DescribeTasksCommand({ cluster: values.cluster, tasks: arns.slice(i, i + 100) }),
      );
      for (const task of tasks) {
        const id = (task.taskArn ?? "").split("/").pop() ?? "";
        const definition = (task.taskDefinitionArn ?? "").split("/").pop() ?? "";
        const exit = task.containers?.find((c) => c.exitCode !== undefined)?.exitCode;
        process.stdout.write(
          `${id.padEnd(33)} ${definition.padEnd(24)} ${(task.lastStatus ?? "").padEnd(15)} ${(task.cpu ?? "").padStart(5)} ${(task.memory ?? "").padStart(8)}  ${String(exit ?? "").padStart(4)}  ${task.containers?.[0]?.image ?? ""}\n`,
        );
      }
    }
    return 0;
  } finally {
    ecs.destroy();
  }
}

export async function stop(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CLIENT_OPTIONS, reason: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) {
    process.stderr.write("Usage: berth stop TASK... [--reason TEXT]\n");
    return 2;
  }
  const ecs = ecsClient(config(values, env));
  try {
    for (const task of positionals) {
      const { task: stopped } = await ecs.send(
        new StopTaskCommand({ cluster: values.cluster, task, reason: values.reason }),
      );
      process.stdout.write(`${stopped?.taskArn ?? task}\n`);
    }
    return 0;
  } finally {
    ecs.destroy();
  }
}

export async function logs(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...CLIENT_OPTIONS,
      follow: { type: "boolean", short: "f", default: false },
      container: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const [task] = positionals;
  if (task === undefined) {
    process.stderr.write("Usage: berth logs TASK [-f] [--container NAME]\n");
    return 2;
  }
  const client = config(values, env);
  const ecs = ecsClient(client);
  try {
    const described = await describe(ecs, values.cluster, task);
    let failure: string | undefined;
    await streamTaskLogs(
      client,
      described.taskArn ?? task,
      {
        follow: values.follow,
        ...(values.container === undefined ? {} : { container: values.container }),
      },
      (record) => {
        if (record.error !== undefined) failure = record.error;
        printRecord(record);
      },
    );
    if (failure !== undefined) {
      process.stderr.write(`berth logs: ${failure}\n`);
      return 1;
    }
    return 0;
  } finally {
    ecs.destroy();
  }
}
