// What needs an execution role and who may hand roles to a service, through the real AWS SDK
// against an in-process Berth: ECS's ClientExceptions at RegisterTaskDefinition, and
// iam:PassRole asked at UpdateService as at CreateService.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { startBerthInProcess, type TestBerth } from "../../../../src/testing/index.js";

const ACCOUNT = "000000000000";
const EXEC_ROLE = `arn:aws:iam::${ACCOUNT}:role/exec`;
const APP_ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
const SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/db-AbCdEf`;

let berth: TestBerth;
let ecs: ECSClient;
let iam: IAMClient;

before(async () => {
  berth = await startBerthInProcess();
  ecs = new ECSClient(berth.clientConfig);
  iam = new IAMClient(berth.clientConfig);
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
  for (const RoleName of ["exec", "app"])
    await iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: trust }));
  await ecs.send(new CreateClusterCommand({ clusterName: "home" }));
});
after(async () => {
  ecs.destroy();
  iam.destroy();
  await berth.stop();
});

const definition = (
  family: string,
  extra: Partial<RegisterTaskDefinitionCommandInput> = {},
  container: Record<string, unknown> = {},
): RegisterTaskDefinitionCommandInput => ({
  family,
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  cpu: "256",
  memory: "512",
  ...extra,
  containerDefinitions: [{ name: "app", image: "busybox", ...container }],
});

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string };
    return { name: e.name, message: e.message };
  }
  assert.fail("expected the call to fail");
}

describe("what needs an execution role", () => {
  it("refuses secrets without executionRoleArn with ECS's text, an empty list too", async () => {
    const secretsText =
      "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.";
    for (const secrets of [[{ name: "DB", valueFrom: SECRET }], []])
      assert.deepEqual(
        await errorOf(
          ecs.send(new RegisterTaskDefinitionCommand(definition("s", {}, { secrets }))),
        ),
        { name: "ClientException", message: secretsText },
      );
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand(
        definition(
          "s",
          { executionRoleArn: EXEC_ROLE },
          { secrets: [{ name: "DB", valueFrom: SECRET }] },
        ),
      ),
    );
    assert.equal(registered.taskDefinition?.executionRoleArn, EXEC_ROLE);
  });

  it("refuses repositoryCredentials without executionRoleArn with ECS's text", async () => {
    const repositoryCredentials = { credentialsParameter: SECRET };
    assert.deepEqual(
      await errorOf(
        ecs.send(new RegisterTaskDefinitionCommand(definition("r", {}, { repositoryCredentials }))),
      ),
      {
        name: "ClientException",
        message:
          "Private repository authentication requires that the task definition specify a value for executionRoleArn.",
      },
    );
    await ecs.send(
      new RegisterTaskDefinitionCommand(
        definition("r", { executionRoleArn: "exec" }, { repositoryCredentials }),
      ),
    );
  });
});

describe("the awslogs log driver on Fargate", () => {
  const awslogs = {
    logConfiguration: {
      logDriver: "awslogs",
      options: { "awslogs-group": "/ecs/app", "awslogs-region": "us-east-1" },
    },
  };

  it("refuses awslogs without executionRoleArn with ECS's text", async () => {
    assert.deepEqual(
      await errorOf(ecs.send(new RegisterTaskDefinitionCommand(definition("l", {}, awslogs)))),
      {
        name: "ClientException",
        message:
          "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
      },
    );
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand(definition("l", { executionRoleArn: EXEC_ROLE }, awslogs)),
    );
    assert.deepEqual(registered.taskDefinition?.compatibilities, ["EC2", "FARGATE"]);
  });

  it("registers awslogs without a role EC2-only when FARGATE is not asked, and RunTask refuses it", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        ...definition("l-ec2", {}, awslogs),
        requiresCompatibilities: undefined,
      }),
    );
    assert.deepEqual(taskDefinition?.compatibilities, ["EC2"]);
    assert.deepEqual(
      await errorOf(
        ecs.send(
          new RunTaskCommand({
            cluster: "home",
            taskDefinition: taskDefinition?.taskDefinitionArn,
            launchType: "FARGATE",
          }),
        ),
      ),
      {
        name: "InvalidParameterException",
        message: "Task definition does not support launch_type FARGATE.",
      },
    );
  });
});

describe("UpdateService's new task definition", () => {
  it("asks iam:PassRole for the roles it hands to the service's tasks", async () => {
    await ecs.send(new RegisterTaskDefinitionCommand(definition("plain")));
    await ecs.send(
      new RegisterTaskDefinitionCommand(
        definition("roled", { taskRoleArn: APP_ROLE, executionRoleArn: EXEC_ROLE }),
      ),
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
      Action: ["ecs:CreateService", "ecs:UpdateService"],
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
    const passDenied = (role: string): string =>
      `User: arn:aws:iam::${ACCOUNT}:user/deployer is not authorized to perform: iam:PassRole on resource: ${role} because no identity-based policy allows the iam:PassRole action`;
    try {
      await deployer.send(
        new CreateServiceCommand({
          cluster: "home",
          serviceName: "web",
          taskDefinition: "plain",
          desiredCount: 0,
          networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0123456789abcdef0"] } },
        }),
      );
      const update = () =>
        deployer.send(
          new UpdateServiceCommand({ cluster: "home", service: "web", taskDefinition: "roled" }),
        );
      assert.deepEqual(await errorOf(update()), {
        name: "AccessDeniedException",
        message: passDenied(APP_ROLE),
      });
      // A change that hands no new role asks nothing.
      await deployer.send(
        new UpdateServiceCommand({ cluster: "home", service: "web", desiredCount: 0 }),
      );
      // Each role is asked for: the task role alone is not enough.
      await allow([ecsActions, { Effect: "Allow", Action: "iam:PassRole", Resource: APP_ROLE }]);
      assert.deepEqual(await errorOf(update()), {
        name: "AccessDeniedException",
        message: passDenied(EXEC_ROLE),
      });
      await allow([
        ecsActions,
        { Effect: "Allow", Action: "iam:PassRole", Resource: [APP_ROLE, EXEC_ROLE] },
      ]);
      const { service } = await update();
      assert.match(service?.taskDefinition ?? "", /:task-definition\/roled:1$/);
    } finally {
      deployer.destroy();
    }
  });
});
