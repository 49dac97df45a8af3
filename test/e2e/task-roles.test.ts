// Task roles through real clients: a task whose definition names a taskRoleArn calls Berth from
// inside with the AWS CLI v2 (credentials from the container endpoint at 169.254.170.2, the
// endpoint from AWS_ENDPOINT_URL), can list its own cluster's tasks and is refused another's; its
// credentials endpoint answers no other task (attacked from a neighbour on the same bridge) and
// no wrong id; the credentials are short-lived STS sessions (shortened here) refused once expired
// and renewed by the agent; none of them shows in DescribeTasks or Berth's output.
//
// The image holds the machine's own Debian AWS CLI and what it loads (./aws-cli-image.ts), with
// busybox for the shell, wget and sleep the other tests use.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import {
  BERTH_BIN,
  startBerthProcess,
  waitForTask,
  type BerthProcess,
} from "../../src/testing/index.js";
import { AWS_CLI, pushAwsCliImage } from "./aws-cli-image.js";

const ACCOUNT = "000000000000";
const REGION = "us-east-1";
const HOME = "roles-home";
const AWAY = "roles-away";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/home-lister`;
const clusterArn = (name: string): string => `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`;
/** Task role sessions last this long here (ECS: hours), so expiry and renewal can be seen. */
const SESSION_SECONDS = 20;

let berth: BerthProcess;
let ecs: ECSClient;
let iam: IAMClient;
let image: string;
const started: string[] = [];

async function runSleeper(cluster: string, family: string, taskRoleArn?: string) {
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      ...(taskRoleArn === undefined ? {} : { taskRoleArn }),
      containerDefinitions: [
        { name: "app", image, command: ["sleep", "600"], stopTimeout: 1, essential: true },
      ],
    }),
  );
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({
      cluster,
      taskDefinition: family,
      enableExecuteCommand: true,
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0123456789abcdef0"] } },
    }),
  );
  assert.deepEqual(failures, []);
  const taskArn = tasks[0]?.taskArn ?? "";
  started.push(taskArn);
  return waitForTask(ecs, taskArn, "RUNNING");
}

/** `berth exec TASK -- sh -c SCRIPT`: the script's stdout, stderr and exit code. */
function exec(taskArn: string, script: string) {
  const child = spawn(process.execPath, [BERTH_BIN, "exec", taskArn, "--", "sh", "-c", script], {
    env: {
      ...berth.berthEnv,
      BERTH_ENDPOINT: berth.endpoint,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end();
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

interface EcsCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
  RoleArn: string;
}

/** The task's own credentials, fetched inside it the way the SDKs do. */
async function fetchOwnCredentials(taskArn: string): Promise<EcsCredentials> {
  const got = await exec(taskArn, 'wget -qO- "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"');
  assert.equal(got.code, 0, got.stderr);
  return JSON.parse(got.stdout) as EcsCredentials;
}

function clientWith(credentials: EcsCredentials): ECSClient {
  return new ECSClient({
    ...berth.clientConfig,
    credentials: {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.Token,
    },
  });
}

describe("task roles", { timeout: 600_000 }, () => {
  before(async () => {
    berth = await startBerthProcess({
      env: { BERTH_TASK_ROLE_SESSION_SECONDS: String(SESSION_SECONDS) },
    });
    ecs = new ECSClient(berth.clientConfig);
    iam = new IAMClient(berth.clientConfig);
    for (const clusterName of [HOME, AWAY])
      await ecs.send(new CreateClusterCommand({ clusterName }));
    // Traced with a call that answers and one that fails (no such cluster).
    const traced = await pushAwsCliImage(
      berth,
      "roles/aws-cli",
      [HOME, "roles-nowhere"].map((cluster) => [
        "ecs",
        "list-tasks",
        "--cluster",
        cluster,
        "--endpoint-url",
        berth.endpoint,
      ]),
    );
    image = traced.uri;
    await iam.send(
      new CreateRoleCommand({
        RoleName: "home-lister",
        AssumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "ecs-tasks.amazonaws.com" },
              Action: "sts:AssumeRole",
            },
          ],
        }),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: "home-lister",
        PolicyName: "list-home",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "ecs:ListTasks", Resource: clusterArn(HOME) }],
        }),
      }),
    );
  });

  after(async () => {
    for (const taskArn of started)
      await ecs
        ?.send(new StopTaskCommand({ cluster: taskArn.split("/")[1], task: taskArn }))
        .catch(() => undefined);
    ecs?.destroy();
    iam?.destroy();
    await berth?.stop();
  });

  it("lets the AWS CLI inside the task list its own cluster's tasks and refuses another's", async () => {
    const task = await runSleeper(HOME, "roles-lister", ROLE);
    const taskArn = task.taskArn ?? "";
    const taskId = taskArn.split("/").pop() ?? "";
    const env = await exec(taskArn, "env");
    assert.match(env.stdout, /^AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=\/v2\/credentials\/[0-9a-f-]{36}$/m);
    assert.match(env.stdout, /^AWS_ENDPOINT_URL=http:\/\/100\.\d+\.\d+\.\d+:\d+$/m);
    // No key of any sort in the task but the one the credentials endpoint hands out.
    assert.doesNotMatch(env.stdout, /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)=/m);
    // Debian's CLI (2.9) predates AWS_ENDPOINT_URL (read from CLI 2.13 on), so the task passes
    // it on as --endpoint-url; the credentials it finds alone.
    const listTasks = (cluster: string) =>
      exec(
        taskArn,
        `${AWS_CLI} ecs list-tasks --cluster ${cluster} --endpoint-url "$AWS_ENDPOINT_URL" --output json`,
      );
    const home = await listTasks(HOME);
    assert.equal(home.code, 0, home.stderr);
    assert.deepEqual(JSON.parse(home.stdout), { taskArns: [taskArn] });
    const away = await listTasks(AWAY);
    assert.equal(away.code, 254, `${away.stdout}${away.stderr}`);
    assert.equal(away.stdout, "");
    assert.equal(
      away.stderr.trim(),
      `An error occurred (AccessDeniedException) when calling the ListTasks operation: User: arn:aws:sts::${ACCOUNT}:assumed-role/home-lister/${taskId} is not authorized to perform: ecs:ListTasks on resource: ${clusterArn(AWAY)} because no identity-based policy allows the ecs:ListTasks action`,
    );
  });

  it("serves a task's credentials to it alone, never to a neighbour or for a wrong id", async () => {
    const victim = await runSleeper(HOME, "roles-victim", ROLE);
    const neighbour = await runSleeper(HOME, "roles-neighbour");
    const victimArn = victim.taskArn ?? "";
    const uri = (await exec(victimArn, "echo $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")).stdout.trim();
    assert.match(uri, /^\/v2\/credentials\/[0-9a-f-]{36}$/);
    // The neighbour, on the same bridge, knows the victim's id: refused.
    const stolen = await exec(neighbour.taskArn ?? "", `wget -qO- http://169.254.170.2${uri}`);
    assert.notEqual(stolen.code, 0, `the neighbour read the victim's credentials: ${stolen.stdout}`);
    assert.match(stolen.stderr, /403/);
    assert.doesNotMatch(stolen.stdout, /AccessKeyId/);
    // Through the gateway's own address and port as well.
    const direct = await exec(
      neighbour.taskArn ?? "",
      `wget -qO- "\${ECS_CONTAINER_METADATA_URI_V4%/v4/*}${uri}"`,
    );
    assert.notEqual(direct.code, 0, direct.stdout);
    assert.doesNotMatch(direct.stdout, /AccessKeyId/);
    // The victim itself, for an id that is not its own: refused.
    const wrong = await exec(
      victimArn,
      "wget -qO- http://169.254.170.2/v2/credentials/00000000-0000-4000-8000-000000000000",
    );
    assert.notEqual(wrong.code, 0, wrong.stdout);
    assert.match(wrong.stderr, /400/);
    // And its own: ECS's shape, a session of its role.
    const own = await fetchOwnCredentials(victimArn);
    assert.match(own.AccessKeyId, /^ASIA/);
    assert.equal(own.RoleArn, ROLE);
    assert.ok(own.SecretAccessKey.length > 20 && own.Token.length > 20);
    assert.match(own.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // None of it in DescribeTasks or in Berth's own output.
    const described = JSON.stringify(
      await ecs.send(new DescribeTasksCommand({ cluster: HOME, tasks: [victimArn] })),
    );
    for (const secret of [own.SecretAccessKey, own.Token]) {
      assert.ok(!described.includes(secret), "DescribeTasks shows a credential");
      assert.ok(!berth.output().includes(secret), "Berth's output shows a credential");
    }
  });

  it("asks iam:PassRole of a user handing a role to tasks, and a role ECS can assume", async () => {
    await iam.send(
      new CreateRoleCommand({
        RoleName: "untrusted",
        AssumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "sts:AssumeRole" },
          ],
        }),
      }),
    );
    await iam.send(new CreateUserCommand({ UserName: "deployer" }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "deployer" }));
    const allow = async (statements: object[]): Promise<void> => {
      await iam.send(
        new PutUserPolicyCommand({
          UserName: "deployer",
          PolicyName: "deploy",
          PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
        }),
      );
    };
    const ecsActions = {
      Effect: "Allow",
      Action: ["ecs:RegisterTaskDefinition", "ecs:RunTask", "ecs:CreateService", "ecs:StopTask"],
      Resource: "*",
    };
    await allow([ecsActions]);
    const deployer = new ECSClient({
      ...berth.clientConfig,
      credentials: {
        accessKeyId: AccessKey?.AccessKeyId ?? "",
        secretAccessKey: AccessKey?.SecretAccessKey ?? "",
      },
    });
    const definition = (family: string, taskRoleArn: string) =>
      new RegisterTaskDefinitionCommand({
        family,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        taskRoleArn,
        containerDefinitions: [{ name: "app", image, command: ["sleep", "600"], stopTimeout: 1 }],
      });
    const passDenied = (role: string): RegExp =>
      new RegExp(
        `^User: arn:aws:iam::${ACCOUNT}:user/deployer is not authorized to perform: iam:PassRole on resource: ${role.replaceAll("/", "\\/")} because no identity-based policy allows the iam:PassRole action$`,
      );
    const network = {
      awsvpcConfiguration: { subnets: ["subnet-0123456789abcdef0"] },
    };
    try {
      await assert.rejects(deployer.send(definition("roles-passed", ROLE)), {
        name: "AccessDeniedException",
        message: passDenied(ROLE),
      });
      // Root registers it; the user may still not run it, nor make a service of it.
      await ecs.send(definition("roles-passed", ROLE));
      await assert.rejects(
        deployer.send(
          new RunTaskCommand({
            cluster: HOME,
            taskDefinition: "roles-passed",
            networkConfiguration: network,
          }),
        ),
        { name: "AccessDeniedException", message: passDenied(ROLE) },
      );
      await assert.rejects(
        deployer.send(
          new CreateServiceCommand({
            cluster: HOME,
            serviceName: "roles-passed",
            taskDefinition: "roles-passed",
            desiredCount: 0,
            networkConfiguration: network,
          }),
        ),
        { name: "AccessDeniedException", message: passDenied(ROLE) },
      );
      // With iam:PassRole on that role (and only that one) it may.
      await allow([ecsActions, { Effect: "Allow", Action: "iam:PassRole", Resource: ROLE }]);
      await deployer.send(definition("roles-passed", ROLE));
      const ghost = `arn:aws:iam::${ACCOUNT}:role/ghost`;
      await assert.rejects(deployer.send(definition("roles-ghost", ghost)), {
        name: "AccessDeniedException",
        message: passDenied(ghost),
      });
      const { tasks = [] } = await deployer.send(
        new RunTaskCommand({
          cluster: HOME,
          taskDefinition: "roles-passed",
          networkConfiguration: network,
        }),
      );
      assert.equal(tasks.length, 1);
      started.push(tasks[0]?.taskArn ?? "");
    } finally {
      deployer.destroy();
    }
    // A role that does not exist, and one whose trust leaves ECS tasks out: ECS's texts.
    await assert.rejects(ecs.send(definition("roles-ghost", `arn:aws:iam::${ACCOUNT}:role/ghost`)), {
      name: "ClientException",
      message: "Role is not valid",
    });
    const untrusted = `arn:aws:iam::${ACCOUNT}:role/untrusted`;
    await ecs.send(definition("roles-untrusted", untrusted));
    await assert.rejects(
      ecs.send(
        new RunTaskCommand({
          cluster: HOME,
          taskDefinition: "roles-untrusted",
          networkConfiguration: network,
        }),
      ),
      {
        name: "ClientException",
        message: `ECS was unable to assume the role '${untrusted}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.`,
      },
    );
  });

  it("refuses expired credentials, and the agent hands out renewed ones", async () => {
    const task = await runSleeper(HOME, "roles-expiry", ROLE);
    const taskArn = task.taskArn ?? "";
    const first = await fetchOwnCredentials(taskArn);
    const client = clientWith(first);
    const { taskArns } = await client.send(new ListTasksCommand({ cluster: HOME }));
    assert.ok(taskArns?.includes(taskArn));
    const wait = Date.parse(first.Expiration) - Date.now() + 1500;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    await assert.rejects(client.send(new ListTasksCommand({ cluster: HOME })), {
      name: "ExpiredTokenException",
    });
    client.destroy();
    const renewed = await fetchOwnCredentials(taskArn);
    assert.notEqual(renewed.AccessKeyId, first.AccessKeyId);
    assert.ok(Date.parse(renewed.Expiration) > Date.now());
    const fresh = clientWith(renewed);
    const again = await fresh.send(new ListTasksCommand({ cluster: HOME }));
    assert.ok(again.taskArns?.includes(taskArn));
    fresh.destroy();
  });
});
