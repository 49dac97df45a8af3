/**
 * The leader's roles write only while it leads: once another server has taken the lease (the
 * old leader was paused past its term, say), the old one's host-liveness pass, its stops and its
 * launches change nothing and it steps down. SQLite here; the fence itself is also run on
 * PostgreSQL by the lease contract.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Lease, LeaseLost } from "../../../src/control/leases.js";
import { markLostHosts } from "../../../src/control/hosts.js";
import { createTasks, requestStop } from "../../../src/control/tasks.js";
import { appendLogEvents, sweepExpiredLogEvents } from "../../../src/services/logs/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";
import { addHost, draft, longWatched } from "./placement-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-fence-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A store where server "old" led, was paused past its lease, and "new" leads now. */
async function deposed(): Promise<{ store: Store; old: Lease; current: Lease }> {
  const store = await openSqliteStore(join(dir, `f${++n}.db`));
  const old = new Lease({ store, role: "control-plane", holder: "old", ttlMs: 200 });
  const current = new Lease({ store, role: "control-plane", holder: "new", ttlMs: 10_000 });
  assert.equal(await old.tryAcquire(), true);
  await sleep(300);
  assert.equal(await current.tryAcquire(), true);
  return { store, old, current };
}

test("a deposed leader's host-liveness pass marks nothing lost", async () => {
  const { store, old, current } = await deposed();
  await addHost(store, "h1", 2);
  await createTasks(store, [draft()]);
  await store
    .updateTable("host_liveness")
    .set({ last_seen_at: 0 })
    .where("host_id", "=", "h1")
    .execute();
  await assert.rejects(
    markLostHosts(store, longWatched(), (trx) => old.fence(trx)),
    LeaseLost,
  );
  const host = await store.selectFrom("hosts").selectAll().executeTakeFirstOrThrow();
  assert.equal(host.status, "ACTIVE");
  assert.equal(Number(host.reserved_cpu), 256);
  // The leader that holds the lease does it.
  const lost = await markLostHosts(store, longWatched(), (trx) => current.fence(trx));
  assert.equal(lost[0]?.taskArns.length, 1);
  await store.destroy();
});

test("a deposed leader's stop and launch change nothing", async () => {
  const { store, old, current } = await deposed();
  await addHost(store, "h1", 4);
  const { tasks } = await createTasks(store, [draft()]);
  const taskArn = tasks[0]?.taskArn ?? "";
  const stop = { taskArn, stopCode: "ServiceSchedulerInitiated", stoppedReason: "scale in" };
  await assert.rejects(
    requestStop(store, { ...stop, now: new Date(), fence: (trx) => old.fence(trx) }),
    LeaseLost,
  );
  const row = await store.selectFrom("tasks").selectAll().executeTakeFirstOrThrow();
  assert.equal(row.desired_status, "RUNNING");
  await assert.rejects(
    createTasks(store, [draft(), draft()], (trx) => old.fence(trx)),
    LeaseLost,
  );
  const count = await store.selectFrom("tasks").select("arn").execute();
  assert.equal(count.length, 1, "the old leader's launch stored no task");
  const host = await store.selectFrom("hosts").selectAll().executeTakeFirstOrThrow();
  assert.equal(Number(host.reserved_cpu), 256, "and booked no room");
  assert.equal(old.isHeld(), false, "it stepped down");
  const stopped = await requestStop(store, {
    ...stop,
    now: new Date(),
    fence: (trx) => current.fence(trx),
  });
  assert.equal(stopped?.desired_status, "STOPPED");
  await store.destroy();
});

test("a deposed leader's log retention sweep deletes nothing", async () => {
  const { store, old, current } = await deposed();
  const day = 86_400_000;
  await appendLogEvents(store, {
    group: "/ecs/web",
    stream: "s",
    createGroup: true,
    events: [{ timestamp: Date.now() - 10 * day, message: "old line" }],
  });
  await store.updateTable("log_groups").set({ retention_days: 1 }).execute();
  await assert.rejects(
    sweepExpiredLogEvents(store, new Date(), (trx) => old.fence(trx)),
    LeaseLost,
  );
  const kept = await store.selectFrom("log_events").select("seq").execute();
  assert.equal(kept.length, 1, "the old leader's sweep rolled back");
  assert.equal(await sweepExpiredLogEvents(store, new Date(), (trx) => current.fence(trx)), 1);
  await store.destroy();
});
