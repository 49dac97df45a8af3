/**
 * Leader leases on a store engine: one leader at a time, a new epoch at every change of
 * leader, a deposed leader's fenced writes change nothing. Run on SQLite by leases.test.ts
 * and on a real PostgreSQL by test/e2e/store-postgres.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Lease, LeaseLost } from "../../../src/control/leases.js";
import type { Store } from "../../../src/store/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A write of the lease's role, fenced as leader roles write: it commits only while it leads. */
async function writeTag(store: Store, lease: Lease, value: string): Promise<void> {
  await store.transaction().execute(async (trx) => {
    await lease.fence(trx);
    await trx.insertInto("tags").values({ resource_arn: "arn:lease", key: value, value }).execute();
  });
}

async function tags(store: Store): Promise<string[]> {
  const rows = await store.selectFrom("tags").select("key").orderBy("key").execute();
  return rows.map((r) => r.key);
}

export function leaseContract(engine: string, open: () => Promise<Store>): void {
  const withStore = (name: string, body: (store: Store) => Promise<void>): void =>
    void test(`${engine}: lease: ${name}`, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.destroy();
      }
    });

  withStore("one leader while its lease is valid; renewal keeps the epoch", async (store) => {
    const events: string[] = [];
    const a = new Lease({
      store,
      role: "reconciler",
      holder: "a",
      ttlMs: 2_000,
      onAcquired: (epoch) => events.push(`a leads ${epoch}`),
      onLost: () => events.push("a lost"),
    });
    const b = new Lease({ store, role: "reconciler", holder: "b", ttlMs: 2_000 });
    assert.equal(await a.tryAcquire(), true);
    assert.equal(a.epoch, 1);
    assert.equal(await b.tryAcquire(), false);
    assert.equal(b.epoch, undefined);
    assert.equal(await a.tryAcquire(), true, "renewed");
    assert.equal(a.epoch, 1);
    // Another role is another lease.
    const c = new Lease({ store, role: "autoscaler", holder: "b", ttlMs: 2_000 });
    assert.equal(await c.tryAcquire(), true);
    assert.deepEqual(events, ["a leads 1"]);
    await a.stop();
    await c.stop();
  });

  withStore("an expired lease passes to another server with a new epoch", async (store) => {
    let aLost = 0;
    const a = new Lease({
      store,
      role: "r",
      holder: "a",
      ttlMs: 300,
      onLost: () => aLost++,
    });
    const b = new Lease({ store, role: "r", holder: "b", ttlMs: 300 });
    assert.equal(await a.tryAcquire(), true);
    await sleep(1_000); // a does not renew (stopped, partitioned, paused): its lease expires
    assert.equal(a.isHeld(), false, "a stopped trusting its lease before it expired");
    assert.equal(aLost, 1, "and stepped down on its own");
    assert.equal(await b.tryAcquire(), true);
    assert.equal(b.epoch, 2);
    // a asks again: b's lease is valid, so a stays a follower.
    assert.equal(await a.tryAcquire(), false);
    await b.stop();
    // b gave it up: a takes it at once, as the next epoch.
    assert.equal(await a.tryAcquire(), true);
    assert.equal(a.epoch, 3);
    await a.stop();
  });

  withStore("a deposed leader's fenced write changes nothing", async (store) => {
    const a = new Lease({ store, role: "r", holder: "a", ttlMs: 5_000 });
    const b = new Lease({ store, role: "r", holder: "b", ttlMs: 5_000 });
    assert.equal(await a.tryAcquire(), true);
    await writeTag(store, a, "a-while-leading");
    // a is frozen (SIGSTOP) past its lease: the database expires it while a's timers have not
    // fired yet, and b takes over. Expiring the row stands in for the time a did not see pass.
    await store.updateTable("leases").set({ expires_at: 0 }).where("role", "=", "r").execute();
    assert.equal(await b.tryAcquire(), true);
    assert.equal(a.isHeld(), true, "a still believes it leads");
    await assert.rejects(writeTag(store, a, "a-after-deposed"), LeaseLost);
    assert.equal(a.isHeld(), false, "a stepped down when the fence refused it");
    await writeTag(store, b, "b-leading");
    assert.deepEqual(await tags(store), ["a-while-leading", "b-leading"]);
    await b.stop();
  });

  withStore("servers racing for a free lease: exactly one wins", async (store) => {
    const leases = Array.from(
      { length: 8 },
      (_, i) => new Lease({ store, role: "race", holder: `s${i}`, ttlMs: 5_000 }),
    );
    const won = await Promise.all(leases.map((l) => l.tryAcquire().catch(() => false)));
    assert.equal(won.filter(Boolean).length, 1, `winners: ${JSON.stringify(won)}`);
    for (const l of leases) await l.stop();
  });

  withStore("start() keeps leading, and stop() hands over", async (store) => {
    const a = new Lease({ store, role: "loop", holder: "a", ttlMs: 1_500, renewEveryMs: 100 });
    const b = new Lease({ store, role: "loop", holder: "b", ttlMs: 1_500, renewEveryMs: 100 });
    a.start();
    await sleep(200);
    b.start();
    await sleep(3_500); // more than two lease lengths: a renewed throughout
    assert.equal(a.isHeld(), true);
    assert.equal(b.isHeld(), false);
    await a.stop();
    await sleep(600);
    assert.equal(b.isHeld(), true);
    assert.equal(b.epoch, 2);
    await b.stop();
  });
}
