/**
 * Three servers on one PostgreSQL under contention, with hollow hosts (the real agent protocol
 * over the real channel, no containers: 300 Fargate-sized tasks do not fit on this machine's two
 * cores; multi-server.test.ts runs real containers through a server's loss):
 * - a burst of 300 RunTasks with client tokens, sent round-robin to all servers and retried on
 *   the next server on any error, while the leader is killed with -9: exactly one task per
 *   token, every one RUNNING, no host over its capacity (which is exactly 300 tasks);
 * - the leader paused (SIGSTOP) for twice its lease: another server leads meanwhile and heals a
 *   service; woken, the old one steps down and changes nothing (and the host whose agent was
 *   on it moved to another server, as agents leave a server that stops answering);
 * - PostgreSQL restarted under a stream of RunTasks: no accepted task is lost, none doubled.
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { startBerthProcess, until, type BerthProcess } from "../../src/testing/index.js";
import { HollowHosts } from "../../src/testing/hollow-hosts.js";
import { startPostgres, type TestPostgres } from "../../src/testing/postgres.js";

let postgres: TestPostgres;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

const CLUSTER = "burst";
const TASKS_PER_HOST = 100;
const LEASE_TTL_MS = 10_000;

/** Whether a server's log says it leads now: its last lease event is taking the lease. */
const leads = (server: BerthProcess): boolean =>
  [...server.output().matchAll(/(INFO +leading|WARN +no longer leading) role=control-plane/g)]
    .at(-1)?.[1]
    ?.startsWith("INFO") ?? false;

const leaderOf = (servers: BerthProcess[]): BerthProcess | undefined =>
  servers.filter((s) => s.process.exitCode === null && s.process.signalCode === null).find(leads);

async function listAll(
  ecs: ECSClient,
  input: { serviceName?: string; desiredStatus?: "RUNNING" | "STOPPED" },
): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, ...input, ...(nextToken ? { nextToken } : {}) }),
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return arns;
}

async function describeAll(ecs: ECSClient, arns: string[]): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const page = await ecs.send(
      new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns.slice(i, i + 100) }),
    );
    tasks.push(...(page.tasks ?? []));
  }
  return tasks;
}

