/**
 * Secrets in tasks against a real `berth up`, with the Debian AWS CLI: a Secrets Manager secret,
 * a JSON key of one and an SSM SecureString reach a container's environment (it prints only
 * their hashes), read as the task's execution role; the values appear nowhere else — not in
 * any file of the data dir (the SQLite database's bytes included), nor any API answer, nor
 * Berth's own output. A rotated secret reaches the next task; a missing one, or one the role
 * may not read, stops the task with ECS's ResourceInitializationError.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, readdirSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type Secret,
} from "@aws-sdk/client-ecs";
import {
  startEcsTestbed,
  waitForTask,
  type BerthProcess,
  type EcsTestbed,
  taskLogs,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";

let bed: EcsTestbed;
let berth: BerthProcess;
const answers: string[] = [];
const taskArns: string[] = [];

const token = (): string => randomBytes(12).toString("base64url");
const PLAIN = `db-pass-${token()}`;
const ROTATED = `db-pass-rotated-${token()}`;
const JSON_PASS = `json-pass-${token()}`;
const SECURE = `ssm-secure-${token()}`;
const sha = (value: string): string => createHash("sha256").update(value).digest("hex");

async function aws(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", berth.endpoint, "--output", "json", ...args],
    {
      env: berth.awsEnv,
    },
  );
  answers.push(stdout);
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

async function awsFailure(args: string[]): Promise<string> {
  try {
    await aws(args);
  } catch (error) {
    return (error as { stderr: string }).stderr.trim();
  }
  assert.fail("expected the aws command to fail");
}

let secretArn = "";
let jsonArn = "";
const EXEC_ROLE = "arn:aws:iam::000000000000:role/task-exec";
const POOR_ROLE = "arn:aws:iam::000000000000:role/task-exec-poor";

before(async () => {
  bed = await startEcsTestbed();
  berth = bed.berth;
  secretArn = String(
    (await aws(["secretsmanager", "create-secret", "--name", "app/db", "--secret-string", PLAIN]))
      .ARN,
  );
  jsonArn = String(
    (
      await aws([
        "secretsmanager",
        "create-secret",
        "--name",
        "app/json",
        "--secret-string",
        JSON.stringify({ username: "admin", password: JSON_PASS }),
      ])
    ).ARN,
  );
  await aws([
    "ssm",
    "put-parameter",
    "--name",
    "/app/token",
    "--type",
    "SecureString",
    "--value",
    SECURE,
  ]);
  const trust = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
      },
    ],
  });
  for (const role of ["task-exec", "task-exec-poor"])
    await aws(["iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust]);
  // Its pulls of Berth's registry are the role's too.
  await aws([
    "iam",
    "attach-role-policy",
    "--role-name",
    "task-exec",
    "--policy-arn",
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
  ]);
  await aws([
    "iam",
    "put-role-policy",
    "--role-name",
    "task-exec",
    "--policy-name",
    "read-secrets",
    "--policy-document",
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: "arn:aws:secretsmanager:*:*:secret:app/*",
        },
        {
          Effect: "Allow",
          Action: "ssm:GetParameters",
          Resource: "arn:aws:ssm:*:*:parameter/app/*",
        },
      ],
    }),
  ]);
});
after(() => bed?.stop());

const PRINT_HASHES = [
  "sh",
  "-c",
  'for v in "$DB" "$JSON_PASS" "$TOKEN"; do printf %s "$v" | sha256sum | cut -c1-64; done',
];

async function runWithSecrets(
  family: string,
  secrets: Secret[],
  // ECS refuses secrets without an execution role at registration.
  executionRoleArn = EXEC_ROLE,
): Promise<string> {
  const { taskDefinition } = await bed.ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      executionRoleArn,
      containerDefinitions: [{ name: "app", image: bed.image, command: PRINT_HASHES, secrets }],
    }),
  );
  answers.push(JSON.stringify(taskDefinition));
  const { tasks = [], failures = [] } = await bed.ecs.send(
    new RunTaskCommand({
      taskDefinition: taskDefinition?.taskDefinitionArn,
      launchType: "FARGATE",
    }),
  );
  answers.push(JSON.stringify(tasks));
  assert.deepEqual(failures, []);
  taskArns.push(tasks[0]?.taskArn ?? "");
  return tasks[0]?.taskArn ?? "";
}

async function logsOf(taskArn: string): Promise<string> {
  const stdout = await taskLogs(berth, taskArn);
  answers.push(stdout);
  return stdout;
}

const ALL_SECRETS = (): Secret[] => [
  { name: "DB", valueFrom: secretArn },
  { name: "JSON_PASS", valueFrom: `${jsonArn}:password::` },
  { name: "TOKEN", valueFrom: "/app/token" },
];

describe("task secrets", () => {
  it("reach the container's environment, read as the execution role", async () => {
    const taskArn = await runWithSecrets("secrets-ok", ALL_SECRETS());
    const task = await waitForTask(bed.ecs, taskArn, "STOPPED");
    answers.push(JSON.stringify(task));
    assert.equal(task.containers?.[0]?.exitCode, 0, task.stoppedReason);
    const lines = (await logsOf(taskArn))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^[0-9a-f]{64}$/.test(l));
    assert.deepEqual(lines, [sha(PLAIN), sha(JSON_PASS), sha(SECURE)]);
    // DescribeTaskDefinition shows where each value comes from, never the value.
    const described = await bed.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: "secrets-ok" }),
    );
    answers.push(JSON.stringify(described));
    assert.deepEqual(described.taskDefinition?.containerDefinitions?.[0]?.secrets, ALL_SECRETS());
  });

  it("a rotated secret reaches the next task", async () => {
    await aws([
      "secretsmanager",
      "put-secret-value",
      "--secret-id",
      "app/db",
      "--secret-string",
      ROTATED,
    ]);
    const taskArn = await runWithSecrets("secrets-rotated", [
      { name: "DB", valueFrom: "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db" },
    ]);
    const task = await waitForTask(bed.ecs, taskArn, "STOPPED");
    answers.push(JSON.stringify(task));
    const lines = (await logsOf(taskArn))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^[0-9a-f]{64}$/.test(l));
    assert.equal(lines[0], sha(ROTATED));
  });

  it("a missing secret stops the task with ResourceInitializationError", async () => {
    const missing = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/missing-AbCdEf";
    const taskArn = await runWithSecrets("secrets-missing", [{ name: "DB", valueFrom: missing }]);
    const task = await waitForTask(bed.ecs, taskArn, "STOPPED");
    answers.push(JSON.stringify(task));
    assert.equal(task.stopCode, "TaskFailedToStart");
    assert.equal(
      task.stoppedReason,
      `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret ${missing} from secrets manager: operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, api error ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
    );
    const param = await runWithSecrets("secrets-missing-ssm", [
      { name: "TOKEN", valueFrom: "/app/none" },
    ]);
    const stopped = await waitForTask(bed.ecs, param, "STOPPED");
    assert.equal(
      stopped.stoppedReason,
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: invalid ssm parameters: /app/none",
    );
  });

  it("an execution role that may not read the secret stops the task with AccessDenied", async () => {
    const taskArn = await runWithSecrets(
      "secrets-denied",
      [{ name: "DB", valueFrom: secretArn }],
      POOR_ROLE,
    );
    const task = await waitForTask(bed.ecs, taskArn, "STOPPED");
    answers.push(JSON.stringify(task));
    assert.match(
      task.stoppedReason ?? "",
      /^ResourceInitializationError: unable to pull secrets or registry auth: .*AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role\/task-exec-poor\/[0-9a-f]+ is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:000000000000:secret:app\/db-[A-Za-z0-9]{6} because no identity-based policy allows/,
    );
  });

  it("bad references and ARNs get AWS's errors", async () => {
    assert.match(
      await awsFailure([
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-XXXXXX",
      ]),
      /ResourceNotFoundException.*Secrets Manager can't find the specified secret\./,
    );
    assert.match(
      await awsFailure(["ssm", "get-parameter", "--name", "/app/none"]),
      /ParameterNotFound/,
    );
    assert.match(
      await awsFailure([
        "ssm",
        "put-parameter",
        "--name",
        "/app/token",
        "--type",
        "String",
        "--value",
        "x",
      ]),
      /ParameterAlreadyExists.*set the overwrite option in the request to true/,
    );
    const bad = await runWithSecrets("secrets-bad-arn", [
      { name: "X", valueFrom: "arn:aws:s3:::bucket/key" },
    ]);
    const task = await waitForTask(bed.ecs, bad, "STOPPED");
    assert.match(
      task.stoppedReason ?? "",
      /^ResourceInitializationError: unable to pull secrets or registry auth: .*arn:aws:s3:::bucket\/key/,
    );
  });

  it("the values appear nowhere else: data dir files, API answers, Berth's output", async () => {
    const described = await bed.ecs.send(new DescribeTasksCommand({ tasks: taskArns }));
    assert.equal(described.tasks?.length, taskArns.length);
    answers.push(JSON.stringify(described));
    const values = [PLAIN, ROTATED, JSON_PASS, SECURE];
    const hits: string[] = [];
    let files = 0;
    let databases = 0;
    const walk = (dir: string): void => {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const entry of entries) {
        const path = join(dir, entry);
        let stat;
        try {
          stat = lstatSync(path);
        } catch {
          continue;
        }
        if (stat.isDirectory()) walk(path);
        else if (stat.isFile()) {
          files++;
          let bytes: Buffer;
          try {
            bytes = readFileSync(path);
          } catch {
            continue;
          }
          if (bytes.subarray(0, 15).toString() === "SQLite format 3") databases++;
          for (const value of values) if (bytes.includes(value)) hits.push(`${path}: ${value}`);
        }
      }
    };
    walk(berth.dataDir);
    assert.ok(files > 10, `walked ${files} files`);
    assert.ok(databases > 0, "the store's SQLite file is among them");
    assert.deepEqual(hits, []);
    const text = [...answers, berth.output()].join("\n");
    for (const value of values)
      assert.ok(!text.includes(value), "a value reached an answer or a log");
    assert.ok(answers.length > 10);
  });
});
