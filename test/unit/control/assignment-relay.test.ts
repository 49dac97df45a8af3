/**
 * The relay holds a task's stop while its load balancer targets drain (the drain is a row in the
 * store, so the wait outlives the server that began it) and sends it once they have drained; a
 * host that says hello meanwhile is told the task still runs.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { AssignmentRelay } from "../../../src/control/assignment-relay.js";
import { assignmentsForHost, createTasks, requestStop } from "../../../src/control/tasks.js";
import { silentLogger } from "../../../src/core/index.js";
import type { ServerMessage } from "../../../src/protocol/index.js";
import { openNotifier, openSqliteStore } from "../../../src/store/index.js";
import { addHost, draft } from "./placement-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-relay-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a stop waits for its task's targets to drain, then goes out", async () => {
  const store = await openSqliteStore(join(dir, "relay.db"));
  await addHost(store, "h1", 4);
  const { tasks } = await createTasks(store, [draft(), draft()]);
  const [drained, plain] = tasks.map((t) => t.taskArn ?? "") as [string, string];
  const now = new Date();
  await store
    .insertInto("elb_targets")
    .values({
      target_group_arn: "arn:tg",
      id: "100.64.0.9",
      port: 8080,
      availability_zone: null,
      task_arn: drained,
      registered_at: now.getTime(),
      draining_until: now.getTime() + 60_000,
    })
    .execute();
  for (const taskArn of [drained, plain])
    await requestStop(store, { taskArn, stopCode: "UserInitiated", stoppedReason: "x", now });

  const sent: ServerMessage[] = [];
  const relay = new AssignmentRelay({
    store,
    channel: {
      connectedHosts: () => ["h1"],
      send: (_hostId, message) => (sent.push(message), true),
    },
    notifier: openNotifier(store, undefined, silentLogger),
    log: silentLogger,
    intervalMs: 20,
    poll: "stops",
  });
  relay.start();
  const stopsSent = () =>
    sent.flatMap((m) =>
      m.type === "assign" && m.task.desiredStatus === "STOPPED" ? [m.task.taskArn] : [],
    );
  await sleep(300);
  assert.deepEqual(stopsSent(), [plain], "only the task with nothing to drain is stopped");
  const hello = await assignmentsForHost(store, "h1");
  assert.equal(hello.find((a) => a.taskArn === drained)?.desiredStatus, "RUNNING");
  assert.equal(hello.find((a) => a.taskArn === plain)?.desiredStatus, "STOPPED");

  // Drained (the load balancer removed the row): the next pass sends the stop.
  await store.deleteFrom("elb_targets").execute();
  await sleep(300);
  await relay.stop();
  assert.ok(stopsSent().includes(drained), "the drained task's stop went out");
  assert.equal(
    (await assignmentsForHost(store, "h1")).find((a) => a.taskArn === drained)?.desiredStatus,
    "STOPPED",
  );
  await store.destroy();
});

test("a turn's deliveries to hosts connected elsewhere are one notification, and reach them", async () => {
  const store = await openSqliteStore(join(dir, "announce.db"));
  const hosts = Array.from({ length: 5 }, (_, i) => `h${i}`);
  for (const hostId of hosts) await addHost(store, hostId, 4);
  const { assignments } = await createTasks(
    store,
    Array.from({ length: 10 }, () => draft()),
  );
  const local = openNotifier(store, undefined, silentLogger);
  const published: string[] = [];
  const notifier = {
    publish: (topic: Parameters<typeof local.publish>[0], payload: string) => {
      published.push(payload);
      return local.publish(topic, payload);
    },
    subscribe: local.subscribe.bind(local),
    close: () => local.close(),
  };
  // The placing server has no host connected; the other has them all.
  const placing = new AssignmentRelay({
    store,
    channel: { connectedHosts: () => [], send: () => false },
    notifier,
    log: silentLogger,
  });
  const sent = new Set<string>();
  const connected = new AssignmentRelay({
    store,
    channel: {
      connectedHosts: () => hosts,
      send: (_hostId, message) => (
        message.type === "assign" && sent.add(message.task.taskArn),
        true
      ),
    },
    notifier,
    log: silentLogger,
  });
  placing.start();
  connected.start();
  for (const { hostId, assignment } of assignments)
    placing.deliver(hostId, { type: "assign", task: assignment });
  await sleep(200);
  await placing.stop();
  await connected.stop();
  assert.equal(published.length, 1, "one notification for the turn");
  assert.deepEqual(
    published[0]?.split(",").sort(),
    [...new Set(assignments.map((a) => a.hostId))].sort(),
  );
  assert.deepEqual(
    [...sent].sort(),
    assignments.map((a) => a.assignment.taskArn).sort(),
    "every task reached its host",
  );
  await store.destroy();
});

test("the timed pass sends what its host has not reported on yet, and stops, not every live task", async () => {
  const store = await openSqliteStore(join(dir, "timed.db"));
  await addHost(store, "h1", 4);
  const { tasks } = await createTasks(store, [draft(), draft(), draft()]);
  const [fresh, running, stopping] = tasks.map((t) => t.taskArn ?? "") as [string, string, string];
  // Two its host has reported RUNNING (so it holds them); one of those is to stop.
  await store
    .updateTable("tasks")
    .set({ last_status: "RUNNING" })
    .where("arn", "in", [running, stopping])
    .execute();
  await requestStop(store, {
    taskArn: stopping,
    stopCode: "UserInitiated",
    stoppedReason: "x",
    now: new Date(),
  });
  const sent: string[] = [];
  const relay = new AssignmentRelay({
    store,
    channel: {
      connectedHosts: () => ["h1"],
      send: (_hostId, message) => (
        message.type === "assign" &&
          sent.push(`${message.task.taskArn} ${message.task.desiredStatus}`),
        true
      ),
    },
    notifier: openNotifier(store, undefined, silentLogger),
    log: silentLogger,
    intervalMs: 20,
  });
  relay.start();
  try {
    await sleep(200);
  } finally {
    await relay.stop();
    await store.destroy();
  }
  // Each once: what was sent is remembered.
  assert.deepEqual(sent.sort(), [`${fresh} RUNNING`, `${stopping} STOPPED`].sort());
});