test("three servers under contention: a burst across a leader's kill -9, a paused leader, a database restart", async (t) => {
  const url = await postgres.createDatabase("contention");
  const blobDir = mkdtempSync(join(tmpdir(), "berth-blobs-"));
  const env = {
    BERTH_ACCESS_KEY_ID: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
    BERTH_SECRET_ACCESS_KEY: randomBytes(20).toString("hex"),
  };
  const args = ["--store", url, "--no-local-agent", "--blob-dir", blobDir];
  const servers: BerthProcess[] = [];
  const fleets: HollowHosts[] = [];
  t.after(async () => {
    for (const fleet of fleets) fleet.close();
    for (const server of servers) {
      if (server.process.signalCode === "SIGSTOP" || server.process.exitCode === null)
        server.process.kill("SIGCONT");
      await server.stop();
    }
    rmSync(blobDir, { recursive: true, force: true });
  });
  for (let i = 0; i < 3; i++) servers.push(await startBerthProcess({ args, env }));
  const clients = servers.map((s) => new ECSClient({ ...s.clientConfig, maxAttempts: 1 }));
  const first = servers[0] as BerthProcess;
  const hosts = await HollowHosts.start({
    servers: servers.map((s) => s.join.server),
    caCertHash: first.join.caCertHash,
    joinToken: first.joinToken,
    count: 3,
    cpu: 256 * TASKS_PER_HOST,
    memory: 512 * TASKS_PER_HOST,
  });
  fleets.push(hosts);
  const ecs0 = clients[0] as ECSClient;
  await ecs0.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  await ecs0.send(
    new RegisterTaskDefinitionCommand({
      family: "hollow",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image: "busybox", essential: true }],
    }),
  );

  /** RunTask with `token`, from server `start` on, to the next server on any error. */
  const runTask = async (token: string, start: number, to = clients): Promise<string> => {
    const errors: string[] = [];
    for (let attempt = 0; attempt < 60; attempt++) {
      const client = to[(start + attempt) % to.length] as ECSClient;
      try {
        const out = await client.send(
          new RunTaskCommand({
            cluster: CLUSTER,
            taskDefinition: "hollow",
            launchType: "FARGATE",
            clientToken: token,
          }),
        );
        const arn = out.tasks?.[0]?.taskArn;
        assert.ok(
          arn !== undefined,
          `RunTask ${token} placed nothing: ${JSON.stringify(out.failures)}`,
        );
        return arn;
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        errors.push(String(error));
        await new Promise((r) => setTimeout(r, 100 * Math.min(attempt + 1, 10)));
      }
    }
    throw new Error(`RunTask ${token} never succeeded: ${errors.slice(-3).join("; ")}`);
  };

  // 1. The burst: 300 tokens, 20 callers, the leader killed a third of the way in.
  const leader = leaderOf(servers);
  assert.ok(leader !== undefined, "a server leads");
  const tokens = Array.from({ length: 300 }, () => randomUUID());
  const answers = new Map<string, string>();
  let next = 0;
  let killed: Promise<void> | undefined;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < tokens.length) {
        const i = next++;
        if (i === 100) killed = leader.kill();
        const token = tokens[i] as string;
        answers.set(token, await runTask(token, i));
      }
    }),
  );
  await killed;
  const alive = servers.filter((s) => s !== leader);
  const ecs = new ECSClient({ ...(alive[0] as BerthProcess).clientConfig, maxAttempts: 3 });
  // Asked again with each token: the same task comes back, from any server.
  for (const token of tokens.slice(0, 30))
    assert.equal(await runTask(token, 1), answers.get(token), "a token's task is its first one");
  const arns = new Set(answers.values());
  assert.equal(arns.size, 300, "one task per token");
  const listed = await listAll(ecs, {});
  assert.deepEqual(new Set(listed), arns, "no task beyond the tokens' (none placed twice)");
  await until(
    "every task RUNNING",
    async () =>
      (await describeAll(ecs, [...arns]))
        .filter((t) => t.lastStatus !== "RUNNING")
        .map((t) => `${t.taskArn ?? ""} ${t.lastStatus ?? ""}`),
    (notRunning) => notRunning.length === 0,
    {
      timeoutMs: 60_000,
      context: () =>
        servers
          .flatMap((s) => s.output().split("\n"))
          .filter((line) => / (WARN|ERROR) /.test(line))
          .slice(-15)
          .join("\n"),
    },
  );
  const perHost = hosts.running();
  assert.equal(
    [...perHost.values()].reduce((a, b) => a + b, 0),
    300,
  );
  for (const [hostId, count] of perHost)
    assert.ok(count <= TASKS_PER_HOST, `${hostId} runs ${count} tasks, over its capacity`);

  // Room for what follows: 60 of the burst's tasks stop.
  const stopping = [...arns].slice(0, 60);
  for (const arn of stopping) await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn }));
  await until(
    "the stopped tasks' room given back",
    async () => (await describeAll(ecs, stopping)).filter((t) => t.lastStatus === "STOPPED").length,
    (n) => n === stopping.length,
    { timeoutMs: 60_000 },
  );

  // 2. A paused leader: a service of 4; the leader stops for twice its lease while the service
  // is scaled to 8: another server leads meanwhile and starts the 4; woken, the old leader steps
  // down and the service stays at 8.
  const newLeader = await until(
    "another server leading",
    async () => leaderOf(alive),
    (s) => s !== undefined,
    { timeoutMs: 3 * LEASE_TTL_MS },
  );
  assert.ok(newLeader !== undefined);
  const follower = alive.find((s) => s !== newLeader) as BerthProcess;
  const ecsF = new ECSClient({ ...follower.clientConfig, maxAttempts: 3 });
  await ecsF.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: "kept",
      taskDefinition: "hollow",
      desiredCount: 4,
      launchType: "FARGATE",
    }),
  );
  const serviceRunning = async (client: ECSClient): Promise<number> =>
    (await describeAll(client, await listAll(client, { serviceName: "kept" }))).filter(
      (t) => t.lastStatus === "RUNNING" && t.desiredStatus === "RUNNING",
    ).length;
  await until(
    "the service's 4 tasks",
    () => serviceRunning(ecsF),
    (n) => n === 4,
    {
      timeoutMs: 60_000,
    },
  );
  const pausedAt = Date.now();
  newLeader.process.kill("SIGSTOP");
  await ecsF.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "kept", desiredCount: 8 }));
  await until(
    "the follower leading while the leader is paused",
    async () => leaderOf([follower]),
    (s) => s !== undefined,
    { timeoutMs: 3 * LEASE_TTL_MS },
  );
  await until(
    "the service's 8 tasks, started by the new leader",
    () => serviceRunning(ecsF),
    (n) => n === 8,
    {
      timeoutMs: 60_000,
    },
  );
  await new Promise((r) => setTimeout(r, Math.max(0, pausedAt + 2 * LEASE_TTL_MS - Date.now())));
  newLeader.process.kill("SIGCONT");
  await until(
    "the woken server stepping down",
    async () => leads(newLeader),
    (leading) => !leading,
    { timeoutMs: 30_000, context: () => newLeader.output().slice(-2000) },
  );
  // A few of the woken server's passes later: one leader, the service as it was.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(leaderOf(alive), follower, "one leader: the one that took over");
  assert.equal(await serviceRunning(ecsF), 8);
  assert.equal((await listAll(ecsF, { serviceName: "kept" })).length, 8, "no task started twice");

  // 3. PostgreSQL restarts under a stream of RunTasks (5 callers, to the servers still up).
  const liveClients = alive.map((server) => clients[servers.indexOf(server)] as ECSClient);
  const later = Array.from({ length: 40 }, () => randomUUID());
  const laterAnswers = new Map<string, string>();
  let restarted: Promise<void> | undefined;
  let k = 0;
  await Promise.all(
    Array.from({ length: 5 }, async () => {
      while (k < later.length) {
        const i = k++;
        if (i === 10) restarted = postgres.restart();
        const token = later[i] as string;
        laterAnswers.set(token, await runTask(token, i, liveClients));
      }
    }),
  );
  await restarted;
  assert.equal(new Set(laterAnswers.values()).size, 40, "one task per token across the restart");
  const live = await listAll(ecsF, { desiredStatus: "RUNNING" });
  assert.equal(live.length, 300 - 60 + 8 + 40, "every accepted task is there, none twice");
  await until(
    "the service at its desired count",
    () => serviceRunning(ecsF),
    (n) => n === 8,
    {
      timeoutMs: 30_000,
    },
  );
  for (const client of clients) client.destroy();
  ecs.destroy();
  ecsF.destroy();
});
