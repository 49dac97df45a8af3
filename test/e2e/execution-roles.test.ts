/**
 * What a task's execution role does at start, against a real `berth up` with the Debian AWS CLI
 * and real pulls: Berth's registry is pulled as the role (a role that may not log in, or may not
 * read the repository, fails the task as Fargate does, even with the image already on the host),
 * RunTask's executionRoleArn override is the one used, and `repositoryCredentials` log in to a
 * private registry this test starts on loopback (Debian's docker-registry behind htpasswd).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type ContainerDefinition,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  startEcsTestbed,
  startGoRegistry,
  waitForTask,
  type EcsTestbed,
  type GoRegistry,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";
const ACCOUNT = "000000000000";
const role = (name: string): string => `arn:aws:iam::${ACCOUNT}:role/${name}`;

let bed: EcsTestbed;
let registry: GoRegistry;
const answers: string[] = [];
const PULLER = {
  username: "puller",
  password: `reg-pass-${randomBytes(12).toString("base64url")}`,
};
let privateImage = "";
let loginArn = "";
let wrongLoginArn = "";

async function aws(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", bed.berth.endpoint, "--output", "json", ...args],
    { env: bed.berth.awsEnv },
  );
  answers.push(stdout);
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

const policy = (statements: object[]): string =>
  JSON.stringify({ Version: "2012-10-17", Statement: statements });

before(async () => {
  bed = await startEcsTestbed();
  const trust = policy([
    {
      Effect: "Allow",
      Principal: { Service: "ecs-tasks.amazonaws.com" },
      Action: "sts:AssumeRole",
    },
  ]);
  for (const name of ["pull-exec", "no-login", "no-repo"])
    await aws(["iam", "create-role", "--role-name", name, "--assume-role-policy-document", trust]);
  await aws([
    "iam",
    "attach-role-policy",
    "--role-name",
    "pull-exec",
    "--policy-arn",
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
  ]);
  await aws([
    "iam",
    "put-role-policy",
    "--role-name",
    "pull-exec",
    "--policy-name",
    "registry-login",
    "--policy-document",
    policy([
      {
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: `arn:aws:secretsmanager:*:${ACCOUNT}:secret:registry/*`,
      },
    ]),
  ]);
  // May log in to the registry, but read only another repository.
  await aws([
    "iam",
    "put-role-policy",
    "--role-name",
    "no-repo",
    "--policy-name",
    "other-repo",
    "--policy-document",
    policy([
      { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      {
        Effect: "Allow",
        Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Resource: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/other`,
      },
    ]),
  ]);

  // Log shipping as the role: "logs-a" writes to its own groups only, "logs-no-put" may open
  // streams but not put events. Both may pull.
  for (const [name, statements] of [
    [
      "logs-a",
      [
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/tenant-a/*`,
        },
      ],
    ],
    ["logs-no-put", [{ Effect: "Allow", Action: "logs:CreateLogStream", Resource: "*" }]],
  ] as const) {
    await aws(["iam", "create-role", "--role-name", name, "--assume-role-policy-document", trust]);
    await aws([
      "iam",
      "attach-role-policy",
      "--role-name",
      name,
      "--policy-arn",
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    ]);
    await aws([
      "iam",
      "put-role-policy",
      "--role-name",
      name,
      "--policy-name",
      "logs",
      "--policy-document",
      policy([...statements]),
    ]);
  }
  for (const group of ["/tenant-a/app", "/tenant-b/app"])
    await aws(["logs", "create-log-group", "--log-group-name", group]);

  // A private registry on loopback holding a copy of the test image, behind a password.
  registry = await startGoRegistry({ auth: PULLER });
  privateImage = `${registry.host}/private/app:1`;
  const { stdout: ecrPassword } = await run(
    AWS,
    ["--endpoint-url", bed.berth.endpoint, "ecr", "get-login-password"],
    { env: bed.berth.awsEnv },
  );
  await run("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    "--src-creds",
    `AWS:${ecrPassword.trim()}`,
    "--dest-tls-verify=false",
    "--dest-creds",
    `${PULLER.username}:${PULLER.password}`,
    `docker://${bed.image}`,
    `docker://${privateImage}`,
  ]);
  loginArn = String(
    (
      await aws([
        "secretsmanager",
        "create-secret",
        "--name",
        "registry/puller",
        "--secret-string",
        JSON.stringify(PULLER),
      ])
    ).ARN,
  );
  wrongLoginArn = String(
    (
      await aws([
        "secretsmanager",
        "create-secret",
        "--name",
        "registry/wrong",
        "--secret-string",
        JSON.stringify({ username: PULLER.username, password: "not-the-password" }),
      ])
    ).ARN,
  );
});
after(async () => {
  await registry?.stop();
  await bed?.stop();
});

/** Registers FAMILY (one container, `echo pulled`) with ROLE, runs it, waits for its end. */
async function runToStop(
  family: string,
  executionRoleArn: string,
  container: Partial<ContainerDefinition> = {},
  override?: string,
): Promise<Task> {
  const { taskDefinition } = await bed.ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      executionRoleArn,
      containerDefinitions: [
        { name: "app", image: bed.image, command: ["echo", "pulled"], ...container },
      ],
    }),
  );
  const { tasks = [], failures = [] } = await bed.ecs.send(
    new RunTaskCommand({
      taskDefinition: taskDefinition?.taskDefinitionArn,
      launchType: "FARGATE",
      ...(override === undefined ? {} : { overrides: { executionRoleArn: override } }),
    }),
  );
  assert.deepEqual(failures, []);
  const task = await waitForTask(bed.ecs, tasks[0]?.taskArn ?? "", "STOPPED");
  answers.push(JSON.stringify(task));
  return task;
}

