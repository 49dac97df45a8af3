// pidMode task (issue 13 #23): the containers of a task share one PID namespace, so one sees the
// other's processes; without it each container sees only its own. Under runc the task's pause
// process holds the namespace and every container joins it by path, as the network namespace.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  CreateClusterCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  type BerthProcess,
  startEcsTestbed,
  until,
  waitForTask,
  type EcsTestbed,
} from "../../src/testing/index.js";

const run = promisify(execFile);

let bed: EcsTestbed;
let berth: BerthProcess;
let ecs: ECSClient;
let image: string;
const started: Array<{ cluster: string; task: string }> = [];

before(async () => {
  bed = await startEcsTestbed();
  ({ berth, ecs, image } = bed);
  await ecs.send(new CreateClusterCommand({ clusterName: "plain" }));
  await ecs.send(
    new CreateClusterCommand({
      clusterName: "gvisor",
      tags: [{ key: "berth:runtime", value: "runsc" }],
    }),
  );
});
after(async () => {
  for (const { cluster, task } of started)
    await ecs.send(new StopTaskCommand({ cluster, task })).catch(() => undefined);
  await bed.stop();
});

/** A task whose `holder` sleeps as `sleep 7777` and whose `looker` then lists the processes it sees. */
async function runPair(cluster: string, family: string, pidMode?: "task"): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      ...(pidMode === undefined ? {} : { pidMode }),
      containerDefinitions: [
        { name: "holder", image, essential: true, command: ["sleep", "7777"] },
        {
          name: "looker",
          image,
          essential: true,
          dependsOn: [{ containerName: "holder", condition: "START" }],
          command: ["sh", "-c", "sleep 1; echo PS-BEGIN; ps; echo PS-END; exec sleep 3600"],
        },
      ],
    }),
  );
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({ cluster, taskDefinition: taskDefinition?.taskDefinitionArn }),
  );
  assert.deepEqual(failures, []);
  const task = tasks[0]?.taskArn ?? "";
  started.push({ cluster, task });
  await waitForTask(ecs, task, "RUNNING");
  return task;
}

/** What `looker` printed between PS-BEGIN and PS-END. */
async function psOf(cluster: string, task: string): Promise<string> {
  const env = {
    ...process.env,
    BERTH_ACCESS_KEY_ID: berth.credentials.accessKeyId,
    BERTH_SECRET_ACCESS_KEY: berth.credentials.secretAccessKey,
  };
  const logs = await until(
    "the looker's process list",
    async () =>
      (
        await run(
          process.execPath,
          [
            BERTH_BIN,
            "logs",
            task,
            "--cluster",
            cluster,
            "--container",
            "looker",
            "--endpoint",
            berth.endpoint,
          ],
          { env },
        )
      ).stdout,
    (stdout) => stdout.includes("PS-END"),
    { timeoutMs: 60_000 },
  );
  return /PS-BEGIN\n([\s\S]*)PS-END/.exec(logs)?.[1] ?? "";
}

describe("pidMode task under runc", () => {
  it("lets one container see the other's processes", async () => {
    const task = await runPair("plain", "pid-task", "task");
    const ps = await psOf("plain", task);
    assert.match(ps, /sleep 7777/, ps);
  });

  it("keeps them apart without it", async () => {
    const task = await runPair("plain", "pid-apart");
    const ps = await psOf("plain", task);
    assert.doesNotMatch(ps, /sleep 7777/, ps);
    // It does see itself: the list is not empty for some other reason.
    assert.match(ps, /ps/, ps);
  });
});

describe("pidMode task under gVisor (runsc)", () => {
  it("lets one container see the other's processes", async () => {
    const task = await runPair("gvisor", "pid-task-gvisor", "task");
    const ps = await psOf("gvisor", task);
    assert.match(ps, /sleep 7777/, ps);
  });

  it("keeps them apart without it", async () => {
    const task = await runPair("gvisor", "pid-apart-gvisor");
    const ps = await psOf("gvisor", task);
    assert.doesNotMatch(ps, /sleep 7777/, ps);
    assert.match(ps, /ps/, ps);
  });
});
