// Agents' reports applied in batches (report-batch.ts): many hosts' reports in one transaction,
// each applied only if its sequence number is new and stored with it, in order, and a report
// that cannot be applied failing alone.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { applyReports, ReportBatcher, type HostReport } from "../../../src/control/report-batch.js";
import type { Task } from "@aws-sdk/client-ecs";
import {
  applyTaskState,
  applyTaskStates,
  createTasks,
  readTask,
} from "../../../src/control/tasks.js";
import { systemClock } from "../../../src/core/index.js";
import type { TaskState } from "../../../src/protocol/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";
import { addHost, draft } from "./placement-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-report-batch-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A store with `hosts` hosts of one task each, placed: each host's task ARN. */
async function withTasks(
  hosts: number,
  body: (store: Store, arns: Map<string, string>) => Promise<void>,
): Promise<void> {
  const store = await openSqliteStore(join(dir, `r${++n}.db`));
  try {
    for (let i = 0; i < hosts; i++) await addHost(store, `h${i}`, 1);
    const { assignments } = await createTasks(
      store,
      Array.from({ length: hosts }, () => draft()),
    );
    await body(store, new Map(assignments.map((a) => [a.hostId, a.assignment.taskArn])));
  } finally {
    await store.destroy();
  }
}

const state = (taskArn: string, lastStatus: TaskState["lastStatus"]): TaskState => ({
  taskArn,
  lastStatus,
  containers: [],
  ...(lastStatus === "STOPPED" ? { stoppedAt: Date.now() } : {}),
});

async function stored(
  store: Store,
): Promise<{ status: Record<string, string>; seq: Record<string, number> }> {
  const tasks = await store.selectFrom("tasks").select(["host_id", "last_status"]).execute();
  const seqs = await store.selectFrom("host_liveness").select(["host_id", "last_seq"]).execute();
  return {
    status: Object.fromEntries(
      tasks.map((t): [string, string] => [t.host_id ?? "", t.last_status]),
    ),
    seq: Object.fromEntries(seqs.map((s) => [s.host_id, Number(s.last_seq)])),
  };
}

describe("reports applied in one transaction", () => {
  it("applies each new report and stores each host's sequence number with it", () =>
    withTasks(3, async (store, arns) => {
      const report = (hostId: string, seq: number, status: TaskState["lastStatus"]) => ({
        hostId,
        seq,
        state: state(arns.get(hostId) ?? "", status),
      });
      const first = await store
        .transaction()
        .execute((trx) =>
          applyReports(
            trx,
            [report("h0", 0, "RUNNING"), report("h1", 0, "RUNNING"), report("h2", 4, "PENDING")],
            Date.now(),
          ),
        );
      assert.deepEqual(first, [true, true, true]);
      assert.deepEqual(await stored(store), {
        status: { h0: "RUNNING", h1: "RUNNING", h2: "PENDING" },
        seq: { h0: 0, h1: 0, h2: 4 },
      });
      // A resent report (seq already applied) changes nothing, though it says STOPPED; a host's
      // two reports in one batch apply in order.
      const second = await store
        .transaction()
        .execute((trx) =>
          applyReports(
            trx,
            [
              report("h0", 0, "STOPPED"),
              report("h2", 5, "RUNNING"),
              report("h2", 6, "STOPPED"),
              report("h2", 5, "RUNNING"),
            ],
            Date.now(),
          ),
        );
      assert.deepEqual(second, [false, true, true, false]);
      assert.deepEqual(await stored(store), {
        status: { h0: "RUNNING", h1: "RUNNING", h2: "STOPPED" },
        seq: { h0: 0, h1: 0, h2: 6 },
      });
      // The stop gave its room back, once.
      const h2 = await store
        .selectFrom("hosts")
        .select("reserved_cpu")
        .where("id", "=", "h2")
        .executeTakeFirstOrThrow();
      assert.equal(Number(h2.reserved_cpu), 0);
    }));
});

describe("a batch's task writes", () => {
  it("reads a batch's hosts and tasks in one statement each, and writes each task once", () =>
    withTasks(20, async (store, arns) => {
      let statements = 0;
      const counted = store.withPlugin({
        transformQuery: (args) => {
          statements++;
          return args.node;
        },
        transformResult: (args) => Promise.resolve(args.result),
      });
      const reports = [...arns].map(([hostId, arn]) => ({
        hostId,
        seq: 1,
        state: state(arn, "RUNNING"),
      }));
      const changed = await counted
        .transaction()
        .execute((trx) => applyReports(trx, reports, Date.now()));
      assert.deepEqual(
        changed,
        reports.map(() => true),
      );
      // The hosts' sequence numbers and the tasks read, the numbers stored (a transaction per
      // report was 23 statements). The tasks are written apart from these: on PostgreSQL in one
      // statement, on SQLite by one prepared UPDATE each, which Kysely's plugins do not see.
      assert.ok(statements <= 3, `${statements} statements for 20 reports`);
      assert.deepEqual(new Set(Object.values((await stored(store)).status)), new Set(["RUNNING"]));
      const versions = await store.selectFrom("tasks").select("version").execute();
      assert.deepEqual(new Set(versions.map((v) => v.version)), new Set([2]));
    }));

  it("merges a task changed since it was read again on what is stored, and stops it once", () =>
    withTasks(2, async (store, arns) => {
      const arn = arns.get("h0") ?? "";
      const read = await store.selectFrom("tasks").selectAll().where("arn", "=", arn).execute();
      // Changed after the batch read it (another server's report, say).
      assert.equal(await applyTaskState(store, "h0", state(arn, "RUNNING")), true);
      const changed = await store.transaction().execute((trx) =>
        applyTaskStates(
          trx,
          [
            { hostId: "h0", state: state(arn, "RUNNING") },
            { hostId: "h0", state: state(arn, "STOPPED") },
          ],
          new Map(read.map((row) => [row.arn, row])),
        ),
      );
      // The RUNNING snapshot was already stored: only the stop changed it.
      assert.deepEqual(changed, [false, true]);
      const row = await store
        .selectFrom("tasks")
        .selectAll()
        .where("arn", "=", arn)
        .executeTakeFirstOrThrow();
      assert.equal(row.last_status, "STOPPED");
      assert.equal(row.version, 3);
      const h0 = await store
        .selectFrom("hosts")
        .select("reserved_cpu")
        .where("id", "=", "h0")
        .executeTakeFirstOrThrow();
      assert.equal(Number(h0.reserved_cpu), 0, "its room given back once");
    }));
});

