// The one stop path (TaskStopper) against a real SQLite store, with a recording host link and a
// recording ServiceTargets: the stop is recorded with the first stop's code, a service's task
// behind a load balancer is deregistered and drained before its host hears of it, a task never
// placed stops at once without a message, and Spot interruptions take the same path.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  SpotInterrupter,
  TaskStopper,
  readTask,
  type ServiceTargets,
} from "../../../src/control/index.js";
import { silentLogger, systemClock } from "../../../src/core/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

const TG = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef";
const arnOf = (id: string): string => `arn:aws:ecs:us-east-1:000000000000:task/default/${id}`;

let dir: string;
let store: Store;
const log = silentLogger;

async function addTask(
  id: string,
  options: { group?: string; host?: string | null; address?: string; spot?: boolean } = {},
): Promise<void> {
  const document = {
    taskArn: arnOf(id),
    clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/default",
    group: options.group ?? "family:web",
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    ...(options.spot === true ? { capacityProviderName: "FARGATE_SPOT" } : {}),
    attachments:
      options.address === undefined
        ? []
        : [
            {
              type: "ElasticNetworkInterface",
              status: "ATTACHED",
              details: [{ name: "privateIPv4Address", value: options.address }],
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
      last_status: options.host === null ? "PROVISIONING" : "RUNNING",
      desired_status: "RUNNING",
      host_id: options.host === undefined ? "host-1" : options.host,
      cpu: 256,
      memory: 512,
      started_by: null,
      group_name: options.group ?? "family:web",
      created_at: 0,
      stopped_at: null,
      version: 1,
      document: JSON.stringify(document),
      assignment: JSON.stringify({ taskArn: arnOf(id), desiredStatus: "RUNNING" }),
    })
    .execute();
}

interface Sent {
  hostId: string;
  taskArn: string;
  stopCode: string;
  stoppedReason: string;
}

function recorder() {
  const sent: Sent[] = [];
  const calls: string[] = [];
  let release: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (release = resolve));
  const targets: ServiceTargets = {
    checkTargetGroup: () => Promise.resolve(undefined),
    registered: () => Promise.resolve([]),
    register: () => Promise.resolve(),
    deregister: (tg, id, port) => {
      calls.push(`deregister ${tg} ${id}:${port}`);
      return Promise.resolve();
    },
    drained: async (_tg, id) => {
      await drained;
      calls.push(`drained ${id}`);
    },
    state: () => Promise.resolve(undefined),
  };
  const hosts = {
    stop(hostId: string, taskArn: string, stopCode: string, stoppedReason: string) {
      calls.push(`stop ${taskArn.split("/").pop() ?? ""}`);
      sent.push({ hostId, taskArn, stopCode, stoppedReason });
    },
  };
  return { sent, calls, targets, hosts, release };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-task-stops-"));
  store = await openSqliteStore(join(dir, "berth.db"));
  await store
    .insertInto("services")
    .values({
      arn: "arn:aws:ecs:us-east-1:000000000000:service/default/web",
      cluster_name: "default",
      name: "web",
      status: "ACTIVE",
      desired_count: 1,
      document: JSON.stringify({
        service: {
          serviceName: "web",
          loadBalancers: [{ targetGroupArn: TG, containerName: "app", containerPort: 80 }],
        },
        extras: {},
      }),
      created_at: 0,
      updated_at: 0,
    })
    .execute();
});
after(async () => {
  await store.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("TaskStopper", () => {
  it("records the stop, keeps the first stop's code, and tells the task's host", async () => {
    await addTask("plain");
    const { sent, targets, hosts } = recorder();
    const stopper = new TaskStopper({ store, hosts, targets, log });
    const row = await stopper.stop({
      taskArn: arnOf("plain"),
      stopCode: "UserInitiated",
      stoppedReason: "by hand",
      now: new Date(),
    });
    assert.equal(row?.desired_status, "STOPPED");
    assert.deepEqual(sent, [
      {
        hostId: "host-1",
        taskArn: arnOf("plain"),
        stopCode: "UserInitiated",
        stoppedReason: "by hand",
      },
    ]);
    await stopper.stop({
      taskArn: arnOf("plain"),
      stopCode: "ServiceSchedulerInitiated",
      stoppedReason: "later",
      now: new Date(),
    });
    assert.equal(sent[1]?.stopCode, "UserInitiated", "the first stop's code stays");
    const stored = await store
      .selectFrom("tasks")
      .selectAll()
      .where("arn", "=", arnOf("plain"))
      .executeTakeFirstOrThrow();
    assert.equal(readTask(stored).stoppedReason, "by hand");
  });

  it("stops a task never placed at once, without a message to any host", async () => {
    await addTask("unplaced", { host: null });
    const { sent, hosts } = recorder();
    const row = await new TaskStopper({ store, hosts, log }).stop({
      taskArn: arnOf("unplaced"),
      stopCode: "UserInitiated",
      stoppedReason: "x",
      now: new Date(),
    });
    assert.equal(row?.last_status, "STOPPED");
    assert.equal(sent.length, 0);
    assert.equal(
      await new TaskStopper({ store, hosts, log }).stop({
        taskArn: arnOf("nope"),
        stopCode: "UserInitiated",
        stoppedReason: "x",
        now: new Date(),
      }),
      undefined,
    );
  });

  it("drains a balanced service's task before its host hears of the stop", async () => {
    await addTask("web1", { group: "service:web", address: "100.64.0.9" });
    const { sent, calls, targets, hosts, release } = recorder();
    const row = await new TaskStopper({ store, hosts, targets, log }).stop({
      taskArn: arnOf("web1"),
      stopCode: "ServiceSchedulerInitiated",
      stoppedReason: "scale in",
      now: new Date(),
    });
    assert.equal(row?.desired_status, "STOPPED", "recorded before the drain ends");
    assert.deepEqual(calls, [`deregister ${TG} 100.64.0.9:80`]);
    assert.equal(sent.length, 0, "the host waits for the drain");
    release();
    while (sent.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls.slice(1), ["drained 100.64.0.9", "stop web1"]);
  });

  it("Spot interruptions go the same way, draining too", async () => {
    await addTask("spot1", { group: "service:web", address: "100.64.0.10", spot: true });
    const { sent, calls, targets, hosts, release } = recorder();
    const stopper = new TaskStopper({ store, hosts, targets, log });
    let interrupted = 0;
    const spot = new SpotInterrupter({
      store,
      clock: systemClock,
      log,
      warningMs: 0,
      stopper,
      onInterrupted: () => interrupted++,
    });
    assert.deepEqual(await spot.interrupt({ hostId: "host-1" }), [arnOf("spot1")]);
    while (interrupted === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(calls, [`deregister ${TG} 100.64.0.10:80`]);
    release();
    while (sent.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sent[0], {
      hostId: "host-1",
      taskArn: arnOf("spot1"),
      stopCode: "SpotInterruption",
      stoppedReason: "Your Spot Task was interrupted.",
    });
    spot.close();
  });
});
