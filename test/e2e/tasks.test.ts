// Fargate compute, part 1: real containers under runc, driven through the AWS CLI and SDK.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { claimsOf } from "../../src/agent/network/subnets.js";
import { signedGet } from "../../src/cli/client.js";
import {
  type ECSClient,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  awsCli,
  cpuShareWindows,
  describeTask,
  pushBusyboxImage,
  startEcsTestbed,
  waitForTask,
  type EcsTestbed,
  type BerthProcess,
  taskLogs,
} from "../../src/testing/index.js";

let bed: EcsTestbed;
let berth: BerthProcess;
let ecs: ECSClient;
let image: string;

before(async () => {
  bed = await startEcsTestbed();
  ({ berth, ecs, image } = bed);
});
after(async () => {
  // The tests ran tasks: the server holds its cluster's block on this machine until its data
  // dir goes, and gives it back then (under /run, it would outlast the dir).
  assert.notDeepEqual(claimsOf(berth.dataDir), []);
  await bed.stop();
  assert.deepEqual(claimsOf(berth.dataDir), []);
});

async function runTask(
  family: string,
  containers: ContainerDefinition[],
  cpu = "256",
  memory = "512",
  executionRoleArn?: string,
): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu,
      memory,
      ...(executionRoleArn === undefined ? {} : { executionRoleArn }),
      containerDefinitions: containers.map((c) => ({ image, ...c })),
    }),
  );
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({
      taskDefinition: taskDefinition?.taskDefinitionArn,
      launchType: "FARGATE",
    }),
  );
  assert.deepEqual(failures, []);
  return tasks[0]?.taskArn ?? "";
}

const logsOf = (taskArn: string) => taskLogs(berth, taskArn);

