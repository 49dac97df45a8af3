// EventBridge Scheduler through the Debian AWS CLI (`aws scheduler`) against a real `berth up`
// whose schedule clock runs 20 times as fast as real time (BERTH_SCHEDULE_CLOCK): rate(1 minute)
// runs a real task each scaled minute, startedBy the schedule and with the target's overrides;
// disabling stops it; at() runs once; a cron fire missed while Berth was stopped runs exactly
// once when it comes back, even across another crash; bad input gets Scheduler's errors.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { purgeHost } from "../../src/agent/index.js";
import {
  pushBusyboxImage,
  startBerthProcess,
  tempDataDir,
  until,
  type BerthProcess,
  removeDataDir,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";
const SCALE = 20;
const ROLE = "arn:aws:iam::000000000000:role/berth-scheduler";
const CLUSTER = "arn:aws:ecs:us-east-1:000000000000:cluster/default";

let dataDir: string;
let berth: BerthProcess;
let ecs: ECSClient;
let taskDefinitionArn: string;

/** A Berth on `dataDir` whose schedule clock starts at `start` and runs SCALE times as fast. */
async function startAt(start: string, port = 0): Promise<void> {
  berth = await startBerthProcess({
    dataDir,
    port,
    keepDataDir: true,
    env: { BERTH_SCHEDULE_CLOCK: `${start},${SCALE}` },
  });
  ecs?.destroy();
  ecs = new ECSClient(berth.clientConfig);
}

async function aws(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", berth.endpoint, "--output", "json", "scheduler", ...args],
    { env: berth.awsEnv },
  );
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

async function iam(args: string[]): Promise<void> {
  await run(AWS, ["--endpoint-url", berth.endpoint, "iam", ...args], { env: berth.awsEnv });
}

async function awsFailure(args: string[]): Promise<string> {
  try {
    await aws(args);
  } catch (error) {
    return (error as { stderr: string }).stderr.trim();
  }
  throw new Error(`aws scheduler ${args.join(" ")} succeeded`);
}

function target(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    Arn: CLUSTER,
    RoleArn: ROLE,
    EcsParameters: { TaskDefinitionArn: taskDefinitionArn, LaunchType: "FARGATE" },
    ...extra,
  });
}

/** Every task (running or stopped) a schedule started, by its startedBy. */
async function tasksOf(schedule: string): Promise<string[]> {
  const arns: string[] = [];
  for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
    const page = await ecs.send(
      new ListTasksCommand({ startedBy: `chronos-schedule/${schedule}`, desiredStatus }),
    );
    arns.push(...(page.taskArns ?? []));
  }
  // A task that stopped between the two listings is in both.
  return [...new Set(arns)];
}

/** The schedule clock's now, as Scheduler stamps it (a schedule's LastModificationDate). */
async function scheduleNow(name: string): Promise<number> {
  const got = await aws(["get-schedule", "--name", name]);
  return new Date(String(got.LastModificationDate)).getTime();
}

const atExpression = (at: number): string => `at(${new Date(at).toISOString().slice(0, 19)})`;

before(async () => {
  dataDir = tempDataDir("berth-scheduler-");
  await startAt("2026-03-07T03:00:00Z");
  const image = (await pushBusyboxImage(berth, "busybox")).uri;
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "scheduled-job",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        { name: "job", image, command: ["sh", "-c", "echo scheduled run by $RUN_BY"] },
      ],
    }),
  );
  taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn ?? "";
  // The schedules' role, as AWS's guide for ECS targets has it: Scheduler may assume it, and
  // it may run tasks and pass their roles to ECS. Two that may not: one without ecs:RunTask,
  // one Scheduler may not assume.
  const trust = (service: string) =>
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
    });
  const runTasks = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: "ecs:RunTask", Resource: "*" },
      {
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: "*",
        Condition: { StringLike: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      },
    ],
  });
  const passOnly = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "iam:PassRole", Resource: "*" }],
  });
  const runOnly = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "ecs:RunTask", Resource: "*" }],
  });
  for (const [name, service, policy] of [
    ["berth-scheduler", "scheduler.amazonaws.com", runTasks],
    ["scheduler-no-run", "scheduler.amazonaws.com", passOnly],
    ["scheduler-untrusted", "ecs-tasks.amazonaws.com", runTasks],
    ["scheduler-no-pass", "scheduler.amazonaws.com", runOnly],
    ["scheduled-app", "ecs-tasks.amazonaws.com", passOnly],
  ] as const) {
    await iam([
      "create-role",
      "--role-name",
      name,
      "--assume-role-policy-document",
      trust(service),
    ]);
    await iam([
      "put-role-policy",
      "--role-name",
      name,
      "--policy-name",
      "run",
      "--policy-document",
      policy,
    ]);
  }
});

