// The console's task list query on a real (in-memory SQLite) store: filters, counts and pages
// are the store's, the page size is bounded, and a search is text, never a LIKE pattern.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseTaskFilter, taskPage } from "../../../src/console/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

let store: Store;
const id = (n: number): string => n.toString(16).padStart(32, "0");

before(async () => {
  store = await openSqliteStore(":memory:");
  await store
    .insertInto("tasks")
    .values(
      Array.from({ length: 120 }, (_, n) => ({
        arn: `arn:aws:ecs:us-east-1:000000000000:task/${n < 100 ? "a" : "b"}/${id(n)}`,
        id: id(n),
        cluster_name: n < 100 ? "a" : "b",
        family: n === 7 ? "we_b" : "web",
        task_definition_arn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
        last_status: n % 2 === 0 ? "RUNNING" : "STOPPED",
        desired_status: n % 2 === 0 ? "RUNNING" : "STOPPED",
        host_id: null,
        cpu: 256,
        memory: 512,
        started_by: null,
        group_name: "family:web",
        created_at: 1_000 + n,
        stopped_at: null,
        version: 1,
        document: "{}",
        assignment: "{}",
      })),
    )
    .execute();
});
after(async () => store.destroy());

describe("console task list", () => {
  it("counts one cluster's tasks and pages them newest first", async () => {
    const page = await taskPage(
      store,
      parseTaskFilter(new URLSearchParams("cluster=a&offset=10&limit=5")),
    );
    assert.equal(page.total, 100);
    assert.deepEqual(
      page.tasks.map((t) => t.id),
      [89, 88, 87, 86, 85].map(id),
    );
  });

  it("filters by status and by search in the store", async () => {
    const stopped = await taskPage(
      store,
      parseTaskFilter(new URLSearchParams("cluster=a&lastStatus=STOPPED")),
    );
    assert.equal(stopped.total, 50);
    assert.ok(stopped.tasks.length > 0);
    assert.ok(stopped.tasks.every((t) => t.lastStatus === "STOPPED"));
    const byId = await taskPage(
      store,
      parseTaskFilter(new URLSearchParams(`cluster=a&search=${id(42)}`)),
    );
    assert.deepEqual(
      byId.tasks.map((t) => t.id),
      [id(42)],
    );
  });

  it("takes a search as text: % and _ match only themselves", async () => {
    const percent = await taskPage(
      store,
      parseTaskFilter(new URLSearchParams("cluster=a&search=%25")),
    );
    assert.equal(percent.total, 0);
    const underscore = await taskPage(
      store,
      parseTaskFilter(new URLSearchParams("cluster=a&search=e_b")),
    );
    assert.deepEqual(
      underscore.tasks.map((t) => t.id),
      [id(7)],
    );
  });

  it("bounds the page size and reads nonsense as the defaults", () => {
    assert.equal(parseTaskFilter(new URLSearchParams("limit=100000")).limit, 500);
    assert.equal(parseTaskFilter(new URLSearchParams("limit=0")).limit, 1);
    assert.deepEqual(parseTaskFilter(new URLSearchParams("offset=-5&limit=x")), {
      cluster: "default",
      offset: 0,
      limit: 100,
    });
  });
});
