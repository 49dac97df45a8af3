/**
 * Placement on a store engine, with the races several servers make: RunTasks placed at once
 * (each transaction choosing from what it read) never book more than a host has, a stop gives
 * its room back exactly once however often it is reported, and a lost host's room comes back.
 * Run on SQLite by placement-store.test.ts and on a real PostgreSQL (with one connection pool
 * per "server") by test/e2e/store-postgres.test.ts.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { applyTaskState, createTasks, type TaskDraft } from "../../../src/control/tasks.js";
import { markLostHosts, type LivenessPass } from "../../../src/control/hosts.js";
import { hostRoomView } from "../../../src/control/host-room-view.js";
import type { Transaction } from "kysely";
import { defaultAddressSpace } from "../../../src/control/task-subnets.js";
import { hostSubnetFor } from "./host-subnet.js";
import {
  readCommittedTransaction,
  tryClaimFirstKey,
  type Database,
  type Store,
} from "../../../src/store/index.js";
import { containerAssignment, taskAssignment } from "../protocol/assignments.js";

const TASK = { cpu: 256, memory: 512 };

/** The /18 block a /24 host subnet of the default task CIDR lies in. */
const blockOf = (subnet: string): string => {
  const [a, b, c] = subnet.split(".").map(Number);
  return `${a}.${b}.${Math.floor((c ?? 0) / 64) * 64}`;
};

export async function addHost(
  store: Store,
  id: string,
  tasks: number,
  az = "us-east-1a",
): Promise<void> {
  await store
    .insertInto("hosts")
    .values({
      id,
      availability_zone: az,
      cpu: TASK.cpu * tasks,
      memory: TASK.memory * tasks,
      status: "ACTIVE",
      capacity_providers: JSON.stringify(["FARGATE"]),
      registered_at: Date.now(),
    })
    .execute();
  await store
    .insertInto("host_liveness")
    .values({ host_id: id, last_seen_at: Date.now(), last_seq: -1 })
    .execute();
  // As the agent's hello does on the server it reaches.
  hostRoomView(store).forget();
}

/** A liveness pass of a 1 s timeout by a leader that has watched for ever. */
export function longWatched(): LivenessPass {
  return { now: new Date(), timeoutMs: 1000, connected: new Set(), watchingSince: new Date(0) };
}

export function draft(cluster = "c"): TaskDraft {
  const id = randomUUID().replaceAll("-", "");
  const arn = `arn:aws:ecs:us-east-1:000000000000:task/${cluster}/${id}`;
  return {
    row: {
      arn,
      id,
      cluster_name: cluster,
      family: "f",
      task_definition_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/f:1",
      last_status: "PROVISIONING",
      desired_status: "RUNNING",
      cpu: TASK.cpu,
      memory: TASK.memory,
      started_by: null,
      group_name: "family:f",
      created_at: Date.now(),
      stopped_at: null,
    },
    task: { taskArn: arn, lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containers: [] },
    assignment: taskAssignment({
      taskArn: arn,
      taskId: id,
      clusterArn: `arn:aws:ecs:us-east-1:000000000000:cluster/${cluster}`,
      family: "f",
      cpu: TASK.cpu,
      memory: TASK.memory,
      containers: [containerAssignment({ image: "busybox" })],
    }),
  };
}

async function booked(store: Store): Promise<Map<string, { reserved: number; live: number }>> {
  const hosts = await store.selectFrom("hosts").select(["id", "reserved_cpu"]).execute();
  const live = await store
    .selectFrom("tasks")
    .select(["host_id"])
    .select((eb) => eb.fn.sum<number>("cpu").as("cpu"))
    .where("last_status", "!=", "STOPPED")
    .groupBy("host_id")
    .execute();
  return new Map(
    hosts.map((h) => [
      h.id,
      {
        reserved: Number(h.reserved_cpu),
        live: Number(live.find((row) => row.host_id === h.id)?.cpu ?? 0),
      },
    ]),
  );
}

const stopped = (taskArn: string) => ({
  taskArn,
  lastStatus: "STOPPED" as const,
  containers: [],
  stoppedAt: Date.now(),
});

/**
 * `open` gives a store for a fresh database; `openAgain` (where the engine allows several
 * processes) another connection pool to the same database, standing for another server.
 */
