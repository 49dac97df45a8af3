// CloudWatch's ECS service metrics from the agents' cgroup samples, and ALBRequestCountPerTarget
// from a load balancer's request counters (a fake RequestCountSource keeping its contract:
// cumulative counts per target group ARN).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ServiceMetrics,
  UsageSeries,
  containerSeriesKey,
  responseTimeStats,
  type RequestCountSource,
} from "../../../../src/control/index.js";
import { RESPONSE_TIME_BOUNDS, ResponseTimeHistogram } from "../../../../src/balancer/index.js";
import { openSqliteStore, type Store } from "../../../../src/store/index.js";

const MIB = 1024 * 1024;
const TG = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef";

let dir: string;
let store: Store;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-metrics-"));
  store = await openSqliteStore(join(dir, "berth.db"));
  for (const [id, group, status] of [
    ["a", "service:web", "RUNNING"],
    ["b", "service:web", "RUNNING"],
    ["c", "service:web", "PENDING"],
    ["d", "family:batch", "RUNNING"],
  ] as const)
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
        host_id: "host-1",
        cpu: 256,
        memory: 512,
        started_by: null,
        group_name: group,
        created_at: 0,
        stopped_at: null,
        version: 1,
        document: "{}",
        assignment: "{}",
      })
      .execute();
  await store
    .insertInto("services")
    .values({
      arn: "arn:aws:ecs:us-east-1:000000000000:service/default/web",
      cluster_name: "default",
      name: "web",
      status: "ACTIVE",
      desired_count: 3,
      document: JSON.stringify({
        service: {
          serviceName: "web",
          loadBalancers: [{ targetGroupArn: TG, containerName: "app", containerPort: 80 }],
        },
        extras: {},
      }),
      created_at: 0,
      updated_at: 0,
    })
    .execute();
  // Two targets in service and one draining: ELB counts the two.
  for (const [id, draining] of [
    ["100.64.0.2", null],
    ["100.64.0.3", null],
    ["100.64.0.4", 5000],
  ] as const)
    await store
      .insertInto("elb_targets")
      .values({
        target_group_arn: TG,
        id,
        port: 80,
        availability_zone: null,
        task_arn: null,
        registered_at: 0,
        draining_until: draining,
      })
      .execute();
});
after(async () => {
  await store.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const arn = (id: string): string => `arn:aws:ecs:us-east-1:000000000000:task/default/${id}`;

describe("UsageSeries", () => {
  it("takes CPU as the rate between samples and memory as their mean", () => {
    const series = new UsageSeries(60_000);
    series.record("t", { at: 0, cpuNanos: 0, memoryBytes: 100 * MIB });
    series.record("t", { at: 1000, cpuNanos: 0.25e9, memoryBytes: 100 * MIB });
    series.record("t", { at: 2000, cpuNanos: 0.5e9, memoryBytes: 300 * MIB });
    // A quarter of a CPU-second per second: 256 units.
    assert.deepEqual(series.use("t", 0, 2000), { cpuUnits: 256, memoryMiB: 200 });
    // Over (1000, 2000] the base is the sample at 1000.
    assert.deepEqual(series.use("t", 1000, 2000), { cpuUnits: 256, memoryMiB: 300 });
  });

  it("needs two samples, drops stale and backwards ones, and forgets old tasks", () => {
    const series = new UsageSeries(10_000);
    series.record("t", { at: 1000, cpuNanos: 5e9, memoryBytes: MIB });
    assert.equal(series.use("t", 0, 1000), undefined);
    series.record("t", { at: 500, cpuNanos: 6e9, memoryBytes: MIB });
    series.record("t", { at: 2000, cpuNanos: 4e9, memoryBytes: MIB });
    assert.equal(series.use("t", 0, 2000), undefined);
    series.prune(11_001);
    assert.deepEqual(series.tasks(), []);
  });
});

describe("ServiceMetrics", () => {
  it("computes a service's CPU and memory utilization over the tasks it has data for", async () => {
    const series = new UsageSeries(60_000);
    // a: a whole quarter vCPU (100% of 256 units), 256 MiB; b: idle, 128 MiB; c: no samples.
    series.record(arn("a"), { at: 0, cpuNanos: 0, memoryBytes: 256 * MIB });
    series.record(arn("a"), { at: 1000, cpuNanos: 0.25e9, memoryBytes: 256 * MIB });
    series.record(arn("b"), { at: 0, cpuNanos: 1e9, memoryBytes: 128 * MIB });
    series.record(arn("b"), { at: 1000, cpuNanos: 1e9, memoryBytes: 128 * MIB });
    series.record(arn("d"), { at: 0, cpuNanos: 0, memoryBytes: 0 });
    series.record(arn("d"), { at: 1000, cpuNanos: 1e9, memoryBytes: 0 });
    series.record(containerSeriesKey(arn("a"), "app"), { at: 0, cpuNanos: 0, memoryBytes: 0 });
    series.record(containerSeriesKey(arn("a"), "app"), {
      at: 1000,
      cpuNanos: 0.125e9,
      memoryBytes: 64 * MIB,
    });
    const metrics = new ServiceMetrics({ store, series, periodMs: 1000 });
    const snapshot = await metrics.collect(1000);
    const web = snapshot.services.find((s) => s.service === "web");
    // (256 + 0) / (256 + 256) and (256 + 128) / (512 + 512): the standalone task d counts in neither.
    assert.equal(web?.cpuUtilization, 50);
    assert.equal(web?.memoryUtilization, 37.5);
    assert.equal(web?.desiredCount, 3);
    assert.equal(web?.runningCount, 2);
    assert.equal(web?.pendingCount, 1);
    const task = snapshot.tasks.find((t) => t.taskArn === arn("a"));
    assert.equal(task?.cpuUtilization, 100);
    assert.equal(task?.memoryUtilization, 50);
    assert.deepEqual(task?.containers, [{ name: "app", cpuUnits: 128, memoryMiB: 64 }]);
    assert.equal(snapshot.tasks.find((t) => t.taskArn === arn("c"))?.cpuUtilization, undefined);
    assert.equal(metrics.latest, snapshot);
  });

  it("has no service datapoint when no task has data", async () => {
    const metrics = new ServiceMetrics({ store, series: new UsageSeries(60_000), periodMs: 1000 });
    const web = (await metrics.collect(1000)).services.find((s) => s.service === "web");
    assert.equal(web?.cpuUtilization, undefined);
    assert.equal(web?.memoryUtilization, undefined);
  });

  it("counts requests per period from cumulative counters, per registered target", async () => {
    const counts = new Map<string, number>([[TG, 100]]);
    const requests: RequestCountSource = { requestCounts: () => new Map(counts) };
    const metrics = new ServiceMetrics({
      store,
      series: new UsageSeries(60_000),
      periodMs: 1000,
      requests,
    });
    await metrics.collect(1000);
    counts.set(TG, 160);
    const snapshot = await metrics.collect(2000);
    assert.deepEqual(snapshot.targetGroups.get(TG), { total: 160, inPeriod: 60, targets: 2 });
    const web = snapshot.services.find((s) => s.service === "web");
    assert.equal(web?.requestCount, 60);
    assert.equal(web?.requestCountPerTarget, 30);
    // A counter that went back (the load balancer restarted) counts from zero.
    counts.set(TG, 10);
    assert.equal((await metrics.collect(3000)).targetGroups.get(TG)?.inPeriod, 10);
  });

  it("takes TargetResponseTime per period from the load balancer's cumulative histograms", async () => {
    // The load balancer's own histogram, as the plane records each answer's time.
    const histogram = new ResponseTimeHistogram();
    let count = 0;
    const requests: RequestCountSource = {
      requestCounts: () => new Map([[TG, count]]),
      responseTimes: () => new Map([[TG, histogram.reading()]]),
    };
    const metrics = new ServiceMetrics({
      store,
      series: new UsageSeries(60_000),
      periodMs: 1000,
      requests,
    });
    // Before the first period: answers that are not this period's.
    const answer = (seconds: number, times: number): void => {
      for (let i = 0; i < times; i++) {
        histogram.record(seconds);
        count++;
      }
    };
    answer(5, 50);
    await metrics.collect(1000);
    // This period: 90 answers of 10 ms and 10 of 200 ms.
    answer(0.01, 90);
    answer(0.2, 10);
    const snapshot = await metrics.collect(2000);
    const stats = snapshot.targetGroups.get(TG)?.responseTime;
    assert.ok(stats !== undefined);
    assert.equal(stats.count, 100);
    assert.ok(Math.abs(stats.average - 0.029) < 1e-9, `average ${stats.average}`);
    // Percentiles are the upper bound of their bucket: within 19% above the true value.
    assert.ok(stats.p50 >= 0.01 && stats.p50 < 0.0119, `p50 ${stats.p50}`);
    assert.ok(stats.p90 >= 0.01 && stats.p90 < 0.0119, `p90 ${stats.p90}`);
    assert.ok(stats.p99 >= 0.2 && stats.p99 < 0.238, `p99 ${stats.p99}`);
    const web = snapshot.services.find((s) => s.service === "web");
    assert.deepEqual(web?.targetResponseTime, stats);
    // A period without answers has no TargetResponseTime (CloudWatch has no datapoint).
    const quiet = await metrics.collect(3000);
    assert.equal(quiet.targetGroups.get(TG)?.responseTime, undefined);
    assert.equal(quiet.services.find((s) => s.service === "web")?.targetResponseTime, undefined);
  });
});

describe("response time histogram", () => {
  it("puts each time in the first bucket whose bound is at or above it", () => {
    const histogram = new ResponseTimeHistogram();
    for (const seconds of [0, 0.00005, 0.0001, 0.00011, 0.001, 1, 1000]) histogram.record(seconds);
    // Not a time: not counted.
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) histogram.record(bad);
    const reading = histogram.reading();
    assert.equal(reading.count, 7);
    const filled = reading.buckets.flatMap((n, i) => (n > 0 ? [[i, n]] : []));
    const at = (seconds: number): number =>
      RESPONSE_TIME_BOUNDS.findIndex((bound) => bound >= seconds - 1e-12);
    assert.deepEqual(filled, [
      [0, 3],
      [1, 1],
      [at(0.001), 1],
      [at(1), 1],
      // Slower than the last bound: the last bucket.
      [RESPONSE_TIME_BOUNDS.length - 1, 1],
    ]);
    assert.ok((RESPONSE_TIME_BOUNDS[at(1)] ?? 0) >= 1);
    assert.ok((RESPONSE_TIME_BOUNDS[at(1) - 1] ?? 2) < 1);
  });

  it("reads a restarted counter whole, and several groups together", () => {
    const a = new ResponseTimeHistogram();
    const b = new ResponseTimeHistogram();
    for (let i = 0; i < 10; i++) a.record(0.1);
    const earlier = a.reading();
    const restarted = new ResponseTimeHistogram();
    restarted.record(0.3);
    b.record(0.5);
    const stats = responseTimeStats([
      { before: earlier, after: restarted.reading() },
      { after: b.reading() },
    ]);
    assert.equal(stats?.count, 2);
    assert.ok(Math.abs((stats?.average ?? 0) - 0.4) < 1e-9);
    assert.equal(responseTimeStats([{ before: earlier, after: earlier }]), undefined);
  });
});