after(async () => {
  ecs?.destroy();
  await berth?.stop();
  await purgeHost(join(dataDir, "agent"));
  removeDataDir(dataDir);
});

describe("EventBridge Scheduler", () => {
  it("answers bad expressions, time zones, ARNs and names with Scheduler's errors", async () => {
    const create = (name: string, expression: string, more: string[] = []) =>
      awsFailure([
        "create-schedule",
        "--name",
        name,
        "--schedule-expression",
        expression,
        "--flexible-time-window",
        "Mode=OFF",
        "--target",
        target(),
        ...more,
      ]);
    for (const bad of ["cron(* * * * *)", "cron(0 12 * * * *)", "rate(0 minutes)", "every day"])
      assert.match(
        await create("bad", bad),
        new RegExp(
          `\\(ValidationException\\).*Invalid Schedule Expression ${bad.replace(/[()*]/g, "\\$&")}`,
        ),
      );
    assert.match(
      await create("bad", "rate(5 minutes)", ["--schedule-expression-timezone", "Mars/Olympus"]),
      /\(ValidationException\).*Invalid Schedule Expression Timezone Mars\/Olympus/,
    );
    assert.match(
      await awsFailure([
        "create-schedule",
        "--name",
        "bad",
        "--schedule-expression",
        "rate(5 minutes)",
        "--flexible-time-window",
        "Mode=OFF",
        "--target",
        JSON.stringify({ Arn: CLUSTER, RoleArn: "not-a-role" }),
      ]),
      /\(ValidationException\).*1 validation error detected: Value 'not-a-role' at 'Target.RoleArn' failed to satisfy constraint/,
    );
    assert.match(
      await awsFailure([
        "create-schedule",
        "--name",
        "bad",
        "--schedule-expression",
        "rate(5 minutes)",
        "--flexible-time-window",
        "Mode=OFF",
        "--target",
        target({ EcsParameters: { TaskDefinitionArn: "scheduled-job" } }),
      ]),
      /\(ValidationException\).*TaskDefinitionArn is not in correct format: scheduled-job/,
    );
    assert.match(
      await create("bad", "rate(5 minutes)", ["--group-name", "no-such-group"]),
      /\(ResourceNotFoundException\).*Schedule group no-such-group does not exist\./,
    );
    assert.match(
      await awsFailure(["get-schedule", "--name", "nope"]),
      /\(ResourceNotFoundException\).*Schedule nope does not exist\./,
    );
    assert.match(
      await awsFailure(["delete-schedule-group", "--name", "default"]),
      /\(ValidationException\)/,
    );
    // A group with tags; schedules in it; a second group of that name conflicts.
    const created = await aws([
      "create-schedule-group",
      "--name",
      "batch",
      "--tags",
      "Key=team,Value=data",
    ]);
    const groupArn = String(created.ScheduleGroupArn);
    assert.equal(groupArn, "arn:aws:scheduler:us-east-1:000000000000:schedule-group/batch");
    assert.match(
      await awsFailure(["create-schedule-group", "--name", "batch"]),
      /\(ConflictException\)/,
    );
    assert.deepEqual((await aws(["list-tags-for-resource", "--resource-arn", groupArn])).Tags, [
      { Key: "team", Value: "data" },
    ]);
    const groups = (await aws(["list-schedule-groups"])).ScheduleGroups as { Name: string }[];
    assert.deepEqual(
      groups.map((group) => group.Name),
      ["batch", "default"],
    );
    await aws([
      "create-schedule",
      "--name",
      "nightly",
      "--group-name",
      "batch",
      "--schedule-expression",
      "cron(0 3 ? * MON-FRI *)",
      "--schedule-expression-timezone",
      "Europe/Berlin",
      "--flexible-time-window",
      "Mode=FLEXIBLE,MaximumWindowInMinutes=15",
      "--target",
      target(),
    ]);
    assert.match(
      await awsFailure([
        "create-schedule",
        "--name",
        "nightly",
        "--group-name",
        "batch",
        "--schedule-expression",
        "rate(1 day)",
        "--flexible-time-window",
        "Mode=OFF",
        "--target",
        target(),
      ]),
      /\(ConflictException\).*Schedule nightly already exists\./,
    );
    const got = await aws(["get-schedule", "--name", "nightly", "--group-name", "batch"]);
    assert.equal(got.Arn, "arn:aws:scheduler:us-east-1:000000000000:schedule/batch/nightly");
    assert.equal(got.ScheduleExpressionTimezone, "Europe/Berlin");
    assert.deepEqual(got.FlexibleTimeWindow, { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 });
    assert.deepEqual((got.Target as { RetryPolicy: unknown }).RetryPolicy, {
      MaximumEventAgeInSeconds: 86400,
      MaximumRetryAttempts: 185,
    });
    // Deleting the group deletes its schedules.
    await aws(["delete-schedule-group", "--name", "batch"]);
    assert.match(
      await awsFailure(["get-schedule", "--name", "nightly", "--group-name", "batch"]),
      /\(ResourceNotFoundException\)/,
    );
  });

  it("runs rate(1 minute) each scaled minute, startedBy the schedule, until disabled", async () => {
    const input = JSON.stringify({
      containerOverrides: [{ name: "job", environment: [{ name: "RUN_BY", value: "scheduler" }] }],
    });
    const args = (state: string) => [
      "--name",
      "every-minute",
      "--schedule-expression",
      "rate(1 minute)",
      "--flexible-time-window",
      "Mode=OFF",
      "--state",
      state,
      "--target",
      target({ Input: input, RetryPolicy: { MaximumRetryAttempts: 3 } }),
    ];
    await aws(["create-schedule", ...args("ENABLED")]);
    // A minute of schedule time is 3 s: three runs within a generous bound.
    await until(
      "3 task(s) of every-minute",
      () => tasksOf("every-minute"),
      (arns) => arns.length >= 3,
      { timeoutMs: 90_000, everyMs: 500, context: () => berth.output().slice(-3000) },
    );
    const arns = await tasksOf("every-minute");
    const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ tasks: arns.slice(0, 3) }));
    assert.equal(tasks.length, 3);
    for (const task of tasks) {
      assert.equal(task.startedBy, "chronos-schedule/every-minute");
      assert.equal(task.taskDefinitionArn, taskDefinitionArn);
      assert.deepEqual(task.overrides?.containerOverrides?.[0]?.environment, [
        { name: "RUN_BY", value: "scheduler" },
      ]);
    }
    await aws(["update-schedule", ...args("DISABLED")]);
    assert.equal((await aws(["get-schedule", "--name", "every-minute"])).State, "DISABLED");
    await sleep(1_500); // a pass under way when the update landed finishes
    const before = (await tasksOf("every-minute")).length;
    await sleep(4 * (60_000 / SCALE)); // four scaled minutes
    assert.equal((await tasksOf("every-minute")).length, before, "no run after DISABLED");
  });

  it("runs at() once", async () => {
    await aws([
      "create-schedule",
      "--name",
      "one-shot",
      "--schedule-expression",
      "at(2030-01-01T00:00:00)",
      "--flexible-time-window",
      "Mode=OFF",
      "--target",
      target(),
    ]);
    // Ten scheduled minutes (30 s) ahead: an AWS CLI call on a loaded machine takes seconds.
    const at = (await scheduleNow("one-shot")) + 10 * 60_000;
    await aws([
      "update-schedule",
      "--name",
      "one-shot",
      "--schedule-expression",
      atExpression(at),
      "--flexible-time-window",
      "Mode=OFF",
      "--target",
      target(),
    ]);
    await until(
      "1 task(s) of one-shot",
      () => tasksOf("one-shot"),
      (arns) => arns.length >= 1,
      { timeoutMs: 120_000, everyMs: 500, context: () => berth.output().slice(-3000) },
    );
    await sleep(3 * (60_000 / SCALE));
    assert.equal((await tasksOf("one-shot")).length, 1);
  });

  it("runs as the target's RoleArn: a role that may not run the task, pass its role, or that Scheduler may not assume, starts nothing", async () => {
    const refused: Record<string, RegExp> = {
      "no-run": new RegExp(
        `schedule run dropped schedule=arn:aws:scheduler:us-east-1:000000000000:schedule/default/no-run .*reason=User: arn:aws:sts::000000000000:assumed-role/scheduler-no-run/[0-9a-f]+ is not authorized to perform: ecs:RunTask on resource: ${taskDefinitionArn} because no identity-based policy allows the ecs:RunTask action`,
      ),
      untrusted:
        /schedule run dropped schedule=arn:aws:scheduler:us-east-1:000000000000:schedule\/default\/untrusted .*reason=Not authorized to perform sts:AssumeRole on arn:aws:iam::000000000000:role\/scheduler-untrusted/,
    };
    // A definition that hands its task a role: the schedule's role must pass it.
    const roled = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "scheduled-roled",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        taskRoleArn: "arn:aws:iam::000000000000:role/scheduled-app",
        containerDefinitions: [{ name: "job", image: "busybox", command: ["true"] }],
      }),
    );
    const roledArn = roled.taskDefinition?.taskDefinitionArn ?? "";
    refused["no-pass"] = new RegExp(
      `schedule run dropped schedule=arn:aws:scheduler:us-east-1:000000000000:schedule/default/no-pass .*reason=User: arn:aws:sts::000000000000:assumed-role/scheduler-no-pass/[0-9a-f]+ is not authorized to perform: iam:PassRole on resource: arn:aws:iam::000000000000:role/scheduled-app`,
    );
    for (const name of Object.keys(refused))
      await aws([
        "create-schedule",
        "--name",
        name,
        "--schedule-expression",
        "rate(1 minute)",
        "--flexible-time-window",
        "Mode=OFF",
        "--target",
        target({
          RoleArn: `arn:aws:iam::000000000000:role/scheduler-${name}`,
          ...(name === "no-pass"
            ? { EcsParameters: { TaskDefinitionArn: roledArn, LaunchType: "FARGATE" } }
            : {}),
        }),
      ]);
    // Each fires at once (rate counts from the write): its refusal is logged, twice at least.
    for (const [name, pattern] of Object.entries(refused))
      await until(
        `two refused runs of ${name}`,
        async () =>
          berth
            .output()
            .split("\n")
            .filter((line) => pattern.test(line)).length,
        (count) => count >= 2,
        { timeoutMs: 90_000, everyMs: 500, context: () => berth.output().slice(-3000) },
      );
    for (const name of Object.keys(refused)) {
      assert.deepEqual(await tasksOf(name), [], `${name} started a task`);
      await aws(["delete-schedule", "--name", name]);
    }
  });

  it("runs a fire missed while Berth was stopped exactly once when it comes back", async () => {
    // 09:00 in Berlin is 08:00Z in March; the schedule clock is still well before that.
    await aws([
      "create-schedule",
      "--name",
      "daily",
      "--schedule-expression",
      "cron(0 9 * * ? *)",
      "--schedule-expression-timezone",
      "Europe/Berlin",
      "--flexible-time-window",
      "Mode=OFF",
      "--target",
      target(),
    ]);
    assert.ok((await scheduleNow("daily")) < Date.parse("2026-03-07T07:30:00Z"));
    assert.deepEqual(await tasksOf("daily"), []);
    const port = Number(new URL(berth.endpoint).port);
    await berth.stop();
    // Back two hours after the fire was due.
    await startAt("2026-03-07T10:00:00Z", port);
    await until(
      "1 task(s) of daily",
      () => tasksOf("daily"),
      (arns) => arns.length >= 1,
      { timeoutMs: 60_000, everyMs: 500, context: () => berth.output().slice(-3000) },
    );
    assert.match(
      berth.output(),
      /schedule missed its time while Berth was down; running it once now/,
    );
    await sleep(3_000);
    assert.equal((await tasksOf("daily")).length, 1);
    // A crash and a later start: the fire was recorded, it does not run again.
    await berth.kill();
    await startAt("2026-03-07T10:30:00Z", port);
    await sleep(5_000);
    assert.equal((await tasksOf("daily")).length, 1);
    assert.doesNotMatch(berth.output(), /schedule missed its time/);
  });
});
