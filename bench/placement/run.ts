/**
 * `npm run bench:placement`: the control plane alone, as Nomad's C2M measured its scheduler.
 * Hollow hosts (src/testing/hollow-hosts.ts: the real agent channel, no containers) join; callers
 * send RunTask (10 tasks each, clientTokens) for a fixed time; a task counts once its host has
 * acknowledged it RUNNING and the server has acked that report. Printed per configuration: tasks
 * placed and acknowledged per second, p50/p99 RunTask sent -> acknowledged by its host, and the
 * ratio to Nomad's C2M (about 1,500 containers/s, the peer: its published figure, not measured
 * here, since Nomad is not on this machine).
 *
 * Configurations (BENCH_PLACEMENT_SCALE, _SECONDS, _CALLERS, _ONLY shrink them for a small
 * machine):
 *   SQLite, one server, 1,000 hosts; PostgreSQL, one server, 5,000 hosts; PostgreSQL, three.
 * BENCH_PLACEMENT_PG_STATS=1 also prints what PostgreSQL's sessions waited on (pg-stats.ts);
 * BENCH_PLACEMENT_CPU_PROF=DIR has each server write a V8 CPU profile there (node --cpu-prof);
 * BENCH_PLACEMENT_TIMELINE=1 prints p50/p99 per 2 s of the run.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from "@aws-sdk/client-ecs";
import { startBerthProcess, type BerthProcess } from "../../src/testing/index.js";
import { HollowHosts } from "../../src/testing/hollow-hosts.js";
import { startPostgres, type TestPostgres } from "../../src/testing/postgres.js";
import { PgStats } from "./pg-stats.js";

const NOMAD_C2M_PER_SECOND = 1500;
const SECONDS = Number(process.env.BENCH_PLACEMENT_SECONDS ?? 20);
const CALLERS = Number(process.env.BENCH_PLACEMENT_CALLERS ?? 20);
const SCALE = Number(process.env.BENCH_PLACEMENT_SCALE ?? 1);
/** Prints what PostgreSQL's sessions waited on during the run (pg-stats.ts). */
const PG_STATS = process.env.BENCH_PLACEMENT_PG_STATS === "1";
/** Prints p50/p99 per 2 s of the run (by when RunTask was sent): a slow start, or a stall. */
const TIMELINE = process.env.BENCH_PLACEMENT_TIMELINE === "1";
/** A directory: each server writes a V8 CPU profile of its run there (node --cpu-prof). */
const CPU_PROF = process.env.BENCH_PLACEMENT_CPU_PROF;

interface Config {
  name: string;
  store: "sqlite" | "postgres";
  servers: number;
  hosts: number;
}

const CONFIGS: Config[] = [
  { name: "SQLite, 1 server", store: "sqlite", servers: 1, hosts: Math.round(1000 * SCALE) },
  { name: "PostgreSQL, 1 server", store: "postgres", servers: 1, hosts: Math.round(5000 * SCALE) },
  { name: "PostgreSQL, 3 servers", store: "postgres", servers: 3, hosts: Math.round(5000 * SCALE) },
];

/**
 * CPU seconds (user + system) the servers have used so far, from /proc: on a shared machine the
 * rate moves with the load, the servers' CPU per task much less.
 */
