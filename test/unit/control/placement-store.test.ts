/** Placement's races on SQLite (the embedded store); PostgreSQL runs the same contract in e2e. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createTasks } from "../../../src/control/tasks.js";
import { openSqliteStore } from "../../../src/store/index.js";
import { addHost, draft, placementContract } from "./placement-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-placement-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
// One process per SQLite file (the data dir's lock): no second server to race with.
placementContract("sqlite", async () => ({
  store: await openSqliteStore(join(dir, `p${++n}.db`)),
}));

void test("sqlite: placement: a RunTask of ten tasks on ten hosts is a handful of statements", async () => {
  const store = await openSqliteStore(join(dir, `p${++n}.db`));
  try {
    for (let i = 0; i < 10; i++) await addHost(store, `h${i}`, 4);
    let statements = 0;
    const counted = store.withPlugin({
      transformQuery: (args) => {
        statements++;
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    });
    // The first RunTask cuts each host its subnet (and the cluster its block), once for all of
    // them (a block, the taken subnets and an insert per host was 37 statements); the second
    // finds them held.
    const first = await createTasks(
      counted,
      Array.from({ length: 10 }, () => draft()),
    );
    assert.equal(new Set(first.assignments.map((a) => a.assignment.subnet)).size, 10);
    assert.ok(statements <= 12, `${statements} statements for the first`);
    statements = 0;
    const second = await createTasks(
      counted,
      Array.from({ length: 10 }, () => draft()),
    );
    assert.equal(second.tasks.length, 10);
    assert.equal(new Set(second.assignments.map((a) => a.hostId)).size, 10, "spread over hosts");
    // One claim for every host, which reads their subnets too, and the rows (a claim and a
    // subnet per task was 22, the subnets apart 3); the group's load is the picture's, with the
    // first RunTask's tasks booked in it (it was read for every RunTask).
    assert.ok(statements <= 2, `${statements} statements`);
    assert.equal(
      new Set(second.assignments.map((a) => a.assignment.subnet)).size,
      10,
      "each host's own subnet",
    );
    assert.deepEqual(
      new Set(second.assignments.map((a) => `${a.hostId} ${a.assignment.subnet}`)),
      new Set(first.assignments.map((a) => `${a.hostId} ${a.assignment.subnet}`)),
    );
    // New hosts in a cluster whose block is cut: the block and every subnet of it are one read
    // (the hosts' subnets, the block and those taken were three: 8 statements), then the
    // inserts; and the picture of the hosts read again.
    for (let i = 10; i < 20; i++) await addHost(store, `h${i}`, 4);
    // The server's picture of its hosts is read again once a second old.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    statements = 0;
    const third = await createTasks(
      counted,
      Array.from({ length: 10 }, () => draft()),
    );
    assert.equal(new Set(third.assignments.map((a) => a.hostId)).size, 10);
    assert.ok(
      third.assignments.every((a) => Number(a.hostId.slice(1)) >= 10),
      "the empty hosts are chosen",
    );
    assert.equal(
      new Set([...first.assignments, ...third.assignments].map((a) => a.assignment.subnet)).size,
      20,
    );
    assert.ok(statements <= 6, `${statements} statements for new hosts of the cluster`);
  } finally {
    await store.destroy();
  }
});
