// The one start and stop path (TaskCommands) against a real SQLite store, with a recording host link and a
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
  TaskCommands,
  readTask,
  type ServiceTargets,
} from "../../../src/control/index.js";
import { silentLogger, systemClock } from "../../../src/core/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";
import { addHost, draft } from "./placement-contract.js";

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
  const assigned: Array<{ hostId: string; taskArn: string }> = [];
  const hosts = {
    assign(hostId: string, assignment: { taskArn: string }) {
      assigned.push({ hostId, taskArn: assignment.taskArn });
    },
    stop(hostId: string, taskArn: string, stopCode: string, stoppedReason: string) {
      calls.push(`stop ${taskArn.split("/").pop() ?? ""}`);
      sent.push({ hostId, taskArn, stopCode, stoppedReason });
    },
  };
  return { sent, calls, targets, hosts, release, assigned };
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

describe("TaskCommands", () => {
  it("records the stop, keeps the first stop's code, and tells the task's host", async () => {
    await addTask("plain");
    const { sent, targets, hosts } = recorder();
    const commands = new TaskCommands({ store, hosts, targets, log });
    const row = await commands.stopTask({
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
    await commands.stopTask({
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

  it("starts tasks: placed, stored with their tags, and their host told", async () => {
    await addHost(store, "start-host", 2);
    const { assigned, hosts } = recorder();
    const commands = new TaskCommands({ store, hosts, log });
    let inside = 0;
    const drafts = [draft("s"), draft("s"), draft("s")];
    const started = await commands.startTasks({
      drafts,
      tags: [
        { key: "team", value: "a" },
        { key: "team", value: "b" },
      ],
      beforeCommit: (_trx, placed) => {
        inside = placed.tasks.length;
        return Promise.resolve();
      },
    });
    assert.equal(started.tasks.length, 2, "two fit on the host");
    assert.deepEqual(
      started.failures.map((f) => f.reason),
      ["RESOURCE:CPU"],
    );
    assert.equal(inside, 2, "beforeCommit saw the placed tasks");
    assert.deepEqual(
      assigned,
      started.tasks.map((t) => ({ hostId: "start-host", taskArn: t.taskArn })),
    );
    for (const task of started.tasks) {
      const tags = await store
        .selectFrom("tags")
        .select(["key", "value"])
        .where("resource_arn", "=", task.taskArn ?? "")
        .execute();
      assert.deepEqual(tags, [{ key: "team", value: "b" }], "one row a key, the last value");
      assert.deepEqual(task.tags, [
        { key: "team", value: "a" },
        { key: "team", value: "b" },
      ]);
    }
  });

  it("a start refused by its fence stores nothing and tells no host", async () => {
    const { assigned, hosts } = recorder();
    const commands = new TaskCommands({ store, hosts, log });
    const before = await store.selectFrom("tasks").select("arn").execute();
    await assert.rejects(
      commands.startTasks({
        drafts: [draft("f")],
        tags: [{ key: "k", value: "v" }],
        fence: () => Promise.reject(new Error("deposed")),
      }),
      /deposed/,
    );
    assert.equal((await store.selectFrom("tasks").select("arn").execute()).length, before.length);
    assert.equal(assigned.length, 0);
  });

  it("stops a task never placed at once, without a message to any host", async () => {
    await addTask("unplaced", { host: null });
    const { sent, hosts } = recorder();
    const row = await new TaskCommands({ store, hosts, log }).stopTask({
      taskArn: arnOf("unplaced"),
      stopCode: "UserInitiated",
      stoppedReason: "x",
      now: new Date(),
    });
    assert.equal(row?.last_status, "STOPPED");
    assert.equal(sent.length, 0);
    assert.equal(
      await new TaskCommands({ store, hosts, log }).stopTask({
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
    const row = await new TaskCommands({ store, hosts, targets, log }).stopTask({
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
    const commands = new TaskCommands({ store, hosts, targets, log });
    let interrupted = 0;
    const spot = new SpotInterrupter({
      store,
      clock: systemClock,
      log,
      warningMs: 0,
      tasks: commands,
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
