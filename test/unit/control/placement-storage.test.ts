// Placement counts ephemeral storage as it counts CPU and memory (issue 12, item 10): a host's
// agent reports the disk it offers to task storage, the sizes of its live tasks count against
// it, and a task goes only where its size still fits — never onto a host whose disk would let
// its writes be lost. A host that reports nothing is left to its agent's own admission check.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chooseHost, hostRoom, type HostRoom } from "../../../src/control/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

const room = (hostId: string, freeMemory: number, freeStorageGiB?: number): HostRoom => ({
  hostId,
  availabilityZone: "us-east-1a",
  capacityProviders: ["FARGATE"],
  freeCpu: 4096,
  freeMemory,
  ...(freeStorageGiB === undefined ? {} : { freeStorageGiB }),
});

const hostOf = (choice: HostRoom | string): string =>
  typeof choice === "string" ? choice : choice.hostId;

describe("placement by ephemeral storage", () => {
  it("skips a host whose free task storage is smaller than the task's", () => {
    // "a" has the most free memory (it would win) but only 10 GiB of disk for tasks.
    const rooms = [room("a", 16384, 10), room("b", 4096, 100)];
    assert.equal(hostOf(chooseHost(rooms, 256, 512, undefined, "FARGATE", 20)), "b");
    assert.equal(hostOf(chooseHost(rooms, 256, 512, undefined, "FARGATE", 10)), "a");
  });

  it("says RESOURCE:EPHEMERAL_STORAGE when only the disk is short", () => {
    assert.equal(
      chooseHost([room("a", 16384, 50)], 256, 512, undefined, "FARGATE", 200),
      "RESOURCE:EPHEMERAL_STORAGE",
    );
    assert.equal(
      chooseHost([room("a", 256, 10)], 256, 512, undefined, "FARGATE", 200),
      "RESOURCE:MEMORY",
    );
  });

  it("leaves a host that reports no storage to its agent", () => {
    assert.equal(hostOf(chooseHost([room("a", 4096)], 256, 512, undefined, "FARGATE", 200)), "a");
  });
});

describe("a host's free task storage, from the store", () => {
  let dir: string;
  let store: Store;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-placement-storage-"));
    store = await openSqliteStore(join(dir, "berth.db"));
  });
  after(async () => {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is what the agent offers less the sizes of the host's tasks that have not stopped", async () => {
    // "silent" has less free memory: only storage can send a task there rather than "reports".
    for (const [id, memory, storage] of [
      ["reports", 8192, 50],
      ["silent", 2048, null],
    ] as const)
      await store
        .insertInto("hosts")
        .values({
          id,
          availability_zone: "us-east-1a",
          cpu: 4096,
          memory,
          status: "ACTIVE",
          capacity_providers: JSON.stringify(["FARGATE"]),
          registered_at: 0,
          task_storage_gib: storage,
        })
        .execute();
    const tasks: Array<[string, string, number | undefined]> = [
      ["t1", "RUNNING", 25],
      ["t2", "PENDING", undefined], // placed before sizes were kept: Fargate's default 20
      ["t3", "STOPPED", 40],
    ];
    for (const [id, status, gib] of tasks)
      await store
        .insertInto("tasks")
        .values({
          arn: `arn:aws:ecs:us-east-1:000000000000:task/default/${id}`,
          id,
          cluster_name: "default",
          family: "web",
          task_definition_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
          last_status: status,
          desired_status: "RUNNING",
          host_id: "reports",
          cpu: 256,
          memory: 512,
          ...(gib === undefined ? {} : { ephemeral_storage_gib: gib }),
          started_by: null,
          group_name: "family:web",
          created_at: 0,
          stopped_at: null,
          version: 1,
          document: "{}",
          assignment: "{}",
        })
        .execute();
    // Placement books each task's size on its host as it places it (and gives it back at STOPPED:
    // placement-contract.ts races that); these rows were written directly, so their booking is
    // the one migration 0024 makes for tasks placed before it.
    await store
      .updateTable("hosts")
      .set({ reserved_cpu: 512, reserved_memory: 1024, reserved_storage_gib: 25 + 20 })
      .where("id", "=", "reports")
      .execute();
    const rooms = await hostRoom(store);
    const reports = rooms.find((r) => r.hostId === "reports");
    const silent = rooms.find((r) => r.hostId === "silent");
    assert.equal(reports?.freeStorageGiB, 50 - 25 - 20);
    assert.equal(silent?.freeStorageGiB, undefined);
    assert.ok(silent !== undefined);
    // A 5 GiB task still fits on "reports"; a 20 GiB one (5 GiB left) goes to the silent host.
    assert.equal(hostOf(chooseHost(rooms, 256, 512, undefined, "FARGATE", 5)), "reports");
    assert.equal(hostOf(chooseHost(rooms, 256, 512, undefined, "FARGATE", 20)), "silent");
  });
});
