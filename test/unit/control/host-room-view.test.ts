// A server's picture of its hosts' free room (host-room-view.ts): placement chooses from it
// instead of reading every host per RunTask, reads it again once it is old or a host said hello,
// and never lets it overbook a host or refuse a task that fits.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  GROUP_LOAD_MAX_AGE_MS,
  HostRoomView,
  hostRoomView,
} from "../../../src/control/host-room-view.js";
import { createTasks } from "../../../src/control/tasks.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";
import { addHost, draft, longWatched } from "./placement-contract.js";
import { markLostHosts } from "../../../src/control/hosts.js";

const dir = mkdtempSync(join(tmpdir(), "berth-host-room-view-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function withStore(body: (store: Store) => Promise<void>): Promise<void> {
  const store = await openSqliteStore(join(dir, `v${++n}.db`));
  try {
    await body(store);
  } finally {
    await store.destroy();
  }
}

const reserve = (store: Store, id: string, cpu: number, memory: number) =>
  store
    .updateTable("hosts")
    .set({ reserved_cpu: cpu, reserved_memory: memory })
    .where("id", "=", id)
    .execute();

describe("a server's picture of its hosts' room", () => {
  it("is read once per max age, again once forgotten, and a read begun before forget is not kept", () =>
    withStore(async (store) => {
      await addHost(store, "h1", 4);
      let now = 0;
      const view = new HostRoomView(1000, () => now);
      const first = await view.rooms(store);
      assert.equal(first.read, true);
      assert.equal(first.rooms[0]?.freeCpu, 4 * 256);
      await reserve(store, "h1", 256, 512);
      now = 999;
      const cached = await view.rooms(store);
      assert.equal(cached.read, false, "younger than its max age: not read");
      assert.equal(cached.rooms[0]?.freeCpu, 4 * 256);
      now = 1000;
      const aged = await view.rooms(store);
      assert.equal(aged.read, true);
      assert.equal(aged.rooms[0]?.freeCpu, 3 * 256);
      await addHost(store, "h2", 4);
      view.forget();
      assert.equal((await view.rooms(store)).rooms.length, 2, "forgotten: read again");
      // A read that began before a forget answers its caller but is not kept.
      const reading = view.read(store);
      view.forget();
      await reading;
      assert.equal((await view.rooms(store)).read, true);
    }));

  it("keeps a group's tasks per host across reads of the rooms, until they are old", () =>
    withStore(async (store) => {
      await addHost(store, "h1", 10);
      await createTasks(store, [draft()]);
      let now = 0;
      const view = new HostRoomView(1000, () => now);
      const load = await view.groupLoad(store, "c", "family:f");
      assert.deepEqual([...load], [["h1", 1]]);
      // Placed behind this view's back (another server): not seen while the loads are kept,
      // though the rooms are read again (each read dropped them: a read per group a second).
      await createTasks(store, [draft()]);
      now = 5000;
      assert.equal((await view.rooms(store)).read, true);
      assert.equal(await view.groupLoad(store, "c", "family:f"), load, "kept across the read");
      now = GROUP_LOAD_MAX_AGE_MS;
      assert.deepEqual([...(await view.groupLoad(store, "c", "family:f"))], [["h1", 2]]);
      // And forgotten with a hello, as before.
      await createTasks(store, [draft()]);
      view.forget();
      assert.deepEqual([...(await view.groupLoad(store, "c", "family:f"))], [["h1", 3]]);
    }));

  it("filters the rooms of a full block's holders once per read, not per RunTask", () => {
    const view = new HostRoomView();
    const room = (hostId: string) => ({
      hostId,
      availabilityZone: "us-east-1a",
      capacityProviders: ["FARGATE"],
      freeCpu: 256,
      freeMemory: 512,
    });
    const rooms = [room("h1"), room("h2"), room("h3")];
    const holders = new Set(["h1", "h3"]);
    const reachable = view.reachable("c", rooms, holders);
    assert.deepEqual(
      reachable.map((r) => r.hostId),
      ["h1", "h3"],
    );
    assert.equal(reachable[0], rooms[0], "the same rooms: bookings show in both");
    assert.equal(view.reachable("c", rooms, holders), reachable, "not filtered again");
    const again = [room("h1"), room("h2")];
    assert.deepEqual(
      view.reachable("c", again, holders).map((r) => r.hostId),
      ["h1"],
      "filtered again once the rooms are read again",
    );
    assert.deepEqual(
      view.reachable("c", again, new Set(["h2"])).map((r) => r.hostId),
      ["h2"],
      "and once the holders change",
    );
  });

  it("is one per store: each server keeps its own", () =>
    withStore(async (store) => {
      assert.equal(hostRoomView(store), hostRoomView(store));
      assert.notEqual(hostRoomView(store), hostRoomView({}));
    }));
});

describe("placement from the picture", () => {
  it("does not read every host for each RunTask", () =>
    withStore(async (store) => {
      for (let i = 0; i < 3; i++) await addHost(store, `h${i}`, 10);
      await createTasks(store, [draft()]);
      // A host added behind the server's back (no hello on this server) is not in the picture
      // yet, though it has the most room: the next placements choose from what was read.
      await store
        .insertInto("hosts")
        .values({
          id: "unseen",
          availability_zone: "us-east-1a",
          cpu: 256 * 100,
          memory: 512 * 100,
          status: "ACTIVE",
          capacity_providers: JSON.stringify(["FARGATE"]),
          registered_at: Date.now(),
        })
        .execute();
      const { assignments } = await createTasks(store, [draft(), draft()]);
      assert.equal(assignments.length, 2);
      assert.ok(assignments.every((a) => a.hostId !== "unseen"));
    }));

  it("never overbooks a host the picture thinks has room", () =>
    withStore(async (store) => {
      await addHost(store, "h1", 2);
      await createTasks(store, [draft()]);
      // Another server filled the host since this one read it: its claim is refused, the host
      // read again, and the task refused for want of room.
      await reserve(store, "h1", 512, 1024);
      const { tasks, failures } = await createTasks(store, [draft()]);
      assert.equal(tasks.length, 0);
      assert.equal(failures[0]?.reason, "RESOURCE:CPU");
      const host = await store
        .selectFrom("hosts")
        .select("reserved_cpu")
        .where("id", "=", "h1")
        .executeTakeFirstOrThrow();
      assert.equal(Number(host.reserved_cpu), 512);
    }));

  it("never refuses a task the picture thinks has no room for", () =>
    withStore(async (store) => {
      await addHost(store, "h1", 1);
      await createTasks(store, [draft()]);
      // The host is full in the picture; its task stopped (room given back) on another server.
      await reserve(store, "h1", 0, 0);
      const { tasks, failures } = await createTasks(store, [draft()]);
      assert.deepEqual(failures, []);
      assert.equal(tasks.length, 1);
    }));

  it("remembers a cluster's full block, and forgets it before refusing a task", () =>
    withStore(async (store) => {
      // A /24 pool is one block of one host subnet: the first host placed on takes it.
      const space = { pool: "100.90.0.0/24" };
      const cluster = draft().assignment.clusterArn;
      await addHost(store, "holder", 1, "us-east-1a");
      await createTasks(store, [draft()], undefined, space);
      await addHost(store, "other", 4, "us-east-1b");
      // "other" has more room but no subnet can be cut for it: found out once...
      const full = await createTasks(store, [draft()], undefined, space);
      assert.match(full.failures[0]?.reason ?? "", /^RESOURCE:SUBNET/);
      assert.deepEqual([...(hostRoomView(store).blockHolders(cluster) ?? [])], ["holder"]);
      // Still known once the rooms are read again (each cluster found it out again every second).
      await hostRoomView(store).read(store);
      assert.deepEqual([...(hostRoomView(store).blockHolders(cluster) ?? [])], ["holder"]);
      // ...and when the holder is lost, its subnet goes back: the remembered block is wrong now,
      // and the task still goes to the other host rather than being refused.
      await store
        .updateTable("host_liveness")
        .set({ last_seen_at: 0 })
        .where("host_id", "=", "holder")
        .execute();
      await markLostHosts(store, longWatched());
      const placed = await createTasks(store, [draft()], undefined, space);
      assert.deepEqual(placed.failures, []);
      assert.equal(placed.assignments[0]?.hostId, "other");
    }));
});