function cpuSeconds(servers: BerthProcess[]): number {
  let ticks = 0;
  for (const server of servers) {
    const fields = statFields(readFileSync(`/proc/${server.process.pid}/stat`, "utf8"));
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

/**
 * The servers' system calls that wrote (to sockets: PostgreSQL's statements, the hosts' messages,
 * HTTP answers) so far, from /proc/PID/io: a count per task that the machine's load does not move.
 */
function writeCalls(servers: BerthProcess[]): number {
  let calls = 0;
  for (const server of servers) {
    const io = readFileSync(`/proc/${server.process.pid}/io`, "utf8");
    calls += Number(/^syscw: (\d+)$/m.exec(io)?.[1] ?? NaN);
  }
  return calls;
}

/**
 * A /proc stat line's fields after the command's closing parenthesis: the state first, the
 * parent's PID second, utime and stime the 12th and 13th, cutime and cstime the 14th and 15th.
 */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * CPU seconds PostgreSQL has used so far: its postmaster (with the children it has reaped) and
 * the processes it runs now (the servers' sessions, its background workers), found by its port.
 */
function postgresCpuSeconds(postgres: TestPostgres | undefined): number {
  if (postgres === undefined) return 0;
  const stats = readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return [{ pid, cmdline, fields: statFields(stat) }];
      } catch {
        return []; // ended meanwhile
      }
    });
  const postmaster = stats.find(
    (s) => s.cmdline.includes("postgres") && s.cmdline.includes(`\0-p\0${postgres.port}\0`),
  );
  if (postmaster === undefined) return 0;
  const ticks = (fields: string[], reaped: boolean): number =>
    Number(fields[11]) +
    Number(fields[12]) +
    (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
  let total = ticks(postmaster.fields, true);
  for (const s of stats) if (s.fields[1] === postmaster.pid) total += ticks(s.fields, false);
  return total / 100;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function run(config: Config, postgres: TestPostgres | undefined): Promise<string> {
  const env = {
    BERTH_ACCESS_KEY_ID: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
    BERTH_SECRET_ACCESS_KEY: randomBytes(20).toString("hex"),
  };
  const blobDir = mkdtempSync(join(tmpdir(), "berth-bench-blobs-"));
  const args = ["--no-local-agent"];
  let pgStats: PgStats | undefined;
  if (postgres !== undefined) {
    const url = await postgres.createDatabase(`bench${randomBytes(4).toString("hex")}`);
    args.push("--store", url, "--blob-dir", blobDir);
    if (PG_STATS) pgStats = await PgStats.start(url, postgres);
  }
  const servers: BerthProcess[] = [];
  let hosts: HollowHosts | undefined;
  try {
    const nodeArgs = CPU_PROF === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`];
    for (let i = 0; i < config.servers; i++)
      servers.push(await startBerthProcess({ args, env, nodeArgs }));
    const first = servers[0] as BerthProcess;
    hosts = await HollowHosts.start({
      servers: servers.map((s) => s.join.server),
      caCertHash: first.join.caCertHash,
      joinToken: first.joinToken,
      count: config.hosts,
      // Room for every task the run can place: the bench measures placement, not a full fleet.
      cpu: 256 * 1000,
      memory: 512 * 1000,
    });
    // Kept-alive connections, as a real client's (the test harness's clients open one per request).
    const clients = servers.map(
      (s) => new ECSClient({ ...s.clientConfig, maxAttempts: 1, requestHandler: {} }),
    );
    const ecs = clients[0] as ECSClient;
    // A cluster's address block holds 64 host subnets (a /18 of /24s): the tasks go to as many
    // clusters as it takes for every host to be reachable.
    const clusters = Array.from({ length: Math.ceil(config.hosts / 64) }, (_, i) => `bench${i}`);
    for (const clusterName of clusters) await ecs.send(new CreateClusterCommand({ clusterName }));
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "hollow",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "app", image: "busybox", essential: true }],
      }),
    );
    const sentAt = new Map<string, number>();
    let errors = 0;
    const errorKinds = new Map<string, number>();
    const failures = new Map<string, number>();
    await pgStats?.begin();
    const cpuBefore = cpuSeconds(servers);
    const writesBefore = writeCalls(servers);
    const postgresBefore = postgresCpuSeconds(postgres);
    const benchBefore = process.cpuUsage();
    const started = performance.now();
    // The run's span on the monotonic clock, which V8's profiles time their samples by.
    const monotonicStart = process.hrtime.bigint() / 1000n;
    const end = started + SECONDS * 1000;
    let n = 0;
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (performance.now() < end) {
          const client = clients[n++ % clients.length] as ECSClient;
          const at = performance.now();
          try {
            const out = await client.send(
              new RunTaskCommand({
                cluster: clusters[n % clusters.length],
                taskDefinition: "hollow",
                count: 10,
                clientToken: randomUUID(),
              }),
            );
            for (const task of out.tasks ?? []) sentAt.set(task.taskArn ?? "", at);
            for (const failure of out.failures ?? [])
              failures.set(failure.reason ?? "", (failures.get(failure.reason ?? "") ?? 0) + 1);
          } catch (error) {
            errors++;
            const name = `${(error as Error).name}: ${(error as Error).message}`.slice(0, 120);
            errorKinds.set(name, (errorKinds.get(name) ?? 0) + 1);
          }
        }
      }),
    );
    // BENCH_PLACEMENT_CALLERS=0 measures what the servers spend with no RunTask: the same time.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - performance.now())));
    const accepted = performance.now();
    await hosts
      .until(
        () =>
          [...sentAt.keys()].every((arn) => hosts?.tasks.get(arn)?.acknowledgedAt !== undefined),
        60_000,
      )
      .catch(() => undefined);
    const cpuUsed = cpuSeconds(servers) - cpuBefore;
    const writes = writeCalls(servers) - writesBefore;
    const postgresUsed = postgresCpuSeconds(postgres) - postgresBefore;
    const benchCpu = process.cpuUsage(benchBefore);
    const benchUsed = (benchCpu.user + benchCpu.system) / 1e6;
    if (CPU_PROF !== undefined)
      console.log(
        `  profiles: the run is ${monotonicStart}-${process.hrtime.bigint() / 1000n} µs ` +
          `(monotonic, as their samples' times)`,
      );
    await pgStats?.end();
    pgStats = undefined;
    const latencies: number[] = [];
    let lastAck = started;
    for (const [arn, at] of sentAt) {
      const acked = hosts.tasks.get(arn)?.acknowledgedAt;
      if (acked === undefined) continue;
      latencies.push(acked - at);
      lastAck = Math.max(lastAck, acked);
    }
    if (TIMELINE) {
      const buckets = new Map<number, number[]>();
      for (const [arn, at] of sentAt) {
        const acked = hosts.tasks.get(arn)?.acknowledgedAt;
        if (acked === undefined) continue;
        const bucket = Math.floor((at - started) / 2000) * 2;
        buckets.set(bucket, [...(buckets.get(bucket) ?? []), acked - at]);
      }
      for (const [from, list] of [...buckets].sort((a, b) => a[0] - b[0])) {
        list.sort((a, b) => a - b);
        console.log(
          `  sent at ${from}-${from + 2} s: ${list.length} tasks, ` +
            `p50 ${percentile(list, 50).toFixed(0)} ms, p99 ${percentile(list, 99).toFixed(0)} ms`,
        );
      }
    }
    latencies.sort((a, b) => a - b);
    const perTask = (seconds: number): string =>
      ((seconds * 1e6) / Math.max(1, latencies.length)).toFixed(0);
    const rate = latencies.length / ((lastAck - started) / 1000);
    for (const client of clients) client.destroy();
    // What the servers said went wrong, when RunTask failed: the first few distinct errors.
    if (errors > 0) {
      const said = new Set(
        servers
          .flatMap((server) => server.output().split("\n"))
          .filter((line) => / ERROR /.test(line))
          .map((line) => line.replace(/^\S+ /, "").slice(0, 300)),
      );
      for (const line of [...said].slice(0, 5)) console.log(`  server: ${line}`);
    }
    return (
      `${config.name.padEnd(24)} ${String(config.hosts).padStart(5)} hosts  ` +
      `${rate.toFixed(0).padStart(6)} tasks/s acknowledged  ` +
      `p50 ${percentile(latencies, 50).toFixed(0)} ms  p99 ${percentile(latencies, 99).toFixed(0)} ms  ` +
      `(${latencies.length} of ${sentAt.size} placed acknowledged; ${errors} RunTask errors` +
      `${errors > 0 ? ` ${JSON.stringify(Object.fromEntries(errorKinds))}` : ""}; ` +
      `failures ${JSON.stringify(Object.fromEntries(failures))}; ` +
      `accepting took ${((accepted - started) / 1000).toFixed(1)} s; ` +
      `servers' CPU ${cpuUsed.toFixed(1)} s, ${perTask(cpuUsed)} µs per task, ` +
      `${(writes / Math.max(1, latencies.length)).toFixed(2)} writes per task; ` +
      `${postgres === undefined ? "" : `PostgreSQL's ${perTask(postgresUsed)} µs, `}` +
      `the bench's (hosts and callers) ${perTask(benchUsed)} µs)  ` +
      `vs Nomad C2M ${NOMAD_C2M_PER_SECOND}/s: ${(rate / NOMAD_C2M_PER_SECOND).toFixed(2)}x`
    );
  } finally {
    await pgStats?.end().catch(() => undefined);
    hosts?.close();
    for (const server of servers) await server.stop();
    rmSync(blobDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const only = process.env.BENCH_PLACEMENT_ONLY;
  const configs = CONFIGS.filter((c) => only === undefined || c.name.startsWith(only));
  const postgres = configs.some((c) => c.store === "postgres") ? await startPostgres() : undefined;
  try {
    console.log(
      `bench:placement: ${CALLERS} callers for ${SECONDS} s, RunTask count=10 with clientTokens`,
    );
    for (const config of configs)
      console.log(await run(config, config.store === "postgres" ? postgres : undefined));
  } finally {
    await postgres?.stop();
  }
}

await main();
