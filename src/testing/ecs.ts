/**
 * ECS in a test: a Berth process with an ECS client and the busybox image pushed (the preamble
 * of most e2e files), and bounded waits on tasks (waits, not timing assertions).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DescribeTasksCommand, ECSClient, type Task } from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  startBerthProcess,
  type BerthProcess,
  type ProcessOptions,
  type TestBerth,
} from "./harness.js";
import { pushBusyboxImage } from "./push.js";
import { until } from "./wait.js";

const run = promisify(execFile);

export interface EcsTestbed {
  berth: BerthProcess;
  ecs: ECSClient;
  /** The busybox image, pushed as `busybox:latest`. */
  image: string;
  /** Destroys the client and stops the Berth. */
  stop(): Promise<void>;
}

export async function startEcsTestbed(options: ProcessOptions = {}): Promise<EcsTestbed> {
  const berth = await startBerthProcess(options);
  const ecs = new ECSClient(berth.clientConfig);
  try {
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    return {
      berth,
      ecs,
      image,
      async stop() {
        ecs.destroy();
        await berth.stop();
      },
    };
  } catch (error) {
    ecs.destroy();
    await berth.stop();
    throw error;
  }
}

/** DescribeTasks over any number of tasks of one cluster (named by the first ARN). */
export async function describeTasks(ecs: ECSClient, taskArns: string[]): Promise<Task[]> {
  const cluster = taskArns[0]?.split("/")[1];
  const tasks: Task[] = [];
  for (let i = 0; i < taskArns.length; i += 100) {
    const page = await ecs.send(
      new DescribeTasksCommand({ cluster, tasks: taskArns.slice(i, i + 100) }),
    );
    tasks.push(...(page.tasks ?? []));
  }
  return tasks;
}

export async function describeTask(ecs: ECSClient, taskArn: string): Promise<Task> {
  const [task] = await describeTasks(ecs, [taskArn]);
  if (task === undefined) throw new Error(`task ${taskArn} not found`);
  return task;
}

export interface TaskWaitOptions {
  timeoutMs?: number;
  everyMs?: number;
}

/**
 * Polls until the task reaches `status` (or `done` holds for it). A task that stops before a
 * status other than STOPPED fails the wait at once, with its stop code and reason.
 */
export async function waitForTask(
  ecs: ECSClient,
  taskArn: string,
  status: string | ((task: Task) => boolean),
  options: TaskWaitOptions = {},
): Promise<Task> {
  const done = typeof status === "string" ? (t: Task) => t.lastStatus === status : status;
  return until(
    `task ${taskArn} ${typeof status === "string" ? status : "condition"}`,
    () => describeTask(ecs, taskArn),
    (task) => {
      if (done(task)) return true;
      if (task.lastStatus === "STOPPED" && typeof status === "string")
        throw new Error(
          `task stopped before ${status}: ${task.stopCode ?? ""} ${task.stoppedReason ?? ""}`,
        );
      return false;
    },
    { timeoutMs: options.timeoutMs ?? 90_000, everyMs: options.everyMs ?? 100 },
  );
}

/** Polls until every task is STOPPED. */
export async function waitForTasksStopped(
  ecs: ECSClient,
  taskArns: string[],
  options: TaskWaitOptions = {},
): Promise<Task[]> {
  return until(
    `${taskArns.length} tasks STOPPED`,
    () => describeTasks(ecs, taskArns),
    (tasks) => tasks.length === taskArns.length && tasks.every((t) => t.lastStatus === "STOPPED"),
    { timeoutMs: options.timeoutMs ?? 240_000, everyMs: options.everyMs ?? 200 },
  );
}

/** Runs the Debian AWS CLI against the Berth and parses its JSON answer. */
export async function awsCli(berth: TestBerth, args: string[]): Promise<unknown> {
  const { stdout } = await run(
    "/usr/bin/aws",
    ["--endpoint-url", berth.endpoint, "--output", "json", ...args],
    { env: berth.awsEnv },
  );
  return stdout.trim() === "" ? undefined : (JSON.parse(stdout) as unknown);
}

/** A task's logs as `berth logs` prints them, run with the Berth's credentials. */
export async function taskLogs(
  berth: TestBerth,
  taskArn: string,
  options: { cluster?: string; container?: string } = {},
): Promise<string> {
  const args = [BERTH_BIN, "logs", taskArn, "--endpoint", berth.endpoint];
  if (options.cluster !== undefined) args.push("--cluster", options.cluster);
  if (options.container !== undefined) args.push("--container", options.container);
  const { stdout } = await run(process.execPath, args, { env: berth.berthEnv });
  return stdout;
}
