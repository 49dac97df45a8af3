/**
 * IAM through the real clients against a started `berth up`: the Debian AWS CLI creates a user,
 * its access key and a policy that allows ECS only in cluster `team-a` and pulls only from
 * repository `busybox`. With that key the CLI runs a task in team-a, and is refused in team-b,
 * for ListClusters, by an explicit Deny, and for IAM itself, with AWS's AccessDenied texts;
 * skopeo with the user's ECR password pulls what the policy allows and gets 403 DENIED
 * elsewhere. Bad policies and names get IAM's errors. The root key keeps doing everything.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  RegisterTaskDefinitionCommand,
  CreateClusterCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  pushBusyboxImage,
  startEcsTestbed,
  waitForTask,
  type EcsTestbed,
} from "../../src/testing/index.js";
import { consoleFetch, signInByApi } from "./console-browser.js";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";
const ACCOUNT = "000000000000";
const CLUSTER_A = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/team-a`;

let bed: EcsTestbed;
let alice: NodeJS.ProcessEnv;
let taskDefinitionArn: string;

async function aws(args: string[], env: NodeJS.ProcessEnv = bed.berth.awsEnv) {
  const { stdout } = await run(
    AWS,
    ["--endpoint-url", bed.berth.endpoint, "--output", "json", ...args],
    {
      env,
    },
  );
  return stdout.trim() === "" ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

async function awsFailure(
  args: string[],
  env: NodeJS.ProcessEnv = bed.berth.awsEnv,
): Promise<string> {
  try {
    await aws(args, env);
  } catch (error) {
    return (error as { stderr: string }).stderr.trim();
  }
  throw new Error(`aws ${args.join(" ")} succeeded`);
}

const denied = (action: string, resource: string, explicit = false): string =>
  `User: arn:aws:iam::${ACCOUNT}:user/alice is not authorized to perform: ${action} on resource: ${resource} ` +
  (explicit
    ? "with an explicit deny in an identity-based policy"
    : `because no identity-based policy allows the ${action} action`);

const POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "TeamA",
      Effect: "Allow",
      Action: ["ecs:RunTask", "ecs:DescribeTasks", "ecs:ListTasks", "ecs:StopTask"],
      Resource: "*",
      Condition: { ArnEquals: { "ecs:cluster": CLUSTER_A } },
    },
    { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
    {
      Effect: "Allow",
      Action: [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
      ],
      Resource: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/busybox`,
    },
  ],
};

describe("IAM users and policies", { timeout: 540_000 }, () => {
  before(async () => {
    bed = await startEcsTestbed();
    await pushBusyboxImage(bed.berth, "private");
    for (const clusterName of ["team-a", "team-b"])
      await bed.ecs.send(new CreateClusterCommand({ clusterName }));
    const registered = await bed.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "probe",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "main", image: bed.image, command: ["sleep", "300"] }],
      }),
    );
    taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn ?? "";
    await aws(["iam", "create-user", "--user-name", "alice"]);
    const key = (await aws(["iam", "create-access-key", "--user-name", "alice"])) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string };
    };
    await aws([
      "iam",
      "put-user-policy",
      "--user-name",
      "alice",
      "--policy-name",
      "team-a",
      "--policy-document",
      JSON.stringify(POLICY),
    ]);
    alice = {
      ...bed.berth.awsEnv,
      AWS_ACCESS_KEY_ID: key.AccessKey.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: key.AccessKey.SecretAccessKey,
    };
  });
  after(async () => {
    await bed?.stop();
  });

  it("the CLI reads back the user, its key and its policy", async () => {
    const user = (await aws(["iam", "get-user", "--user-name", "alice"])) as {
      User: { Arn: string; UserId: string };
    };
    assert.equal(user.User.Arn, `arn:aws:iam::${ACCOUNT}:user/alice`);
    assert.match(user.User.UserId, /^AIDA[A-Z2-7]{17}$/);
    const keys = (await aws(["iam", "list-access-keys", "--user-name", "alice"])) as {
      AccessKeyMetadata: { AccessKeyId: string; Status: string }[];
    };
    assert.equal(keys.AccessKeyMetadata.length, 1);
    assert.equal(keys.AccessKeyMetadata[0]?.AccessKeyId, alice.AWS_ACCESS_KEY_ID);
    // The CLI decodes IAM's URL-encoded document back into JSON.
    const policy = (await aws([
      "iam",
      "get-user-policy",
      "--user-name",
      "alice",
      "--policy-name",
      "team-a",
    ])) as { PolicyDocument: unknown };
    assert.deepEqual(policy.PolicyDocument, POLICY);
    const me = (await aws(["sts", "get-caller-identity"], alice)) as { Arn: string };
    assert.equal(me.Arn, `arn:aws:iam::${ACCOUNT}:user/alice`);
  });

  it("runs a task in its own cluster and is refused in another, with AWS's text", async () => {
    const ran = (await aws(
      [
        "ecs",
        "run-task",
        "--cluster",
        "team-a",
        "--task-definition",
        "probe:1",
        "--launch-type",
        "FARGATE",
        "--network-configuration",
        "awsvpcConfiguration={subnets=[s]}",
      ],
      alice,
    )) as { tasks: { taskArn: string }[] };
    const taskArn = ran.tasks[0]?.taskArn ?? "";
    assert.match(taskArn, /:task\/team-a\//);
    await waitForTask(bed.ecs, taskArn, "RUNNING");
    const listed = (await aws(["ecs", "list-tasks", "--cluster", "team-a"], alice)) as {
      taskArns: string[];
    };
    assert.deepEqual(listed.taskArns, [taskArn]);

    const refused = await awsFailure(
      [
        "ecs",
        "run-task",
        "--cluster",
        "team-b",
        "--task-definition",
        "probe:1",
        "--launch-type",
        "FARGATE",
        "--network-configuration",
        "awsvpcConfiguration={subnets=[s]}",
      ],
      alice,
    );
    assert.equal(
      refused,
      `An error occurred (AccessDeniedException) when calling the RunTask operation: ${denied("ecs:RunTask", taskDefinitionArn)}`,
    );
    const listB = await awsFailure(["ecs", "list-tasks", "--cluster", "team-b"], alice);
    assert.match(listB, /AccessDeniedException/);
    assert.ok(
      listB.endsWith(denied("ecs:ListTasks", `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/team-b`)),
    );
    const clusters = await awsFailure(["ecs", "list-clusters"], alice);
    assert.ok(clusters.endsWith(denied("ecs:ListClusters", "*")), clusters);
    // Nothing ran in team-b.
    const inB = (await aws(["ecs", "list-tasks", "--cluster", "team-b"])) as { taskArns: string[] };
    assert.deepEqual(inB.taskArns, []);
    await bed.ecs.send(new StopTaskCommand({ cluster: "team-a", task: taskArn }));
  });

  it("an explicit Deny wins over the Allow", async () => {
    const withDeny = {
      ...POLICY,
      Statement: [...POLICY.Statement, { Effect: "Deny", Action: "ecs:Describe*", Resource: "*" }],
    };
    await aws([
      "iam",
      "put-user-policy",
      "--user-name",
      "alice",
      "--policy-name",
      "team-a",
      "--policy-document",
      JSON.stringify(withDeny),
    ]);
    try {
      const task = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/team-a/0123456789abcdef0123456789abcdef`;
      const refused = await awsFailure(
        ["ecs", "describe-tasks", "--cluster", "team-a", "--tasks", task],
        alice,
      );
      assert.ok(refused.endsWith(denied("ecs:DescribeTasks", task, true)), refused);
    } finally {
      await aws([
        "iam",
        "put-user-policy",
        "--user-name",
        "alice",
        "--policy-name",
        "team-a",
        "--policy-document",
        JSON.stringify(POLICY),
      ]);
    }
  });

  it("IAM itself is refused to the user (Query protocol: AccessDenied, 403)", async () => {
    const refused = await awsFailure(["iam", "create-user", "--user-name", "mallory"], alice);
    assert.equal(
      refused,
      `An error occurred (AccessDenied) when calling the CreateUser operation: ${denied("iam:CreateUser", `arn:aws:iam::${ACCOUNT}:user/mallory`)}`,
    );
    const users = (await aws(["iam", "list-users"])) as { Users: { UserName: string }[] };
    assert.deepEqual(
      users.Users.map((u) => u.UserName),
      ["alice"],
    );
  });

  it("the registry lets the user pull what the policy allows and answers DENIED elsewhere", async () => {
    const token = (await aws(["ecr", "get-login-password"], alice).catch(async () => {
      // get-login-password prints the bare password, not JSON.
      const { stdout } = await run(
        AWS,
        ["--endpoint-url", bed.berth.endpoint, "ecr", "get-login-password"],
        {
          env: alice,
        },
      );
      return stdout.trim();
    })) as string;
    const host = new URL(bed.berth.endpoint).host;
    const inspect = (repository: string) =>
      run("skopeo", [
        "inspect",
        "--tls-verify=false",
        "--creds",
        `AWS:${token}`,
        `docker://${host}/${repository}:latest`,
      ]);
    const allowed = await inspect("busybox");
    assert.match(allowed.stdout, /"Digest": "sha256:/);
    const refused = await inspect("private").then(
      () => "",
      (error: { stderr: string }) => error.stderr,
    );
    assert.match(refused, /denied/i);
    assert.match(refused, /ecr:BatchGetImage/);
    // The same pull with the root's password works: the refusal is the policy's.
    const root = (
      await run(AWS, ["--endpoint-url", bed.berth.endpoint, "ecr", "get-login-password"], {
        env: bed.berth.awsEnv,
      })
    ).stdout.trim();
    await run("skopeo", [
      "inspect",
      "--tls-verify=false",
      "--creds",
      `AWS:${root}`,
      `docker://${host}/private:latest`,
    ]);
  });

  it("Berth's own routes refuse the user: no join token for a key without berth:CreateJoinToken", async () => {
    const url = new URL("/_berth/tokens/create", bed.berth.endpoint);
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: alice.AWS_ACCESS_KEY_ID ?? "",
        secretAccessKey: alice.AWS_SECRET_ACCESS_KEY ?? "",
      },
      region: "us-east-1",
      service: "ecs",
      sha256: Hash.bind(null, "sha256"),
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: "POST",
        protocol: "http:",
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        headers: { host: url.host, "content-type": "application/json" },
        body: "{}",
      }),
    );
    const answer = await fetch(url, {
      method: "POST",
      headers: signed.headers,
      body: "{}",
    });
    assert.equal(answer.status, 400);
    const body = (await answer.json()) as { __type: string; message: string };
    assert.equal(body.__type, "AccessDeniedException");
    assert.equal(body.message, denied("berth:CreateJoinToken", "*"));
  });

  it("the console shows the user only what the policy lets it read", async () => {
    // Before, the console's own reads (tasks, hosts, costs) let every signed-in key read all.
    const endpoint = bed.berth.endpoint;
    const cookie = await signInByApi(endpoint, {
      accessKeyId: alice.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: alice.AWS_SECRET_ACCESS_KEY ?? "",
    });
    const read = (path: string, as = cookie) =>
      consoleFetch(endpoint, `/console/api/${path}`, { cookie: as });
    assert.equal((await read("tasks?cluster=team-a")).status, 200);
    const refused = await read("tasks?cluster=team-b");
    assert.equal(refused.status, 403);
    assert.deepEqual(await refused.json(), {
      code: "AccessDeniedException",
      message: "Not authorized to perform ecs:ListTasks on *.",
    });
    assert.equal((await read("hosts")).status, 403);
    assert.equal((await read("savings?since=2026-01-01&until=2026-02-01")).status, 403);
    assert.equal((await read(`metrics?task=${encodeURIComponent(CLUSTER_A)}`)).status, 403);
    // The account's root key reads all of it.
    const root = await signInByApi(endpoint, bed.berth.credentials);
    assert.equal((await read("tasks?cluster=team-b", root)).status, 200);
    assert.equal((await read("hosts", root)).status, 200);
  });

  it("bad policies, names and ARNs get IAM's errors", async () => {
    const put = (document: string) =>
      awsFailure([
        "iam",
        "put-user-policy",
        "--user-name",
        "alice",
        "--policy-name",
        "bad",
        "--policy-document",
        document,
      ]);
    assert.match(await put("{not json"), /\(MalformedPolicyDocument\).*Syntax errors in policy\./);
    assert.match(
      await put(
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "ecs:*", Resource: "cluster-a" }],
        }),
      ),
      /\(MalformedPolicyDocument\).*Resource cluster-a must be in ARN format or "\*"\./,
    );
    assert.match(
      await put(
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: "*", Action: "ecs:*", Resource: "*" }],
        }),
      ),
      /Policy document should not specify a principal\./,
    );
    assert.match(
      await awsFailure(["iam", "get-user", "--user-name", "nobody"]),
      /\(NoSuchEntity\) when calling the GetUser operation: The user with name nobody cannot be found\./,
    );
    assert.match(
      await awsFailure([
        "iam",
        "attach-user-policy",
        "--user-name",
        "alice",
        "--policy-arn",
        "arn:aws:iam::policy-without-account",
      ]),
      /\(InvalidInput\).*ARN arn:aws:iam::policy-without-account is not valid\./,
    );
    assert.match(
      await awsFailure(["iam", "create-user", "--user-name", "alice"]),
      /\(EntityAlreadyExists\).*User with name alice already exists\./,
    );
    assert.match(
      await awsFailure(["iam", "delete-user", "--user-name", "alice"]),
      /\(DeleteConflict\)/,
    );
  });
});