const loginDenied = (roleName: string): RegExp =>
  new RegExp(
    `^ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time\\(s\\): AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/[0-9a-f]+ is not authorized to perform: ecr:GetAuthorizationToken on resource: \\* because no identity-based policy allows the ecr:GetAuthorizationToken action$`,
  );

const awslogs = (group: string): Partial<ContainerDefinition> => ({
  logConfiguration: {
    logDriver: "awslogs",
    options: {
      "awslogs-group": group,
      "awslogs-region": "us-east-1",
      "awslogs-stream-prefix": "p",
    },
  },
});

/** The messages of a task's stream `p/app/ID` in GROUP (none while the stream is absent). */
async function shipped(group: string, task: Task): Promise<string[] | undefined> {
  const streams = (await aws(["logs", "describe-log-streams", "--log-group-name", group])) as {
    logStreams?: Array<{ logStreamName: string }>;
  };
  const stream = `p/app/${task.taskArn?.split("/").pop() ?? ""}`;
  if (!(streams.logStreams ?? []).some((s) => s.logStreamName === stream)) return undefined;
  const page = (await aws([
    "logs",
    "get-log-events",
    "--log-group-name",
    group,
    "--log-stream-name",
    stream,
    "--start-from-head",
  ])) as { events?: Array<{ message: string }> };
  return (page.events ?? []).map((e) => e.message);
}

/** Polls `shipped` until it holds a line or `ms` pass; the last answer. */
async function shippedWithin(group: string, task: Task, ms: number): Promise<string[] | undefined> {
  const deadline = Date.now() + ms;
  let lines = await shipped(group, task);
  while ((lines ?? []).length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    lines = await shipped(group, task);
  }
  return lines;
}

