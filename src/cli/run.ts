/**
 * `berth run IMAGE [-- CMD...]`: `docker run` on Berth. It registers a one-container Fargate
 * task definition (reusing the family's latest revision when nothing changed), runs it, streams
 * its output and exits with its exit code.
 */
import { randomUUID } from "node:crypto";
import { invalidArgument } from "./errors.js";
import {
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
  type Task,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { BerthError } from "../core/index.js";
import { ecsClient, signedGet, streamTaskLogs } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom, type ClientConfig } from "./config.js";
import { printRecord } from "./task-commands.js";
import { findTask } from "./task-lookup.js";

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

/** What `berth run` decides about a definition: the fields it sets, compared as it sets them. */
function essentials(definition: {
  cpu?: string | undefined;
  memory?: string | undefined;
  containerDefinitions?: ContainerDefinition[] | undefined;
}): string {
  const container = definition.containerDefinitions?.[0];
  return JSON.stringify([
    definition.cpu,
    definition.memory,
    definition.containerDefinitions?.length,
    container?.name,
    container?.image,
    container?.command ?? [],
    (container?.environment ?? []).map((e) => [e.name, e.value ?? ""]),
    container?.linuxParameters?.initProcessEnabled === true,
    container?.stopTimeout,
  ]);
}

/** Whether the family's latest revision is what `wanted` would register (so it is reused). */
export function sameDefinition(
  latest: TaskDefinition,
  wanted: RegisterTaskDefinitionCommandInput,
): boolean {
  return latest.status === "ACTIVE" && essentials(latest) === essentials(wanted);
}

async function latestRevision(ecs: ECSClient, family: string): Promise<TaskDefinition | undefined> {
  try {
    const { taskDefinition } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: family }),
    );
    return taskDefinition;
  } catch (error) {
    // ECS answers ClientException for a family with no active revision.
    if (error instanceof Error && error.name === "ClientException") return undefined;
    throw error;
  }
}

const MB = 1e6;

/** The image pull's progress, if the task's host is pulling (a cached image reports none). */
async function pullProgress(
  client: ClientConfig,
  taskArn: string,
): Promise<{ bytesDone: number; bytesTotal: number } | undefined> {
  const response = await signedGet(client, "/_berth/tasks/progress", { task: taskArn }).catch(
    () => undefined,
  );
  if (response?.ok !== true) return undefined;
  const { bytesDone, bytesTotal } = (await response.json()) as {
    bytesDone?: number;
    bytesTotal?: number;
  };
  if (bytesDone === undefined || bytesTotal === undefined || bytesTotal === 0) return undefined;
  return { bytesDone, bytesTotal };
}

/** Why RunTask placed nothing, said so that the reader knows what to do. */
export function describePlacementFailure(reason: string, cpu: string, memory: string): string {
  const what = `no host has room for ${cpu} CPU units and ${memory} MiB (${reason})`;
  if (reason === "RESOURCE:CPU")
    return `${what}: a host offers 1024 CPU units per core, and running tasks hold theirs until they stop. \`berth ps\` lists them; stop some, ask for less --cpu, or add a host with \`berth agent\`.`;
  if (reason === "RESOURCE:MEMORY")
    return `${what}: a host offers its memory less a reserve, and running tasks hold theirs until they stop. \`berth ps\` lists them; stop some, ask for less --memory, or add a host with \`berth agent\`.`;
  if (reason === "RESOURCE:EPHEMERAL_STORAGE")
    return `no host has disk for the task's ephemeral storage (${reason}): a host offers its free disk less a reserve (times BERTH_STORAGE_OVERCOMMIT), and running tasks hold their size until they stop. Stop some, free disk on a host, or add a host with \`berth agent\`.`;
  return what;
}

const STARTED = ["RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"];

