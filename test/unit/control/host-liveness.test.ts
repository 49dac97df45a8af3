/**
 * Host liveness: a host is lost when silent past the timeout, counted from when this server
 * began watching if that is later (a server that just became the leader has heard from no agent
 * yet; each host gets one whole timeout to reconnect, as the Kubernetes node controller gives).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { markLostHosts, planLostHosts, type HostHeard } from "../../../src/control/index.js";
import { createTasks } from "../../../src/control/tasks.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";
import { addHost, draft } from "./placement-contract.js";

const T = Date.UTC(2026, 11, 6, 2, 0, 0);
const at = (ms: number) => new Date(T + ms);
const hosts: HostHeard[] = [
  { hostId: "fresh", lastSeenAt: T - 5_000 },
  { hostId: "stale", lastSeenAt: T - 60_000 },
  { hostId: "never", lastSeenAt: null },
];
const pass = (watchingSinceMs: number, connected: string[] = []) => ({
  now: at(0),
  timeoutMs: 30_000,
  connected: new Set(connected),
  watchingSince: at(watchingSinceMs),
});

describe("planLostHosts", () => {
  it("calls lost the hosts silent past the timeout, never-heard ones included", () => {
    assert.deepEqual(planLostHosts(hosts, pass(-3_600_000)), ["stale", "never"]);
  });

  it("calls none lost before the leader has watched for one timeout", () => {
    // Became the leader 1 s ago, after being down an hour: every heartbeat on record is old.
    assert.deepEqual(planLostHosts(hosts, pass(-1_000)), []);
    // Exactly one timeout of watching is not yet past it.
    assert.deepEqual(planLostHosts(hosts, pass(-30_000)), []);
    assert.deepEqual(planLostHosts(hosts, pass(-30_001)), ["stale", "never"]);
  });

  it("counts silence from the later of the last heartbeat and the start of watching", () => {
    const late = [{ hostId: "h", lastSeenAt: T - 31_000 }];
    // Heard 31 s ago but watched for only 20 s: still within its grace.
    assert.deepEqual(planLostHosts(late, pass(-20_000)), []);
    assert.deepEqual(planLostHosts(late, pass(-40_000)), ["h"]);
  });

  it("never calls lost a host whose agent is connected", () => {
    assert.deepEqual(planLostHosts(hosts, pass(-3_600_000, ["stale"])), ["never"]);
  });
});

describe("markLostHosts", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-liveness-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A store with host h1, one task placed on it, and h1 last heard from an hour ago. */
  async function hostSilentForAnHour(file: string): Promise<{ store: Store; now: Date }> {
    const store = await openSqliteStore(join(dir, file));
    await addHost(store, "h1", 2);
    await createTasks(store, [draft()]);
    const now = new Date();
    await store
      .updateTable("host_liveness")
      .set({ last_seen_at: now.getTime() - 3_600_000 })
      .where("host_id", "=", "h1")
      .execute();
    return { store, now };
  }

  it("a leader that has just started stops no task of a host silent for an hour", async () => {
    const { store, now } = await hostSilentForAnHour("grace.db");
    try {
      const fresh = { now, timeoutMs: 30_000, connected: new Set<string>() };
      const early = await markLostHosts(store, {
        ...fresh,
        watchingSince: new Date(now.getTime() - 1_000),
      });
      assert.deepEqual(early, []);
      const host = await store.selectFrom("hosts").selectAll().executeTakeFirstOrThrow();
      assert.equal(host.status, "ACTIVE");
      const task = await store.selectFrom("tasks").selectAll().executeTakeFirstOrThrow();
      assert.equal(task.last_status, "PROVISIONING");
      // Still silent once the grace is over: lost, its task stopped.
      const later = await markLostHosts(store, {
        ...fresh,
        watchingSince: new Date(now.getTime() - 31_000),
      });
      assert.deepEqual(
        later.map((l) => [l.hostId, l.taskArns.length]),
        [["h1", 1]],
      );
      const stopped = await store.selectFrom("tasks").selectAll().executeTakeFirstOrThrow();
      assert.equal(stopped.last_status, "STOPPED");
    } finally {
      await store.destroy();
    }
  });

  it("leaves a host heard from between the read and its transaction", async () => {
    const { store, now } = await hostSilentForAnHour("recheck.db");
    try {
      const pass = {
        now,
        timeoutMs: 30_000,
        connected: new Set<string>(),
        watchingSince: new Date(0),
      };
      // The agent reconnects (to another server, which records it) just as the transaction
      // that would mark it lost begins: the fence runs first in it, so it stands in for that.
      const lost = await markLostHosts(store, pass, async (trx) => {
        await trx
          .updateTable("host_liveness")
          .set({ last_seen_at: now.getTime() })
          .where("host_id", "=", "h1")
          .execute();
      });
      assert.deepEqual(lost, []);
      const host = await store.selectFrom("hosts").selectAll().executeTakeFirstOrThrow();
      assert.equal(host.status, "ACTIVE");
      const task = await store.selectFrom("tasks").selectAll().executeTakeFirstOrThrow();
      assert.equal(task.last_status, "PROVISIONING");
    } finally {
      await store.destroy();
    }
  });
});