describe("awslogs as the execution role", { timeout: 600_000 }, () => {
  it("a role may ship into its own log group", async () => {
    const task = await runToStop("logs-own", role("logs-a"), awslogs("/tenant-a/app"));
    assert.equal(task.containers?.[0]?.exitCode, 0, task.stoppedReason);
    assert.deepEqual(await shippedWithin("/tenant-a/app", task, 30_000), ["pulled"]);
  });

  it("a role without logs permissions on another tenant's group cannot write into it: the task fails to start", async () => {
    const task = await runToStop("logs-other", role("logs-a"), awslogs("/tenant-b/app"));
    assert.equal(task.stopCode, "TaskFailedToStart");
    const id = task.taskArn?.split("/").pop() ?? "";
    assert.equal(
      task.stoppedReason,
      `ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/logs-a/${id} is not authorized to perform: logs:CreateLogStream on resource: arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/tenant-b/app:log-stream:p/app/${id} because no identity-based policy allows the logs:CreateLogStream action : exit status 1`,
    );
    assert.equal(task.containers?.[0]?.exitCode, undefined, "the container never ran");
    const streams = (await aws([
      "logs",
      "describe-log-streams",
      "--log-group-name",
      "/tenant-b/app",
    ])) as {
      logStreams?: unknown[];
    };
    assert.deepEqual(streams.logStreams, [], "nothing was written into the other tenant's group");
  });

  it("a role that may open the stream but not put events runs, and its lines do not arrive", async () => {
    const task = await runToStop("logs-no-put", role("logs-no-put"), awslogs("/tenant-b/app"));
    assert.equal(task.containers?.[0]?.exitCode, 0, task.stoppedReason);
    // The stream was opened as the container started; its lines were refused (the first case
    // shows them arriving well within this wait).
    assert.deepEqual(await shippedWithin("/tenant-b/app", task, 10_000), []);
  });
});

describe("execution roles", { timeout: 600_000 }, () => {
  it("pull Berth's registry as the role: one with the permissions runs the task", async () => {
    const task = await runToStop("pull-ok", role("pull-exec"));
    assert.equal(task.containers?.[0]?.exitCode, 0, task.stoppedReason);
  });

  it("a role that may not get a registry login fails the task as Fargate does", async () => {
    const task = await runToStop("pull-no-login", role("no-login"));
    assert.equal(task.stopCode, "TaskFailedToStart");
    assert.match(task.stoppedReason ?? "", loginDenied("no-login"));
    assert.equal(task.containers?.[0]?.exitCode, undefined);
  });

  it("RunTask's executionRoleArn override is the role used", async () => {
    const task = await runToStop("pull-override", role("pull-exec"), {}, role("no-login"));
    assert.match(task.stoppedReason ?? "", loginDenied("no-login"));
  });

  it("a role that may not read the repository: CannotPullContainerError, image cached or not", async () => {
    // The image is on this host already (the tasks above pulled it): the registry is asked anyway.
    const task = await runToStop("pull-no-repo", role("no-repo"));
    assert.equal(task.stopCode, "TaskFailedToStart");
    assert.match(
      task.stoppedReason ?? "",
      /^CannotPullContainerError: .*403.*ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:000000000000:repository\/busybox/,
    );
  });

  it("repositoryCredentials log in to a private registry from a Secrets Manager secret", async () => {
    const ok = await runToStop("private-ok", role("pull-exec"), {
      image: privateImage,
      repositoryCredentials: { credentialsParameter: loginArn },
    });
    assert.equal(ok.containers?.[0]?.exitCode, 0, ok.stoppedReason);
    // The registry does ask: a wrong password, and none at all, fail the pull.
    const wrong = await runToStop("private-wrong", role("pull-exec"), {
      image: privateImage,
      repositoryCredentials: { credentialsParameter: wrongLoginArn },
    });
    assert.equal(wrong.stopCode, "TaskFailedToStart");
    assert.match(wrong.stoppedReason ?? "", /^CannotPullContainerError: .*401/);
    const none = await runToStop("private-none", role("pull-exec"), { image: privateImage });
    assert.match(none.stoppedReason ?? "", /^CannotPullContainerError: /);
    // The password reached no answer and no line of Berth's output.
    const described = await bed.ecs.send(
      new DescribeTasksCommand({ tasks: [ok.taskArn ?? "", wrong.taskArn ?? ""] }),
    );
    answers.push(JSON.stringify(described));
    const text = [...answers, bed.berth.output()].join("\n");
    assert.ok(!text.includes(PULLER.password), "the registry password reached an answer or a log");
  });
});
