// A runtime that cannot start a container (issue 12, item 16): under gVisor the task stopped
// after minutes in ACTIVATING with no container reason (runsc refused `add: ["ALL"]` at start,
// and Berth kept asking whether the container ran). Now it stops at once with runsc's own
// words as the task's stoppedReason and the container's reason. The failure is made
// reliably with an executable the image lacks, which runsc refuses at the same step.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  pushBusyboxImage,
  startBerthProcess,
  until,
  type BerthProcess,
} from "../../src/testing/index.js";

let berth: BerthProcess;
let ecs: ECSClient;
let image: string;

before(async () => {
  berth = await startBerthProcess();
  ecs = new ECSClient(berth.clientConfig);
  image = (await pushBusyboxImage(berth, "busybox")).uri;
  await ecs.send(
    new CreateClusterCommand({
      clusterName: "gvisor",
      tags: [{ key: "berth:runtime", value: "runsc" }],
    }),
  );
});
after(async () => {
  ecs.destroy();
  await berth.stop();
});

async function describeTask(taskArn: string): Promise<Task> {
  const { tasks = [] } = await ecs.send(
    new DescribeTasksCommand({ cluster: "gvisor", tasks: [taskArn] }),
  );
  return tasks[0] ?? {};
}

describe("a container the runtime cannot start (issue 12, item 16)", () => {
  it("stops the task with runsc's error as the reason", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "unstartable",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "app", image, command: ["/no/such/binary"] }],
      }),
    );
    const { tasks = [], failures = [] } = await ecs.send(
      new RunTaskCommand({ cluster: "gvisor", taskDefinition: taskDefinition?.taskDefinitionArn }),
    );
    assert.deepEqual(failures, []);
    const taskArn = tasks[0]?.taskArn ?? "";
    // A bound, not a timing: before the fix the task sat in ACTIVATING for minutes.
    const task = await until(
      "the task to stop",
      () => describeTask(taskArn),
      (t) => t.lastStatus === "STOPPED",
      { timeoutMs: 90_000 },
    );
    assert.equal(task.stopCode, "TaskFailedToStart");
    const runsc = /^CannotStartContainerError: runsc start .*failed to load \/no\/such\/binary/;
    assert.match(task.stoppedReason ?? "", runsc);
    assert.match(task.containers?.[0]?.reason ?? "", runsc);
  });
});