describe("a snapshot merged into its task", () => {
  it("stores its times as DescribeTasks reads them, and only a change of the same status", () =>
    withTasks(1, async (store, arns) => {
      const arn = arns.get("h0") ?? "";
      const startedAt = Date.now();
      const running = { ...state(arn, "RUNNING"), startedAt };
      assert.equal(await applyTaskState(store, "h0", running), true);
      const read = async (): Promise<Task> =>
        readTask(
          await store
            .selectFrom("tasks")
            .selectAll()
            .where("arn", "=", arn)
            .executeTakeFirstOrThrow(),
        );
      const task = await read();
      assert.equal(task.version, 2);
      assert.deepEqual(task.startedAt, new Date(startedAt));
      assert.deepEqual(task.connectivityAt, new Date(startedAt));
      // The same snapshot again changes nothing; the same status with news changes the task.
      assert.equal(await applyTaskState(store, "h0", running), false);
      assert.equal(
        await applyTaskState(store, "h0", { ...running, healthStatus: "HEALTHY" }),
        true,
      );
      const healthy = await read();
      assert.equal(healthy.healthStatus, "HEALTHY");
      assert.equal(healthy.version, 3);
      assert.deepEqual(healthy.startedAt, new Date(startedAt));
    }));
});

describe("the report batcher", () => {
  it("applies reports that arrive together in as few transactions, and fails a bad one alone", () =>
    withTasks(20, async (store, arns) => {
      let transactions = 0;
      const transaction = store.transaction.bind(store);
      store.transaction = () => {
        transactions++;
        return transaction();
      };
      const batcher = new ReportBatcher(store, systemClock);
      const reports: HostReport[] = [...arns].map(([hostId, arn]) => ({
        hostId,
        seq: 1,
        state: state(arn, "RUNNING"),
      }));
      const results = await Promise.all(reports.map((r) => batcher.apply(r)));
      assert.deepEqual(
        results,
        reports.map(() => true),
      );
      assert.equal(transactions, 1, "20 hosts' reports, one transaction");
      assert.deepEqual(
        Object.values((await stored(store)).seq),
        reports.map(() => 1),
      );
      // A host never heard from (no liveness row) among others: its report fails (not acked,
      // so sent again), the others apply.
      const mixed = [
        { hostId: "h0", seq: 2, state: state(arns.get("h0") ?? "", "STOPPED") },
        { hostId: "nobody", seq: 1, state: state("arn:unknown", "RUNNING") },
        { hostId: "h1", seq: 2, state: state(arns.get("h1") ?? "", "STOPPED") },
      ];
      const settled = await Promise.allSettled(mixed.map((r) => batcher.apply(r)));
      assert.deepEqual(
        settled.map((s) => s.status),
        ["fulfilled", "rejected", "fulfilled"],
      );
      const after = await stored(store);
      assert.equal(after.status.h0, "STOPPED");
      assert.equal(after.seq.h0, 2);
      assert.equal(after.status.h1, "STOPPED");
    }));

  it("starts a batch beside one being written only once enough reports wait to fill it", () =>
    withTasks(64, async (store, arns) => {
      // Several batches at once, as on PostgreSQL; the first transaction held open until let go.
      let transactions = 0;
      let letGo = (): void => undefined;
      const held = new Promise<void>((resolve) => (letGo = resolve));
      const transaction = store.transaction.bind(store);
      store.transaction = (() => {
        const builder = transaction();
        const first = ++transactions === 1;
        return {
          execute: async (run: Parameters<typeof builder.execute>[0]) => {
            if (first) await held;
            return builder.execute(run);
          },
        };
      }) as unknown as typeof store.transaction;
      const batcher = new ReportBatcher(store, systemClock, 4);
      const report = (hostId: string): Promise<boolean> =>
        batcher.apply({ hostId, seq: 1, state: state(arns.get(hostId) ?? "", "RUNNING") });
      const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
      const results = [report("h0")];
      await turn();
      // Reports one by one while the first batch is written: they wait for it, not a batch each
      // beside it (each a transaction of six round trips on PostgreSQL).
      for (let i = 1; i < 10; i++) {
        results.push(report(`h${i}`));
        await turn();
      }
      assert.equal(transactions, 1, "nine reports waiting: no batch beside the first");
      // Enough to fill one: written beside it.
      for (let i = 10; i < 64; i++) results.push(report(`h${i}`));
      await turn();
      await turn();
      assert.equal(transactions, 2, "sixty-three waiting: one batch beside the first");
      letGo();
      assert.deepEqual(
        await Promise.all(results),
        results.map(() => true),
      );
      assert.ok(transactions <= 3, "at most three transactions for 64 reports");
      assert.deepEqual(
        Object.values((await stored(store)).status),
        results.map(() => "RUNNING"),
      );
    }));
});
