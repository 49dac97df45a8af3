/**
 * The store contract against a real PostgreSQL (Debian's, a throw-away cluster this test
 * starts), then a whole Berth on it: `berth up --store postgres://...` runs a task, keeps its
 * state across a kill -9, and loses nothing when PostgreSQL itself restarts.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import { sql } from "kysely";
import { openPostgresStore, readCommittedTransaction } from "../../src/store/index.js";
import {
  pushBusyboxImage,
  startBerthProcess,
  until,
  type BerthProcess,
} from "../../src/testing/index.js";
import { startPostgres, type TestPostgres } from "../../src/testing/postgres.js";
import { storeContract } from "../unit/store/store-contract.js";
import { leaseContract } from "../unit/control/lease-contract.js";
import { addHost, draft, placementContract } from "../unit/control/placement-contract.js";
import { applyReports, type HostReport } from "../../src/control/report-batch.js";
import { createTasks } from "../../src/control/tasks.js";

let postgres: TestPostgres;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

let n = 0;
storeContract("postgres", {
  open: async () => openPostgresStore(await postgres.createDatabase(`contract${++n}`)),
});

leaseContract("postgres", async () =>
  openPostgresStore(await postgres.createDatabase(`lease${++n}`)),
);

// Three connection pools on one database: three servers placing at once.
placementContract("postgres", async () => {
  const url = await postgres.createDatabase(`placement${++n}`);
  return { store: await openPostgresStore(url), openAgain: () => openPostgresStore(url) };
});

// The report batch runs at READ COMMITTED (report-batch.ts): what keeps a host's reports in
// order across servers is that a batch locks its hosts' liveness rows before it reads their
// sequence numbers. An agent that moved servers may have its last report resent through the new
// one while the old one still writes a newer one: the older must wait, then be skipped.
test("a report batch waits for another server's batch of the same host, then skips its older report", async () => {
  const url = await postgres.createDatabase(`reports${++n}`);
  const [one, two] = [await openPostgresStore(url), await openPostgresStore(url)];
  try {
    await addHost(one, "h", 1);
    const { assignments } = await createTasks(one, [draft()]);
    const taskArn = assignments[0]?.assignment.taskArn ?? "";
    const report = (seq: number, lastStatus: "RUNNING" | "STOPPED"): HostReport => ({
      hostId: "h",
      seq,
      state: {
        taskArn,
        lastStatus,
        containers: [],
        ...(lastStatus === "STOPPED" ? { stoppedAt: Date.now() } : {}),
      },
    });
    await readCommittedTransaction(one).execute((trx) =>
      applyReports(trx, [report(4, "RUNNING")], Date.now()),
    );
    let older: Promise<boolean[]> | undefined;
    let olderSettled = false;
    // Server one writes the host's report 6 (STOPPED); while its transaction is open, server
    // two applies the host's report 5 (RUNNING, sent before 6).
    const newer = await readCommittedTransaction(one).execute(async (trx) => {
      const changed = await applyReports(trx, [report(6, "STOPPED")], Date.now());
      older = readCommittedTransaction(two).execute((other) =>
        applyReports(other, [report(5, "RUNNING")], Date.now()),
      );
      void older.finally(() => (olderSettled = true));
      // Until server two's session is seen waiting on a lock (a fixed wait could end before it
      // reached one, and then prove nothing).
      await until(
        "server two's batch to wait on a lock",
        async () =>
          (
            await sql<{ waiting: number }>`select count(*)::int as waiting from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'`.execute(one)
          ).rows[0]?.waiting ?? 0,
        (waiting) => waiting > 0 || olderSettled,
        { timeoutMs: 10_000 },
      );
      assert.equal(olderSettled, false, "the older report waits for the batch holding its host");
      return changed;
    });
    assert.deepEqual(newer, [true]);
    assert.deepEqual(await older, [false], "the older report is skipped once the newer is in");
    const host = await one
      .selectFrom("host_liveness")
      .select("last_seq")
      .where("host_id", "=", "h")
      .executeTakeFirstOrThrow();
    assert.equal(Number(host.last_seq), 6);
    const task = await one
      .selectFrom("tasks")
      .select("last_status")
      .where("arn", "=", taskArn)
      .executeTakeFirstOrThrow();
    assert.equal(task.last_status, "STOPPED");
  } finally {
    await one.destroy();
    await two.destroy();
  }
});

test("a session PostgreSQL ends between two queries of a transaction fails the transaction, not the process", async () => {
  const store = await openPostgresStore(await postgres.createDatabase(`terminated${++n}`));
  const admin = await openPostgresStore(postgres.url);
  try {
    const attempt = store.transaction().execute(async (trx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      // Ended by the server (as a restart does) while this transaction waits between queries:
      // the client hears FATAL 57P01 with no query running.
      await sql`select pg_terminate_backend(${rows[0]?.pid ?? 0})`.execute(admin);
      await new Promise((r) => setTimeout(r, 300));
      await trx.selectFrom("clusters").select("name").execute();
    });
    await assert.rejects(attempt);
    // The process is alive and the store answers on a new session.
    assert.deepEqual(await store.selectFrom("clusters").select("name").execute(), []);
  } finally {
    await admin.destroy();
    await store.destroy();
  }
});

test("a database with a natural-language collation is refused with how to make one", async () => {
  const url = await postgres.createDatabase("plain");
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(
    `create database en template template0 lc_collate 'C.UTF-8' lc_ctype 'C.UTF-8'`,
  );
  await client.end();
  const en = new URL(url);
  en.pathname = "/en";
  await assert.rejects(openPostgresStore(en.toString()), /needs 'C'.*createdb/);
});

test("berth up --store postgres:// runs tasks and keeps its state across kill -9 and a database restart", async (t) => {
  const url = await postgres.createDatabase("berth_e2e");
  const berth = await startBerthProcess({ args: ["--store", url] });
  let current: BerthProcess = berth;
  t.after(() => current.stop());
  const ecs = new ECSClient(berth.clientConfig);
  const image = (await pushBusyboxImage(berth, "busybox")).uri;
  await ecs.send(new CreateClusterCommand({ clusterName: "pg" }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "pg-sleeper",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      // sleep as PID 1 ignores SIGTERM: without a short stopTimeout, StopTask waits 30 s for
      // the SIGKILL, half of the wait for STOPPED below.
      containerDefinitions: [
        { name: "app", image, command: ["sleep", "600"], essential: true, stopTimeout: 2 },
      ],
    }),
  );
  const run = await ecs.send(
    new RunTaskCommand({ cluster: "pg", taskDefinition: "pg-sleeper", launchType: "FARGATE" }),
  );
  const taskArn = run.tasks?.[0]?.taskArn;
  assert.ok(taskArn !== undefined, `RunTask failed: ${JSON.stringify(run.failures)}`);
  const status = async (client: ECSClient) =>
    (await client.send(new DescribeTasksCommand({ cluster: "pg", tasks: [taskArn] }))).tasks?.[0];
  await until(
    "the task RUNNING",
    () => status(ecs),
    (task) => task?.lastStatus === "RUNNING",
    { timeoutMs: 60_000 },
  );

  // The server dies; its successor on the same database knows the task and adopts it.
  const again = await berth.restart();
  current = again;
  const ecs2 = new ECSClient(again.clientConfig);
  const clusters = await ecs2.send(new ListClustersCommand({}));
  assert.ok(clusters.clusterArns?.some((arn) => arn.endsWith("/pg")));
  assert.equal((await status(ecs2))?.lastStatus, "RUNNING");

  // PostgreSQL restarts under it: the pool reconnects and the next calls succeed.
  await postgres.restart();
  await until(
    "Berth answering again after PostgreSQL restarted",
    () => status(ecs2).catch((error: unknown) => ({ lastStatus: String(error) })),
    (task) => task?.lastStatus === "RUNNING",
    { timeoutMs: 60_000, context: () => again.output().slice(-4000) },
  );
  await ecs2.send(new StopTaskCommand({ cluster: "pg", task: taskArn }));
  await until(
    "the task STOPPED",
    () => status(ecs2),
    (task) => task?.lastStatus === "STOPPED",
    { timeoutMs: 60_000, context: () => again.output().slice(-4000) },
  );
});