export const run = defineCommand({
  name: "run",
  summary: "run an image as a task, stream its output and exit with its exit code",
  usage: ["berth run IMAGE [options] [-- CMD [ARG...]]"],
  description: [
    "Registers a one-container Fargate task definition (family run-REPOSITORY, container `main`;",
    "the latest revision is reused when nothing changed), runs it with exec enabled (`berth exec`),",
    "and streams its output. Ctrl-C stops the task (SIGTERM, then SIGKILL after the stop timeout);",
    "a second Ctrl-C stops waiting. Exits with the container's exit code, or 125 if it never ran.",
  ].join("\n"),
  flags: {
    cpu: {
      type: "string",
      value: "UNITS",
      default: "256",
      help: "CPU units, 1024 = one vCPU (a Fargate size: 256, 512, 1024, ...)",
    },
    memory: {
      type: "string",
      value: "MIB",
      default: "512",
      help: "memory in MiB (a Fargate size for the CPU: 512-2048 with 256 units, ...)",
    },
    env: {
      type: "string",
      short: "e",
      multiple: true,
      value: "NAME=VALUE",
      help: "an environment variable (NAME alone passes this shell's value)",
    },
    detach: {
      type: "boolean",
      short: "d",
      help: "print the task id and return at once (follow it with `berth logs -f`)",
    },
    init: {
      type: "boolean",
      help: "run an init process as PID 1 that reaps zombies and forwards signals",
    },
    "stop-timeout": {
      type: "string",
      value: "SECONDS",
      help: "how long a stop waits after SIGTERM before SIGKILL (default: ECS's 30)",
    },
    cluster: {
      type: "string",
      value: "CLUSTER",
      help: "the cluster to run in (default: default)",
    },
    ...CLIENT_FLAGS,
  },
  positionals: true,
  run: async ({ flags, positionals }, env) => {
    const [image, ...command] = positionals;
    if (image === undefined) throw invalidArgument("name an image: berth run IMAGE [-- CMD...]");
    const stopTimeout =
      flags["stop-timeout"] === undefined ? undefined : Number(flags["stop-timeout"]);
    if (
      stopTimeout !== undefined &&
      !(Number.isInteger(stopTimeout) && stopTimeout >= 0 && stopTimeout <= 120)
    )
      throw invalidArgument("--stop-timeout is a whole number of seconds, 0 to 120");
    const client = clientConfigFrom(flags, env);
    const ecs = ecsClient(client);
    try {
      const environment = (flags.env ?? []).map((pair) => {
        const at = pair.indexOf("=");
        return at < 0
          ? { name: pair, value: env[pair] ?? "" }
          : { name: pair.slice(0, at), value: pair.slice(at + 1) };
      });
      const wanted: RegisterTaskDefinitionCommandInput = {
        family: familyFor(image),
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: flags.cpu,
        memory: flags.memory,
        containerDefinitions: [
          {
            name: "main",
            image,
            essential: true,
            ...(command.length > 0 ? { command } : {}),
            environment,
            ...(flags.init ? { linuxParameters: { initProcessEnabled: true } } : {}),
            ...(stopTimeout === undefined ? {} : { stopTimeout }),
          },
        ],
      };
      const latest = await latestRevision(ecs, wanted.family ?? "");
      const definition =
        latest !== undefined && sameDefinition(latest, wanted)
          ? latest
          : (await ecs.send(new RegisterTaskDefinitionCommand(wanted))).taskDefinition;
      const started = await ecs.send(
        new RunTaskCommand({
          cluster: flags.cluster,
          taskDefinition: definition?.taskDefinitionArn,
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
        throw new BerthError(
          "NoCapacity",
          describePlacementFailure(reason, flags.cpu, flags.memory),
        );
      }
      const taskId = task.taskArn.split("/").pop() ?? task.taskArn;
      // Detached, the id is the answer (stdout, as `docker run -d`, so `WEB=$(berth run -d ...)`
      // works); attached, stdout is the task's own output and the id is a note beside it.
      if (flags.detach) {
        process.stdout.write(`${taskId}\n`);
        return 0;
      }
      process.stderr.write(`task ${taskId}\n`);
      const timeout = definition?.containerDefinitions?.[0]?.stopTimeout ?? 30;
      return await follow(ecs, client, task, image, timeout);
    } finally {
      ecs.destroy();
    }
  },
});

/** Streams a started task's output until it stops; its exit code, or 125 if it never ran. */
async function follow(
  ecs: ECSClient,
  client: ClientConfig,
  task: Task,
  image: string,
  stopTimeout: number,
): Promise<number> {
  const taskArn = task.taskArn ?? "";
  const cluster = task.clusterArn;
  let interrupts = 0;
  let gaveUp: (() => void) | undefined;
  const givenUp = new Promise<void>((resolve) => (gaveUp = resolve));
  const interrupt = (): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(
        `\nstopping the task: SIGTERM now, SIGKILL after its ${stopTimeout} s stop timeout. Ctrl-C again to stop waiting.\n`,
      );
      ecs
        .send(new StopTaskCommand({ cluster, task: taskArn, reason: "Task stopped by user" }))
        .catch(() => undefined);
      return;
    }
    process.stderr.write(
      `not waiting: the task keeps stopping (\`berth ps -a\` shows when it has).\n`,
    );
    gaveUp?.();
  };
  process.on("SIGINT", interrupt);
  try {
    let pulling = false;
    let streaming: Promise<void> | undefined;
    for (;;) {
      const current = await findTask(ecs, cluster, taskArn);
      const status = current.lastStatus ?? "";
      // Only a host that fetches layers reports progress: a cached image is never "pulling".
      if (current.pullStoppedAt === undefined && status !== "STOPPED") {
        const progress = await pullProgress(client, taskArn);
        if (progress !== undefined) {
          const line = `pulling ${image}: ${(progress.bytesDone / MB).toFixed(1)} / ${(progress.bytesTotal / MB).toFixed(1)} MB`;
          if (process.stderr.isTTY) process.stderr.write(`\r${line}  `);
          else if (!pulling) process.stderr.write(`${line}\n`);
          pulling = true;
        }
      } else if (pulling) {
        if (process.stderr.isTTY) process.stderr.write("\n");
        pulling = false;
      }
      if (
        streaming === undefined &&
        STARTED.includes(status) &&
        current.pullStoppedAt !== undefined
      )
        streaming = streamTaskLogs(client, taskArn, { follow: true }, printRecord).catch(
          (error: unknown) => {
            process.stderr.write(
              `berth run: ${error instanceof Error ? error.message : String(error)}\n`,
            );
          },
        );
      if (status === "STOPPED") {
        await streaming;
        const main = current.containers?.find((c) => c.name === "main");
        if (current.stopCode === "TaskFailedToStart" || main?.exitCode === undefined) {
          process.stderr.write(
            `berth run: the task stopped before it ran: ${current.stoppedReason ?? "no reason given"}\n`,
          );
          return 125;
        }
        if (main.reason !== undefined) process.stderr.write(`${main.reason}\n`);
        return main.exitCode;
      }
      const waited = await Promise.race([
        givenUp.then(() => "gave-up" as const),
        new Promise<"tick">((resolve) => setTimeout(() => resolve("tick"), 100)),
      ]);
      if (waited === "gave-up") return 130;
    }
  } finally {
    process.off("SIGINT", interrupt);
  }
}