describe("tasks on real containers", () => {
  it("runs with the AWS CLI to RUNNING, isolated, and stops with the exit code and 'Task stopped by user'", async () => {
    const family = "isolated";
    await awsCli(berth, [
      "ecs",
      "register-task-definition",
      "--family",
      family,
      "--requires-compatibilities",
      "FARGATE",
      "--network-mode",
      "awsvpc",
      "--cpu",
      "256",
      "--memory",
      "512",
      "--container-definitions",
      JSON.stringify([
        {
          name: "app",
          image,
          essential: true,
          stopTimeout: 2,
          command: ["sh", "-c", "echo pid=$$; ls /; exec sleep 600"],
        },
      ]),
    ]);
    const started = (await awsCli(berth, [
      "ecs",
      "run-task",
      "--task-definition",
      family,
      "--launch-type",
      "FARGATE",
    ])) as { tasks: Task[] };
    const taskArn = started.tasks[0]?.taskArn ?? "";
    assert.equal(started.tasks[0]?.lastStatus, "PROVISIONING");
    const running = await waitForTask(ecs, taskArn, "RUNNING");
    for (const key of ["createdAt", "pullStartedAt", "pullStoppedAt", "startedAt"] as const)
      assert.ok(running[key] instanceof Date, `${key} is set`);
    assert.ok((running.pullStartedAt as Date) <= (running.startedAt as Date));
    assert.equal(running.containers?.[0]?.lastStatus, "RUNNING");
    assert.match(running.containers?.[0]?.imageDigest ?? "", /^sha256:[0-9a-f]{64}$/);

    const output = await logsOf(taskArn);
    assert.match(output, /^pid=1$/m, "the container is its own PID 1");
    assert.match(output, /^bin$/m);
    assert.doesNotMatch(
      output,
      /^(work|farm|root|home)$/m,
      "the host's root filesystem is not visible",
    );

    await awsCli(berth, ["ecs", "stop-task", "--task", taskArn]);
    const described = (await awsCli(berth, ["ecs", "describe-tasks", "--tasks", taskArn])) as {
      tasks: Task[];
    };
    assert.equal(described.tasks[0]?.desiredStatus, "STOPPED");
    const stopped = await waitForTask(ecs, taskArn, "STOPPED");
    assert.equal(stopped.stopCode, "UserInitiated");
    assert.equal(stopped.stoppedReason, "Task stopped by user");
    // sleep as PID 1 ignores SIGTERM, so it is killed after stopTimeout.
    assert.equal(stopped.containers?.[0]?.exitCode, 137);
    for (const key of ["stoppingAt", "executionStoppedAt", "stoppedAt"] as const)
      assert.ok(stopped[key] instanceof Date, key);
  });

  it("ends a task whose container exceeds its memory with OutOfMemoryError", async () => {
    // dd with a 700 MiB block touches all of it; the task has 512 MiB.
    const taskArn = await runTask("oom", [
      {
        name: "hog",
        command: ["busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=700M", "count=1"],
      },
    ]);
    const stopped = await waitForTask(ecs, taskArn, "STOPPED");
    assert.equal(stopped.containers?.[0]?.exitCode, 137);
    assert.equal(
      stopped.containers?.[0]?.reason,
      "OutOfMemoryError: Container killed due to memory usage",
    );
    assert.equal(stopped.stopCode, "EssentialContainerExited");
  });

  it("holds a 256-unit task to about a quarter of one core", async () => {
    const taskArn = await runTask("burn", [
      { name: "burn", stopTimeout: 1, command: ["sh", "-c", "while :; do :; done"] },
    ]);
    await waitForTask(ecs, taskArn, "RUNNING");
    const id = taskArn.split("/").pop() ?? "";
    const usage = (): number =>
      Number(readFileSync(`/sys/fs/cgroup/cpuacct/berth/${id}/cpuacct.usage`, "utf8"));
    // Every window is under the quota's cap; one at least shows the loop ran.
    const shares = await cpuShareWindows(usage, 0.15);
    await ecs.send(new StopTaskCommand({ task: taskArn }));
    const said = shares.map((share) => `${(share * 100).toFixed(1)}%`).join(", ");
    assert.ok(shares.length > 0 && shares.every((share) => share < 0.4), `used ${said} of a core`);
    assert.ok(
      shares.some((share) => share > 0.15),
      `used ${said} of a core`,
    );
    await waitForTask(ecs, taskArn, "STOPPED");
  });

  it("stops a fork bomb at the pids limit and keeps the host healthy", async () => {
    const taskArn = await runTask("forkbomb", [
      {
        name: "bomb",
        stopTimeout: 1,
        // sleep first: forked after the bomb, it could be refused and end the task early
        command: ["sh", "-c", "sleep 600 & bomb() { bomb | bomb & }; bomb; wait"],
      },
    ]);
    await waitForTask(ecs, taskArn, "RUNNING");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const id = taskArn.split("/").pop() ?? "";
    const pids = Number(readFileSync(`/sys/fs/cgroup/pids/berth/${id}/pids.current`, "utf8"));
    const limit = Number(readFileSync(`/sys/fs/cgroup/pids/berth/${id}/pids.max`, "utf8"));
    assert.ok(pids <= limit, `${pids} processes within the limit of ${limit}`);
    const health = await fetch(`${berth.endpoint}/_berth/health`);
    assert.equal(health.status, 200);
    await ecs.send(new StopTaskCommand({ task: taskArn }));
    await waitForTask(ecs, taskArn, "STOPPED");
    // The host still runs new work.
    const next = await runTask("after-bomb", [{ name: "ok", command: ["true"] }]);
    const done = await waitForTask(ecs, next, "STOPPED");
    assert.equal(done.containers?.[0]?.exitCode, 0);
  });

  it("stops the task when an essential container exits, not when a non-essential one does", async () => {
    const taskArn = await runTask("essentials", [
      { name: "side", essential: false, command: ["sh", "-c", "exit 3"] },
      { name: "main", stopTimeout: 1, command: ["sh", "-c", "sleep 2; exit 7"] },
    ]);
    const stopped = await waitForTask(ecs, taskArn, "STOPPED");
    const side = stopped.containers?.find((c) => c.name === "side");
    const main = stopped.containers?.find((c) => c.name === "main");
    assert.equal(side?.exitCode, 3);
    assert.equal(main?.exitCode, 7);
    assert.equal(stopped.stopCode, "EssentialContainerExited");
    assert.equal(stopped.stoppedReason, "Essential container in task exited");

    // One DescribeTasks of several: in the order asked, by ARN or id, twice if named twice,
    // and a task that is not there among the failures.
    const missing = taskArn.replace(/[^/]+$/, "0".repeat(32));
    const { tasks = [], failures = [] } = await ecs.send(
      new DescribeTasksCommand({ tasks: [taskArn, missing, taskArn.split("/").pop() ?? ""] }),
    );
    assert.deepEqual(
      tasks.map((t) => [t.taskArn, t.lastStatus]),
      [
        [taskArn, "STOPPED"],
        [taskArn, "STOPPED"],
      ],
    );
    assert.deepEqual(failures, [{ arn: missing, reason: "MISSING" }]);
  });

  it("orders start-up by dependsOn SUCCESS", async () => {
    const taskArn = await runTask("ordered", [
      { name: "init", essential: false, command: ["sh", "-c", "sleep 1; echo init-done"] },
      {
        name: "app",
        stopTimeout: 1,
        dependsOn: [{ containerName: "init", condition: "SUCCESS" }],
        command: ["sh", "-c", "echo app-started; exec sleep 600"],
      },
    ]);
    const running = await waitForTask(ecs, taskArn, "RUNNING");
    // The essential app runs only once init has exited with 0.
    const init = running.containers?.find((c) => c.name === "init");
    assert.equal(init?.lastStatus, "STOPPED");
    assert.equal(init?.exitCode, 0);
    const output = await logsOf(taskArn);
    assert.match(output, /^init-done$/m);
    assert.match(output, /^app-started$/m);
    await ecs.send(new StopTaskCommand({ task: taskArn }));
    await waitForTask(ecs, taskArn, "STOPPED");

    const failed = await runTask("ordered-failing", [
      { name: "init", essential: false, command: ["sh", "-c", "exit 1"] },
      {
        name: "app",
        dependsOn: [{ containerName: "init", condition: "SUCCESS" }],
        command: ["true"],
      },
    ]);
    const stopped = await waitForTask(ecs, failed, "STOPPED");
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.equal(
      stopped.containers?.find((c) => c.name === "app")?.exitCode,
      undefined,
      "app never started",
    );
  });

  it("reports image pull progress of a starting task", async () => {
    const cold = await pushBusyboxImage(berth, "progress", {
      files: { "data/blob": "x".repeat(3 * 1024 * 1024) },
    });
    const taskArn = await runTask("progress", [
      { name: "app", image: cold.uri, command: ["true"] },
    ]);
    await waitForTask(ecs, taskArn, "STOPPED");
    const response = await signedGet(
      { endpoint: berth.endpoint, region: berth.region, credentials: berth.credentials },
      "/_berth/tasks/progress",
      { task: taskArn },
    );
    assert.equal(response.status, 200);
    const progress = (await response.json()) as {
      container?: string;
      bytesDone?: number;
      bytesTotal?: number;
    };
    assert.equal(progress.container, "app");
    assert.ok((progress.bytesTotal ?? 0) > 0);
    assert.equal(progress.bytesDone, progress.bytesTotal, "the whole image arrived");
    const unsigned = await fetch(
      `${berth.endpoint}/_berth/tasks/progress?task=${encodeURIComponent(taskArn)}`,
    );
    assert.equal(unsigned.status, 400, "unsigned requests are refused like any API call");
  });

  it("ships a container's output to CloudWatch Logs with the awslogs driver, every line, each stream in order", async () => {
    // Fargate ships awslogs as the execution role: ECS's own managed policy is enough.
    await awsCli(berth, [
      "iam",
      "create-role",
      "--role-name",
      "logged-exec",
      "--assume-role-policy-document",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "ecs-tasks.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      }),
    ]);
    await awsCli(berth, [
      "iam",
      "attach-role-policy",
      "--role-name",
      "logged-exec",
      "--policy-arn",
      "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    ]);
    // awslogs-create-group needs logs:CreateLogGroup besides, as on AWS.
    await awsCli(berth, [
      "iam",
      "put-role-policy",
      "--role-name",
      "logged-exec",
      "--policy-name",
      "create-group",
      "--policy-document",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "logs:CreateLogGroup", Resource: "*" }],
      }),
    ]);
    const taskArn = await runTask(
      "logged",
      [
        {
          name: "app",
          command: [
            "sh",
            "-c",
            "i=1; while [ $i -le 3000 ]; do echo line-$i; i=$((i+1)); done; echo oops >&2",
          ],
          logConfiguration: {
            logDriver: "awslogs",
            options: {
              "awslogs-group": "/ecs/logged",
              "awslogs-region": "us-east-1",
              "awslogs-stream-prefix": "web",
              "awslogs-create-group": "true",
            },
          },
        },
      ],
      "256",
      "512",
      "arn:aws:iam::000000000000:role/logged-exec",
    );
    await waitForTask(ecs, taskArn, "STOPPED");
    const stream = `web/app/${taskArn.split("/").pop() ?? ""}`;
    const messages: string[] = [];
    let token: string | undefined;
    const deadline = Date.now() + 90_000;
    // Shipping finishes moments after the task stops: read until every line is there.
    while (messages.length < 3001 && Date.now() < deadline) {
      const page = (await awsCli(berth, [
        "logs",
        "get-log-events",
        "--log-group-name",
        "/ecs/logged",
        "--log-stream-name",
        stream,
        "--start-from-head",
        ...(token === undefined ? [] : ["--next-token", token]),
      ]).catch(() => ({ events: [], nextForwardToken: token }))) as {
        events: Array<{ message: string }>;
        nextForwardToken?: string;
      };
      messages.push(...page.events.map((e) => e.message));
      if (page.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      token = page.nextForwardToken;
    }
    assert.equal(
      messages.length,
      3001,
      `got ${messages.length} lines, last: ${messages.slice(-2).join(" | ")}`,
    );
    // Each stream keeps its order. Across stdout and stderr there is none to keep: they are two
    // pipes, and the monitor reads whichever is ready (as Docker's does), so on a loaded host the
    // stderr line may be read before the last stdout lines (issue 13 #16).
    assert.deepEqual(
      messages.filter((m) => m !== "oops"),
      Array.from({ length: 3000 }, (_, i) => `line-${i + 1}`),
    );
    assert.equal(messages.filter((m) => m === "oops").length, 1);
  });

  it("runs health checks: a failing one turns the task UNHEALTHY, dependsOn HEALTHY orders start-up", async () => {
    const loop = "trap 'exit 0' TERM; while true; do sleep 0.2; done";
    const failing = await runTask("sick", [
      {
        name: "app",
        stopTimeout: 2,
        command: ["sh", "-c", loop],
        healthCheck: { command: ["CMD-SHELL", "exit 1"], interval: 5, timeout: 2, retries: 2 },
      },
    ]);
    const ordered = await runTask("healthy-order", [
      {
        name: "db",
        stopTimeout: 2,
        command: ["sh", "-c", `sleep 1; echo ok > /ready; ${loop}`],
        healthCheck: {
          command: ["CMD-SHELL", "cat /ready"],
          interval: 5,
          timeout: 2,
          retries: 3,
        },
      },
      {
        name: "app",
        stopTimeout: 2,
        dependsOn: [{ containerName: "db", condition: "HEALTHY" }],
        command: ["sh", "-c", loop],
      },
    ]);
    const deadline = Date.now() + 60_000;
    let sick = await describeTask(ecs, failing);
    let order = await describeTask(ecs, ordered);
    const seenBeforeHealthy: string[] = [];
    while (
      (sick.healthStatus !== "UNHEALTHY" ||
        order.containers?.find((c) => c.name === "app")?.lastStatus !== "RUNNING") &&
      Date.now() < deadline
    ) {
      const db = order.containers?.find((c) => c.name === "db");
      const app = order.containers?.find((c) => c.name === "app");
      if (db?.healthStatus !== "HEALTHY") seenBeforeHealthy.push(app?.lastStatus ?? "");
      await new Promise((resolve) => setTimeout(resolve, 250));
      sick = await describeTask(ecs, failing);
      order = await describeTask(ecs, ordered);
    }
    assert.equal(sick.healthStatus, "UNHEALTHY");
    assert.equal(sick.containers?.[0]?.healthStatus, "UNHEALTHY");
    assert.equal(order.containers?.find((c) => c.name === "db")?.healthStatus, "HEALTHY");
    assert.equal(order.containers?.find((c) => c.name === "app")?.lastStatus, "RUNNING");
    assert.equal(order.healthStatus, "HEALTHY");
    assert.ok(
      seenBeforeHealthy.length > 0 && seenBeforeHealthy.every((s) => s === "PENDING"),
      "app waited for db to be healthy",
    );
    for (const task of [failing, ordered]) await ecs.send(new StopTaskCommand({ task }));
    await waitForTask(ecs, failing, "STOPPED");
    await waitForTask(ecs, ordered, "STOPPED");
  });

  it("fails to start with CannotPullContainerError for an image that does not exist", async () => {
    const host = new URL(berth.endpoint).host;
    const taskArn = await runTask("missing-image", [
      { name: "ghost", image: `${host}/busybox:no-such-tag` },
    ]);
    const stopped = await waitForTask(ecs, taskArn, "STOPPED");
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.match(stopped.stoppedReason ?? "", /^CannotPullContainerError: /);
  });
});
