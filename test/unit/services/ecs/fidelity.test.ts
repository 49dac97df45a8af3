/**
 * ECS behaviour moto's suites and the AWS CLI found different (issue 13 #20, #22, #23, #26),
 * through the AWS SDK against an in-process Berth.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateServiceCommand,
  DeleteAccountSettingCommand,
  ListAccountSettingsCommand,
  PutAccountSettingCommand,
  PutAccountSettingDefaultCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTagsForResourceCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { startBerthInProcess, type TestBerth } from "../../../../src/testing/index.js";

let berth: TestBerth;
let ecs: ECSClient;
before(async () => {
  berth = await startBerthInProcess();
  ecs = new ECSClient(berth.clientConfig);
});
after(async () => {
  ecs.destroy();
  await berth.stop();
});

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string };
    return { name: e.name, message: e.message };
  }
  return assert.fail("expected the call to fail");
}

const fargate = (family: string) => ({
  family,
  requiresCompatibilities: ["FARGATE" as const],
  networkMode: "awsvpc" as const,
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "app", image: "busybox" }],
});

describe("service tags (#20)", () => {
  it("tags, lists and untags a service by its ARN", async () => {
    await ecs.send(new RegisterTaskDefinitionCommand(fargate("svc-tags")));
    const { service } = await ecs.send(
      new CreateServiceCommand({
        serviceName: "tagged",
        taskDefinition: "svc-tags",
        desiredCount: 0,
        tags: [{ key: "team", value: "a" }],
      }),
    );
    const resourceArn = service?.serviceArn ?? "";
    assert.match(resourceArn, /:service\/default\/tagged$/);
    await ecs.send(new TagResourceCommand({ resourceArn, tags: [{ key: "env", value: "prod" }] }));
    await ecs.send(new UntagResourceCommand({ resourceArn, tagKeys: ["team"] }));
    const { tags } = await ecs.send(new ListTagsForResourceCommand({ resourceArn }));
    assert.deepEqual(tags, [{ key: "env", value: "prod" }]);
    const missing = await errorOf(
      ecs.send(new ListTagsForResourceCommand({ resourceArn: `${resourceArn}-gone` })),
    );
    assert.equal(missing.name, "ServiceNotFoundException");
  });
});

describe("RunTask's tags take TagResource's checks (issue 14 #1)", () => {
  it("refuses an aws: key with ECS's text and starts nothing", async () => {
    await ecs.send(new RegisterTaskDefinitionCommand(fargate("run-tags")));
    const refused = await errorOf(
      ecs.send(
        new RunTaskCommand({ taskDefinition: "run-tags", tags: [{ key: "aws:x", value: "1" }] }),
      ),
    );
    assert.deepEqual(refused, {
      name: "InvalidParameterException",
      message: "Tag keys beginning with 'aws:' are reserved for AWS use.",
    });
  });
});

describe("EC2-compatible task definitions (#22)", () => {
  it("registers them EC2-only and refuses them at RunTask, CreateService and UpdateService", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "migrated",
        containerDefinitions: [
          {
            name: "app",
            image: "busybox",
            memory: 128,
            logConfiguration: { logDriver: "json-file", options: { "max-size": "10m" } },
          },
        ],
      }),
    );
    assert.deepEqual(taskDefinition?.compatibilities, ["EC2"]);
    const refused = {
      name: "InvalidParameterException",
      message: "Task definition does not support launch_type FARGATE.",
    };
    assert.deepEqual(
      await errorOf(ecs.send(new RunTaskCommand({ taskDefinition: "migrated" }))),
      refused,
    );
    assert.deepEqual(
      await errorOf(
        ecs.send(
          new CreateServiceCommand({
            serviceName: "migrated",
            taskDefinition: "migrated",
            desiredCount: 1,
          }),
        ),
      ),
      refused,
    );
    await ecs.send(new RegisterTaskDefinitionCommand(fargate("fits")));
    await ecs.send(
      new CreateServiceCommand({ serviceName: "switch", taskDefinition: "fits", desiredCount: 0 }),
    );
    assert.deepEqual(
      await errorOf(
        ecs.send(new UpdateServiceCommand({ service: "switch", taskDefinition: "migrated" })),
      ),
      refused,
    );
    // A Fargate definition still refuses what Fargate cannot ship.
    const fargateLog = await errorOf(
      ecs.send(
        new RegisterTaskDefinitionCommand({
          ...fargate("bad-log"),
          containerDefinitions: [
            { name: "app", image: "busybox", logConfiguration: { logDriver: "json-file" } },
          ],
        }),
      ),
    );
    assert.equal(fargateLog.name, "ClientException");
  });
});

describe("pidMode (#23)", () => {
  it("refuses host on Fargate with ECS's text, takes task, and keeps host as EC2-only", async () => {
    assert.deepEqual(
      await errorOf(
        ecs.send(new RegisterTaskDefinitionCommand({ ...fargate("pid-host"), pidMode: "host" })),
      ),
      {
        name: "ClientException",
        message:
          "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.",
      },
    );
    const task = await ecs.send(
      new RegisterTaskDefinitionCommand({ ...fargate("pid-task"), pidMode: "task" }),
    );
    assert.equal(task.taskDefinition?.pidMode, "task");
    assert.ok(task.taskDefinition?.compatibilities?.includes("FARGATE"));
    const host = await ecs.send(
      new RegisterTaskDefinitionCommand({
        ...fargate("pid-host-ec2"),
        requiresCompatibilities: undefined,
        pidMode: "host",
      }),
    );
    assert.deepEqual(host.taskDefinition?.compatibilities, ["EC2"]);
  });
});

describe("ECS texts (#26)", () => {
  it("DescribeTasks of no task and a non-numeric revision", async () => {
    assert.deepEqual(await errorOf(ecs.send(new DescribeTasksCommand({ tasks: [] }))), {
      name: "InvalidParameterException",
      message: "Tasks cannot be empty.",
    });
    for (const taskDefinition of [
      "web:abc",
      "arn:aws:ecs:us-east-1:000000000000:task-definition/web:abc",
    ])
      assert.deepEqual(
        await errorOf(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }))),
        { name: "InvalidParameterException", message: "Invalid revision number." },
        taskDefinition,
      );
  });
});

describe("account settings (#27)", () => {
  it("puts, lists (effective too) and deletes them", async () => {
    const put = await ecs.send(
      new PutAccountSettingCommand({ name: "containerInsights", value: "enabled" }),
    );
    assert.deepEqual(put.setting, {
      name: "containerInsights",
      value: "enabled",
      principalArn: "arn:aws:iam::000000000000:root",
    });
    await ecs.send(
      new PutAccountSettingDefaultCommand({ name: "awsvpcTrunking", value: "enabled" }),
    );
    const listed = await ecs.send(new ListAccountSettingsCommand({}));
    assert.deepEqual(
      listed.settings?.map((s) => [s.name, s.value]),
      [
        ["awsvpcTrunking", "enabled"],
        ["containerInsights", "enabled"],
      ],
    );
    const effective = await ecs.send(
      new ListAccountSettingsCommand({ effectiveSettings: true, name: "serviceLongArnFormat" }),
    );
    assert.deepEqual(
      effective.settings?.map((s) => s.value),
      ["enabled"],
    );
    await ecs.send(new DeleteAccountSettingCommand({ name: "containerInsights" }));
    const after = await ecs.send(new ListAccountSettingsCommand({ name: "containerInsights" }));
    assert.deepEqual(after.settings, []);
    assert.equal(
      (
        await errorOf(
          ecs.send(new PutAccountSettingCommand({ name: "awsvpcTrunking", value: "on" })),
        )
      ).name,
      "InvalidParameterException",
    );
  });
});
