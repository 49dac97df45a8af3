/**
 * Host root from a task definition (issue 12, item 1): what Fargate refuses — capabilities
 * beyond SYS_PTRACE, privileged, host devices and the EC2-only linuxParameters — is refused at
 * RegisterTaskDefinition with ECS's ClientException, and again at RunTask and CreateService for
 * a definition that was stored anyway (registered before the rule, or as EC2-only).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import {
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type ContainerDefinition,
  type RegisterTaskDefinitionCommandInput,
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

const definition = (
  container: Partial<ContainerDefinition>,
  family = "attack",
  requiresCompatibilities: RegisterTaskDefinitionCommandInput["requiresCompatibilities"] = [
    "FARGATE",
  ],
): RegisterTaskDefinitionCommandInput => ({
  family,
  requiresCompatibilities,
  networkMode: "awsvpc",
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "app", image: "busybox", ...container }],
});

async function refusal(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    assert.equal(e.$metadata?.httpStatusCode, 400);
    return { name: e.name, message: e.message };
  }
  assert.fail("expected the call to be refused");
}

describe("RegisterTaskDefinition for FARGATE refuses what Fargate refuses", () => {
  const attacks: Array<[string, Partial<ContainerDefinition>, string]> = [
    [
      "add SYS_ADMIN",
      { linuxParameters: { capabilities: { add: ["SYS_ADMIN"] } } },
      "Fargate compatible task definitions only support adding the SYS_PTRACE capability, not 'SYS_ADMIN'",
    ],
    [
      "add ALL",
      { linuxParameters: { capabilities: { add: ["ALL"] } } },
      "Fargate compatible task definitions only support adding the SYS_PTRACE capability, not 'ALL'",
    ],
    [
      "add SYS_PTRACE and NET_ADMIN",
      { linuxParameters: { capabilities: { add: ["SYS_PTRACE", "NET_ADMIN"] } } },
      "Fargate compatible task definitions only support adding the SYS_PTRACE capability, not 'NET_ADMIN'",
    ],
    [
      "privileged",
      { privileged: true },
      "Fargate compatible task definitions do not support privileged",
    ],
    [
      "devices",
      { linuxParameters: { devices: [{ hostPath: "/dev/sda", containerPath: "/dev/sda" }] } },
      "Fargate compatible task definitions do not support devices",
    ],
    [
      "sharedMemorySize",
      { linuxParameters: { sharedMemorySize: 1024 } },
      "Fargate compatible task definitions do not support sharedMemorySize",
    ],
    [
      "tmpfs",
      { linuxParameters: { tmpfs: [{ containerPath: "/scratch", size: 64 }] } },
      "Fargate compatible task definitions do not support tmpfs",
    ],
    [
      "maxSwap",
      { linuxParameters: { maxSwap: 1024 } },
      "Fargate compatible task definitions do not support maxSwap",
    ],
    [
      "swappiness",
      { linuxParameters: { swappiness: 60 } },
      "Fargate compatible task definitions do not support swappiness",
    ],
    [
      "dockerSecurityOptions",
      { dockerSecurityOptions: ["seccomp=unconfined"] },
      "Fargate compatible task definitions do not support dockerSecurityOptions",
    ],
  ];
  for (const [name, container, message] of attacks)
    it(`refuses ${name}`, async () => {
      const error = await refusal(
        ecs.send(new RegisterTaskDefinitionCommand(definition(container))),
      );
      assert.deepEqual(error, { name: "ClientException", message });
    });

  it("accepts SYS_PTRACE, drops and privileged false", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand(
        definition(
          {
            privileged: false,
            linuxParameters: {
              initProcessEnabled: true,
              capabilities: { add: ["SYS_PTRACE"], drop: ["NET_RAW"] },
            },
          },
          "debuggable",
        ),
      ),
    );
    assert.deepEqual(taskDefinition?.compatibilities, ["EC2", "FARGATE"]);
  });
});

describe("a definition that is not Fargate's never reaches a host", () => {
  it("registers privileged as EC2-only and refuses it at RunTask", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand(
        definition(
          { privileged: true, linuxParameters: { capabilities: { add: ["SYS_ADMIN"] } } },
          "ec2-only",
          ["EC2"],
        ),
      ),
    );
    assert.deepEqual(taskDefinition?.compatibilities, ["EC2"]);
    const error = await refusal(
      ecs.send(new RunTaskCommand({ taskDefinition: "ec2-only", launchType: "FARGATE" })),
    );
    // ECS's code and text for an EC2-only definition run on FARGATE (issue 13 #22).
    assert.equal(error.name, "InvalidParameterException");
    assert.equal(error.message, "Task definition does not support launch_type FARGATE.");
  });

  it("refuses a stored FARGATE definition that asks for SYS_ADMIN at RunTask and CreateService", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand(definition({}, "planted")),
    );
    // What a record written before the rule looks like: edit the stored document in place.
    const db = new Database(join(berth.dataDir, "berth.db"));
    try {
      const row = db
        .prepare("SELECT document FROM task_definitions WHERE arn = ?")
        .get(taskDefinition?.taskDefinitionArn) as { document: string };
      const document = JSON.parse(row.document) as { containerDefinitions: ContainerDefinition[] };
      const first = document.containerDefinitions[0];
      assert.ok(first !== undefined);
      first.linuxParameters = { capabilities: { add: ["SYS_ADMIN"] } };
      first.privileged = true;
      db.prepare("UPDATE task_definitions SET document = ? WHERE arn = ?").run(
        JSON.stringify(document),
        taskDefinition?.taskDefinitionArn,
      );
    } finally {
      db.close();
    }
    const expected = {
      name: "ClientException",
      message: "Fargate compatible task definitions do not support privileged",
    };
    assert.deepEqual(
      await refusal(ecs.send(new RunTaskCommand({ taskDefinition: "planted" }))),
      expected,
    );
    assert.deepEqual(
      await refusal(
        ecs.send(
          new CreateServiceCommand({
            serviceName: "planted",
            taskDefinition: "planted",
            desiredCount: 1,
          }),
        ),
      ),
      expected,
    );
  });

  it("drops linuxParameters from a RunTask container override (the model has no such member)", async () => {
    await ecs.send(new RegisterTaskDefinitionCommand(definition({}, "override")));
    // The SDK cannot even express it: ContainerOverride has no linuxParameters, and Berth's
    // validator drops members the model does not define, so the override changes nothing.
    const { tasks = [], failures = [] } = await ecs.send(
      new RunTaskCommand({
        taskDefinition: "override",
        overrides: {
          containerOverrides: [
            {
              name: "app",
              ...({ linuxParameters: { capabilities: { add: ["SYS_ADMIN"] } } } as object),
            },
          ],
        },
      }),
    );
    assert.equal(tasks.length + failures.length, 1);
    for (const task of tasks)
      assert.equal(
        JSON.stringify(task.overrides).includes("SYS_ADMIN"),
        false,
        "the override is not kept",
      );
  });
});
