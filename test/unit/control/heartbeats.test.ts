// Heartbeats recorded in batches (heartbeats.ts): one statement for every host heard within a
// flush, never a later time than a host was heard, and a host written recently not written
// again until the host timeout's share says so.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  HeartbeatWriter,
  heartbeatEveryFor,
  writeEveryFor,
} from "../../../src/control/heartbeats.js";
import { ManualClock, silentLogger } from "../../../src/core/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";
import { addHost } from "./placement-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-heartbeats-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function withHosts(
  count: number,
  body: (store: Store, clock: ManualClock) => Promise<void>,
): Promise<void> {
  const store = await openSqliteStore(join(dir, `h${++n}.db`));
  try {
    for (let i = 0; i < count; i++) await addHost(store, `h${i}`, 1);
    await store.updateTable("host_liveness").set({ last_seen_at: 0 }).execute();
    await body(store, new ManualClock(100_000));
  } finally {
    await store.destroy();
  }
}

async function seen(store: Store): Promise<Record<string, number>> {
  const rows = await store
    .selectFrom("host_liveness")
    .select(["host_id", "last_seen_at"])
    .execute();
  return Object.fromEntries(rows.map((r) => [r.host_id, Number(r.last_seen_at)]));
}

describe("heartbeats written in batches", () => {
  it("writes every host heard within a flush in one statement, as heard no later than it was", () =>
    withHosts(3, async (store, clock) => {
      let statements = 0;
      const updateTable = store.updateTable.bind(store);
      store.updateTable = ((table: "host_liveness") => {
        statements++;
        return updateTable(table);
      }) as typeof store.updateTable;
      const writer = new HeartbeatWriter(store, clock, silentLogger, { flushMs: 60_000 });
      try {
        writer.heard("h0");
        clock.advance(100);
        writer.heard("h1");
        assert.deepEqual(await seen(store), { h0: 0, h1: 0, h2: 0 }, "not written before a flush");
        await writer.flush();
        assert.equal(statements, 1);
        // Both as of the first heartbeat of the batch: never later than either was heard.
        assert.deepEqual(await seen(store), { h0: 100_000, h1: 100_000, h2: 0 });
        // A later time already written (a report's) is not moved back.
        await store
          .updateTable("host_liveness")
          .set({ last_seen_at: 200_000 })
          .where("host_id", "=", "h2")
          .execute();
        clock.advance(1_000);
        writer.heard("h2");
        writer.heard("h0");
        await writer.flush();
        assert.deepEqual(await seen(store), { h0: 101_100, h1: 100_000, h2: 200_000 });
      } finally {
        writer.close();
      }
    }));

  it("does not write a host again within writeEveryMs of its last write, nor after hello", () =>
    withHosts(2, async (store, clock) => {
      const writer = new HeartbeatWriter(store, clock, silentLogger, {
        flushMs: 60_000,
        writeEveryMs: 5_000,
      });
      try {
        writer.heard("h0");
        await writer.flush();
        clock.advance(2_000);
        writer.heard("h0");
        // h1's hello wrote it just now.
        writer.wrote("h1", clock.now().getTime());
        writer.heard("h1");
        await writer.flush();
        assert.deepEqual(await seen(store), { h0: 100_000, h1: 0 });
        clock.advance(3_000);
        writer.heard("h0");
        await writer.flush();
        assert.equal((await seen(store)).h0, 105_000, "5 s after its last write: written");
        // A host whose channel closed is written at its next heartbeat, wherever it lands.
        clock.advance(1_000);
        writer.forget("h0");
        writer.heard("h0");
        await writer.flush();
        assert.equal((await seen(store)).h0, 106_000);
      } finally {
        writer.close();
      }
    }));

  it("flushes on its own after flushMs", () =>
    withHosts(1, async (store, clock) => {
      const writer = new HeartbeatWriter(store, clock, silentLogger, { flushMs: 20 });
      try {
        writer.heard("h0");
        await new Promise((r) => setTimeout(r, 200));
        assert.equal((await seen(store)).h0, 100_000);
      } finally {
        writer.close();
      }
    }));
});

describe("how long a write may stand, for a host timeout", () => {
  it("keeps the silence a leader can see from a live host within half the timeout", () => {
    // Silence seen = one heartbeat interval + writeEvery + one flush (0.25 s).
    for (const timeout of [3_000, 5_000, 10_000, 12_000, 30_000, 120_000]) {
      const every = writeEveryFor(timeout);
      const heartbeat = heartbeatEveryFor(timeout);
      assert.ok(every >= 0);
      assert.ok(heartbeat + every + 250 <= Math.max(timeout / 2, 2_250), `timeout ${timeout}`);
    }
    assert.equal(writeEveryFor(3_000), 0, "a short timeout: every heartbeat written");
    assert.equal(writeEveryFor(30_000), 9_750);
    assert.equal(writeEveryFor(120_000), 10_000, "at most 10 s");
  });

  it("asks agents to heartbeat every sixth of the timeout, from 2 s to 5 s", () => {
    assert.equal(heartbeatEveryFor(3_000), 2_000, "never more often than the agents' default");
    assert.equal(heartbeatEveryFor(12_000), 2_000);
    assert.equal(heartbeatEveryFor(24_000), 4_000);
    assert.equal(heartbeatEveryFor(30_000), 5_000, "the default timeout");
    assert.equal(heartbeatEveryFor(120_000), 5_000);
  });
});
