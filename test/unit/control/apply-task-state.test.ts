// applyTaskState against a real SQLite store: an agent's snapshot moves a task forward (status,
// timestamps set once, containers, network, health, the first stop code and reason), and a
// stale, repeated or foreign snapshot changes nothing (no new version).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { applyTaskState, readTask } from "../../../src/control/index.js";
import type { TaskState } from "../../../src/protocol/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

const CLUSTER = "arn:aws:ecs:us-east-1:000000000000:cluster/default";
const arnOf = (id: string): string => `arn:aws:ecs:us-east-1:000000000000:task/default/${id}`;

let dir: string;
let store: Store;

async function addTask(id: string): Promise<void> {
  const document = {
    taskArn: arnOf(id),
    clusterArn: CLUSTER,
    lastStatus: "PROVISIONING",
    desiredStatus: "RUNNING",
    createdAt: 1_000,
    containers: [
      { name: "app", lastStatus: "PENDING" },
      { name: "side", lastStatus: "PENDING" },
    ],
    attachments: [
      {
        id: "0f1e2d3c-0000-4000-8000-000000000000",
        type: "ElasticNetworkInterface",
        status: "PRECREATED",
        details: [{ name: "subnetId", value: "subnet-a" }],
      },
    ],
  };
  await store
    .insertInto("tasks")
    .values({
      arn: arnOf(id),
      id,
      cluster_name: "default",
      family: "web",
      task_definition_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
      last_status: "PROVISIONING",
      desired_status: "RUNNING",
      host_id: "host-1",
      cpu: 256,
      memory: 512,
      started_by: null,
      group_name: "family:web",
      created_at: 1_000,
      stopped_at: null,
      version: 1,
      document: JSON.stringify(document),
      assignment: "{}",
    })
    .execute();
}

async function read(id: string) {
  const row = await store
    .selectFrom("tasks")
    .selectAll()
    .where("arn", "=", arnOf(id))
    .executeTakeFirstOrThrow();
  return { row, task: readTask(row) };
}

function state(id: string, over: Partial<TaskState>): TaskState {
  return {
    taskArn: arnOf(id),
    lastStatus: "PENDING",
    containers: [
      { name: "app", lastStatus: "PENDING" },
      { name: "side", lastStatus: "PENDING" },
    ],
    ...over,
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-apply-"));
  store = await openSqliteStore(join(dir, "berth.db"));
});

after(async () => {
  await store.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("applyTaskState", () => {
  it("moves a task to RUNNING with its containers, address and timestamps", async () => {
    await addTask("a");
    const running = state("a", {
      lastStatus: "RUNNING",
      pullStartedAt: 2_000,
      pullStoppedAt: 3_000,
      startedAt: 4_000,
      containers: [
        { name: "app", lastStatus: "RUNNING", runtimeId: "c-app", imageDigest: "sha256:aa" },
        { name: "side", lastStatus: "RUNNING", runtimeId: "c-side" },
      ],
      network: {
        privateIPv4Address: "100.64.0.7",
        macAddress: "0a:00:00:00:00:07",
        subnet: "100.64.0.0/24",
        gateway: "100.64.0.1",
      },
    });
    assert.equal(await applyTaskState(store, "host-1", running), true);
    const { row, task } = await read("a");
    assert.equal(row.last_status, "RUNNING");
    assert.equal(row.version, 2);
    assert.equal(task.version, 2);
    assert.equal(task.pullStartedAt?.getTime(), 2_000);
    assert.equal(task.startedAt?.getTime(), 4_000);
    assert.equal(task.connectivity, "CONNECTED");
    assert.equal(task.connectivityAt?.getTime(), 4_000);
    assert.equal(task.containers?.[0]?.runtimeId, "c-app");
    assert.equal(task.containers?.[0]?.imageDigest, "sha256:aa");
    const eni = task.attachments?.[0];
    assert.equal(eni?.status, "ATTACHED");
    assert.equal(eni?.details?.find((d) => d.name === "privateIPv4Address")?.value, "100.64.0.7");
    assert.equal(task.containers?.[1]?.networkInterfaces?.[0]?.privateIpv4Address, "100.64.0.7");
    // The same snapshot again (a report repeated after a reconnect) changes nothing.
    assert.equal(await applyTaskState(store, "host-1", running), false);
    assert.equal((await read("a")).row.version, 2);
  });

  it("never moves a task back, nor takes another host's word for it", async () => {
    await addTask("b");
    assert.equal(
      await applyTaskState(store, "host-1", state("b", { lastStatus: "RUNNING" })),
      true,
    );
    assert.equal(
      await applyTaskState(store, "host-1", state("b", { lastStatus: "PENDING" })),
      false,
    );
    assert.equal(
      await applyTaskState(store, "host-2", state("b", { lastStatus: "STOPPED", stoppedAt: 9 })),
      false,
    );
    assert.equal(
      await applyTaskState(store, "host-1", state("nosuch", { lastStatus: "RUNNING" })),
      false,
    );
    const { row } = await read("b");
    assert.equal(row.last_status, "RUNNING");
    assert.equal(row.desired_status, "RUNNING");
  });

  it("records STOPPED with the first stop code and reason, exit codes, and stops desiring it", async () => {
    await addTask("c");
    const stopping = state("c", {
      lastStatus: "STOPPING",
      stoppingAt: 5_000,
      stopCode: "EssentialContainerExited",
      stoppedReason: "Essential container in task exited",
      containers: [
        { name: "app", lastStatus: "STOPPED", exitCode: 3, reason: "boom" },
        { name: "side", lastStatus: "RUNNING", healthStatus: "UNHEALTHY" },
      ],
      healthStatus: "UNHEALTHY",
    });
    assert.equal(await applyTaskState(store, "host-1", stopping), true);
    const stopped = state("c", {
      lastStatus: "STOPPED",
      stoppingAt: 6_000,
      stoppedAt: 7_000,
      // A later snapshot's reason does not replace the first.
      stopCode: "UserInitiated",
      stoppedReason: "Task stopped by user",
      containers: [
        { name: "app", lastStatus: "STOPPED", exitCode: 3, reason: "boom" },
        { name: "side", lastStatus: "STOPPED", exitCode: 143 },
      ],
    });
    assert.equal(await applyTaskState(store, "host-1", stopped), true);
    const { row, task } = await read("c");
    assert.equal(row.last_status, "STOPPED");
    assert.equal(row.desired_status, "STOPPED");
    assert.equal(row.stopped_at, 7_000);
    assert.equal(task.stopCode, "EssentialContainerExited");
    assert.equal(task.stoppedReason, "Essential container in task exited");
    assert.equal(task.stoppingAt?.getTime(), 5_000);
    assert.equal(task.healthStatus, "UNHEALTHY");
    assert.deepEqual(
      task.containers?.map((c) => [c.name, c.lastStatus, c.exitCode, c.reason]),
      [
        ["app", "STOPPED", 3, "boom"],
        ["side", "STOPPED", 143, undefined],
      ],
    );
    assert.equal(task.containers?.[1]?.healthStatus, "UNHEALTHY");
  });
});
