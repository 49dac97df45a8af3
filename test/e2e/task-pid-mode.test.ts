// pidMode task (issue 13 #23): the containers of a task share one PID namespace, so one sees the
// other's processes; without it each container sees only its own. Under runc the task's pause
// process holds the namespace and every container joins it by path, as the network namespace.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { type BerthProcess, taskLogs, until, waitForTask } from "../../src/testing/index.js";
import { startRuntimeClusters, type RuntimeClusters } from "./runtime-clusters.js";

let bed: RuntimeClusters;
let berth: BerthProcess;
let ecs: ECSClient;
let image: string;

before(async () => {
  bed = await startRuntimeClusters();
  ({ berth, ecs, image } = bed);
});
after(() => bed.stop());

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
  bed.started(cluster, task);
  await waitForTask(ecs, task, "RUNNING");
  return task;
}

/** What `looker` printed between PS-BEGIN and PS-END. */
async function psOf(cluster: string, task: string): Promise<string> {
  const logs = await until(
    "the looker's process list",
    () => taskLogs(berth, task, { cluster, container: "looker" }),
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