export function placementContract(
  engine: string,
  open: () => Promise<{ store: Store; openAgain?: () => Promise<Store> }>,
): void {
  const withStores = (name: string, body: (stores: Store[], first: Store) => Promise<void>): void =>
    void test(`${engine}: placement: ${name}`, async () => {
      const { store, openAgain } = await open();
      const stores = [store];
      try {
        if (openAgain !== undefined) stores.push(await openAgain(), await openAgain());
        await body(stores, store);
      } finally {
        for (const s of stores.reverse()) await s.destroy();
      }
    });

  withStores("tasks placed at once never book more than a host has", async (stores, store) => {
    await addHost(store, "h1", 7);
    await addHost(store, "h2", 5, "us-east-1b");
    // 40 RunTasks of one task each, spread over the servers, all at once: 12 fit.
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        createTasks(stores[i % stores.length] as Store, [draft()]),
      ),
    );
    const placed = results.flatMap((r) => r.tasks);
    const failures = results.flatMap((r) => r.failures);
    assert.equal(placed.length, 12, "exactly the room there was");
    assert.equal(failures.length, 28);
    assert.ok(failures.every((f) => f.reason === "RESOURCE:CPU" || f.reason === "RESOURCE:MEMORY"));
    const perHost = await booked(store);
    assert.deepEqual(perHost.get("h1"), { reserved: 7 * TASK.cpu, live: 7 * TASK.cpu });
    assert.deepEqual(perHost.get("h2"), { reserved: 5 * TASK.cpu, live: 5 * TASK.cpu });
  });

  withStores("several tasks per RunTask, from every server at once", async (stores, store) => {
    for (let i = 0; i < 4; i++) await addHost(store, `h${i}`, 6, `us-east-1${"abc"[i % 3]}`);
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        createTasks(
          stores[i % stores.length] as Store,
          Array.from({ length: 4 }, () => draft()),
        ),
      ),
    );
    assert.equal(results.flatMap((r) => r.tasks).length, 24);
    for (const [host, { reserved, live }] of await booked(store)) {
      assert.equal(reserved, live, `${host}'s booking is its tasks'`);
      assert.ok(reserved <= 6 * TASK.cpu, `${host} is over its capacity: ${reserved}`);
    }
  });

  withStores(
    "a crowd of RunTasks from every server fills every host exactly, never over",
    async (stores, store) => {
      // Uneven hosts (1 to 8 tasks each, 54 in all) and 90 RunTasks of 1 to 4 tasks (225 asked
      // for) sent at once over the servers: placements pass over rows others hold, wait when
      // nothing else fits, and race for the same subnets of three clusters.
      const room = new Map<string, number>();
      for (let i = 0; i < 12; i++) {
        room.set(`h${i}`, 1 + ((i * 5) % 8));
        await addHost(store, `h${i}`, room.get(`h${i}`) ?? 0, `us-east-1${"abc"[i % 3]}`);
      }
      const capacity = [...room.values()].reduce((a, b) => a + b, 0);
      const results = await Promise.all(
        Array.from({ length: 90 }, (_, i) =>
          createTasks(
            stores[i % stores.length] as Store,
            Array.from({ length: 1 + (i % 4) }, () => draft(`c${i % 3}`)),
          ),
        ),
      );
      assert.equal(results.flatMap((r) => r.tasks).length, capacity, "every room taken, no more");
      const perHost = await booked(store);
      assert.equal(perHost.size, room.size);
      for (const [host, { reserved, live }] of perHost) {
        assert.equal(reserved, live, `${host}'s booking is its tasks'`);
        assert.equal(reserved, (room.get(host) ?? 0) * TASK.cpu, `${host} is full, not over`);
      }
      // Each placed task was given the subnet its host holds in its cluster, and no two hosts
      // hold the same one.
      const subnets = await store.selectFrom("host_subnets").selectAll().execute();
      const held = new Map(subnets.map((s) => [`${s.cluster_arn} ${s.host_id}`, s.subnet]));
      assert.equal(new Set(held.values()).size, subnets.length);
      for (const { hostId, assignment } of results.flatMap((r) => r.assignments))
        assert.equal(assignment.subnet, held.get(`${assignment.clusterArn} ${hostId}`));
    },
  );

  withStores(
    "servers cutting a cluster's block and subnets at once do not wait for one another",
    async (stores) => {
      // SQLite runs one transaction at a time: nothing to race.
      if (stores.length < 2) return;
      const [one, two] = stores as [Store, Store];
      const cluster = (name: string) => `arn:aws:ecs:us-east-1:000000000000:cluster/${name}`;
      const cut = (clusterName: string, hostId: string) => (trx: Transaction<Database>) =>
        hostSubnetFor(trx, defaultAddressSpace, cluster(clusterName), hostId, Date.now());
      // One server cuts a subnet (and its cluster's block) and has not committed yet; another
      // cuts one at the same moment. Both read the same committed picture, so both would take
      // the same first free one: the second must pass over the one being cut, not wait on it.
      const whileOpen = async (
        first: (trx: Transaction<Database>) => Promise<string>,
        second: (trx: Transaction<Database>) => Promise<string>,
      ): Promise<[string, string]> => {
        let release = (): void => undefined;
        const held = new Promise<void>((r) => (release = r));
        let cutFirst = (_subnet: string): void => undefined;
        const firstCut = new Promise<string>((r) => (cutFirst = r));
        const opened = readCommittedTransaction(one).execute(async (trx) => {
          cutFirst(await first(trx));
          await held;
        });
        try {
          const a = await firstCut;
          const b = await Promise.race([
            readCommittedTransaction(two).execute(second),
            new Promise<string>((_, reject) =>
              setTimeout(() => reject(new Error("waited for the other transaction")), 5_000),
            ),
          ]);
          return [a, b];
        } finally {
          release();
          await opened;
        }
      };
      const [first, other] = await whileOpen(cut("c1", "h1"), cut("c2", "h1"));
      assert.notEqual(blockOf(first), blockOf(other), "each cluster its own block");
      const [a, b] = await whileOpen(cut("c1", "h2"), cut("c1", "h3"));
      assert.equal(blockOf(a), blockOf(first));
      assert.equal(blockOf(b), blockOf(first));
      assert.equal(new Set([first, a, b]).size, 3, "no two hosts one subnet");
    },
  );

  withStores(
    "the first free key is claimed in one statement, and only that one",
    async (stores) => {
      const [one, two, three] = stores as [Store, Store | undefined, Store | undefined];
      if (two === undefined || three === undefined) {
        // SQLite runs one transaction at a time: the first is always free.
        assert.equal(await tryClaimFirstKey(one, 7, [3, 4, 5]), 0);
        assert.equal(await tryClaimFirstKey(one, 7, []), -1);
        return;
      }
      let release = (): void => undefined;
      const held = new Promise<void>((r) => (release = r));
      let claimed = (): void => undefined;
      const firstClaimed = new Promise<void>((r) => (claimed = r));
      // One transaction holds keys 3 and 4; another asks for the first free of 3, 4, 5, 6.
      const opened = readCommittedTransaction(one).execute(async (trx) => {
        assert.equal(await tryClaimFirstKey(trx, 7, [3]), 0);
        assert.equal(await tryClaimFirstKey(trx, 7, [4]), 0);
        claimed();
        await held;
      });
      try {
        await firstClaimed;
        await readCommittedTransaction(two).execute(async (trx) => {
          assert.equal(await tryClaimFirstKey(trx, 7, [3, 4, 5, 6]), 2, "5, past the held ones");
          // Only 5 was claimed: a third transaction gets 6, and none of 3, 4, 5.
          await readCommittedTransaction(three).execute(async (other) => {
            assert.equal(await tryClaimFirstKey(other, 7, [3, 4, 5]), -1);
            assert.equal(await tryClaimFirstKey(other, 7, [6]), 0);
          });
        });
      } finally {
        release();
        await opened;
      }
    },
  );

  withStores(
    "a clientToken's answer is stored with its tasks, or neither is (the same token twice at once)",
    async (stores, store) => {
      await addHost(store, "h1", 4);
      const answer = (response: string) => () => ({
        scope: "RunTask:c",
        token: "t1",
        request_hash: "h",
        response,
        created_at: Date.now(),
      });
      // Two servers with the same token at once: one stores its tasks and its answer, the other
      // fails on the answer's key, and its tasks are not stored either.
      const results = await Promise.allSettled(
        stores
          .slice(0, 2)
          .map((s, i) =>
            createTasks(s, [draft(), draft()], undefined, undefined, answer(`first${i}`)),
          ),
      );
      const kept = await store.selectFrom("idempotency").selectAll().execute();
      assert.equal(kept.length, 1);
      const tasks = await store.selectFrom("tasks").select("arn").execute();
      if (stores.length > 1) {
        assert.deepEqual(
          results.map((r) => r.status),
          kept[0]?.response === "first0" ? ["fulfilled", "rejected"] : ["rejected", "fulfilled"],
        );
        assert.equal(tasks.length, 2, "the loser's tasks are not stored");
        assert.deepEqual((await booked(store)).get("h1"), {
          reserved: 2 * TASK.cpu,
          live: 2 * TASK.cpu,
        });
      } else assert.equal(tasks.length, 2);
      // Room for two more: the answer goes in with their rows; then none, and it goes alone.
      for (const [token, count, placed] of [
        ["t2", 3, 2],
        ["t3", 1, 0],
      ] as const) {
        // Statements that insert: on PostgreSQL the answer rides in the rows' (a round trip).
        let inserts = 0;
        const counted = store.withPlugin({
          transformQuery: (args) => {
            if (args.node.kind === "InsertQueryNode") inserts++;
            return args.node;
          },
          transformResult: (args) => Promise.resolve(args.result),
        });
        const result = await createTasks(
          counted,
          Array.from({ length: count }, () => draft()),
          undefined,
          undefined,
          () => ({ scope: "RunTask:c", token, request_hash: "h", response: "", created_at: 0 }),
        );
        assert.equal(result.tasks.length, placed);
        assert.equal(inserts, placed > 0 && engine === "postgres" ? 1 : placed > 0 ? 2 : 1);
        const stored = await store
          .selectFrom("idempotency")
          .select("token")
          .where("token", "=", token)
          .execute();
        assert.equal(stored.length, 1);
      }
    },
  );

  withStores("a stop reported twice at once gives its room back once", async (stores, store) => {
    await addHost(store, "h1", 2);
    const { tasks } = await createTasks(store, [draft(), draft()]);
    const [a] = tasks;
    assert.ok(a?.taskArn !== undefined);
    await Promise.all(stores.map((s) => applyTaskState(s, "h1", stopped(a.taskArn ?? ""))));
    await applyTaskState(store, "h1", stopped(a.taskArn ?? ""));
    assert.deepEqual((await booked(store)).get("h1"), { reserved: TASK.cpu, live: TASK.cpu });
    // The room given back is taken again; the host is then full.
    const again = await createTasks(store, [draft(), draft()]);
    assert.equal(again.tasks.length, 1);
    assert.deepEqual((await booked(store)).get("h1"), {
      reserved: 2 * TASK.cpu,
      live: 2 * TASK.cpu,
    });
  });

  withStores(
    "a task goes where its cluster's block has a subnet when another host has none",
    async (_s, store) => {
      // A /24 pool is one block of one host subnet: the first host placed on takes it.
      const space = { pool: "100.90.0.0/24" };
      await addHost(store, "roomy", 8, "us-east-1a");
      await createTasks(store, [draft()], undefined, space);
      await addHost(store, "emptier", 16, "us-east-1b");
      // "emptier" has the most free memory but no subnet can be cut for it: the task goes to
      // "roomy", which has one, instead of failing.
      const second = await createTasks(store, [draft()], undefined, space);
      assert.deepEqual(second.failures, []);
      assert.equal(second.assignments[0]?.hostId, "roomy");
      assert.deepEqual((await booked(store)).get("emptier"), { reserved: 0, live: 0 });
      // With "roomy" full, the failure names the subnets, and no room stays booked.
      await createTasks(
        store,
        Array.from({ length: 6 }, () => draft()),
        undefined,
        space,
      );
      const full = await createTasks(store, [draft()], undefined, space);
      assert.match(full.failures[0]?.reason ?? "", /^RESOURCE:SUBNET/);
      assert.deepEqual((await booked(store)).get("emptier"), { reserved: 0, live: 0 });
    },
  );

  withStores(
    "room claimed on several hosts the block has no subnet for is all given back",
    async (_s, store) => {
      const space = { pool: "100.90.0.0/24" };
      await addHost(store, "roomy", 8, "us-east-1a");
      await createTasks(store, [draft()], undefined, space);
      // Three emptier hosts in three zones: a RunTask of three chooses them (the picture does
      // not know the block is full once hosts joined), finds no subnet for any and gives all
      // three hosts' room back at once, then goes to "roomy".
      for (const [i, az] of ["us-east-1b", "us-east-1c", "us-east-1d"].entries())
        await addHost(store, `emptier${i}`, 16, az);
      const placed = await createTasks(store, [draft(), draft(), draft()], undefined, space);
      assert.deepEqual(placed.failures, []);
      assert.deepEqual(
        placed.assignments.map((a) => a.hostId),
        ["roomy", "roomy", "roomy"],
      );
      for (const [host, room] of await booked(store))
        assert.deepEqual(
          room,
          host === "roomy"
            ? { reserved: 4 * TASK.cpu, live: 4 * TASK.cpu }
            : { reserved: 0, live: 0 },
        );
    },
  );

  withStores("a lost host's tasks give their room back", async (_stores, store) => {
    await addHost(store, "h1", 3);
    await createTasks(store, [draft(), draft(), draft()]);
    await store
      .updateTable("host_liveness")
      .set({ last_seen_at: 0 })
      .where("host_id", "=", "h1")
      .execute();
    const lost = await markLostHosts(store, longWatched());
    assert.equal(lost[0]?.taskArns.length, 3);
    assert.deepEqual((await booked(store)).get("h1"), { reserved: 0, live: 0 });
    // Back (the agent says hello): the whole host is free again.
    await store.updateTable("hosts").set({ status: "ACTIVE" }).where("id", "=", "h1").execute();
    assert.equal((await createTasks(store, [draft(), draft(), draft(), draft()])).tasks.length, 3);
  });
}
