// The console's chart data, on a real (SQLite file) store: a period is kept once, per service
// and per task; a new server on the same store (a restart) reads what the last one wrote; rows
// past the retention for their resolution go.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  HISTORY_MS,
  MetricsHistory,
  retentionMs,
  type MetricsPeriod,
} from "../../../src/console/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

const dir = mkdtempSync(join(tmpdir(), "berth-metrics-history-"));
const file = join(dir, "berth.db");
let store: Store;
before(async () => {
  store = await openSqliteStore(file);
});
after(async () => {
  await store.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const period = (at: number, cpu: number, periodMs = 60_000): MetricsPeriod => ({
  at,
  periodMs,
  tasks: [
    { taskArn: "arn:t1", cpuUtilization: cpu, memoryUtilization: 10 },
    // No samples in the period: no datapoint.
    { taskArn: "arn:t2" },
  ],
  services: [
    {
      cluster: "c",
      service: "web",
      runningCount: 2,
      pendingCount: 1,
      desiredCount: 3,
      cpuUtilization: cpu,
      requestCount: 7,
    },
  ],
});

describe("console metrics history", () => {
  it("keeps each period once, per service and per task", async () => {
    const history = new MetricsHistory(store);
    assert.equal(await history.record(undefined), false);
    assert.equal(await history.record(period(60_000, 5)), true);
    assert.equal(await history.record(period(60_000, 99)), false, "the same period again");
    assert.equal(await history.record(period(120_000, 15)), true);
    const web = await history.points({ cluster: "c", service: "web" }, 0);
    assert.equal(web.periodMs, 60_000);
    assert.deepEqual(web.points, [
      { at: 60_000, running: 2, pending: 1, desired: 3, cpu: 5, requests: 7 },
      { at: 120_000, running: 2, pending: 1, desired: 3, cpu: 15, requests: 7 },
    ]);
    assert.deepEqual((await history.points({ taskArn: "arn:t1" }, 100_000)).points, [
      { at: 120_000, cpu: 15, memory: 10 },
    ]);
    assert.deepEqual((await history.points({ taskArn: "arn:t2" }, 0)).points, []);
    assert.deepEqual((await history.points({ cluster: "c", service: "other" }, 0)).points, []);
  });

  it("keeps TargetResponseTime per service and per target group, none for a quiet period", async () => {
    const history = new MetricsHistory(store);
    const tg =
      "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef";
    const times = { average: 0.012, p90: 0.02, p99: 0.05 };
    const withLatency = (at: number, answered: boolean): MetricsPeriod => ({
      at,
      periodMs: 60_000,
      tasks: [],
      services: [
        {
          cluster: "c",
          service: "lat",
          runningCount: 1,
          pendingCount: 0,
          desiredCount: 1,
          requestCount: answered ? 4 : 0,
          ...(answered ? { targetResponseTime: times } : {}),
        },
      ],
      targetGroups: new Map([
        [tg, { inPeriod: answered ? 4 : 0, ...(answered ? { responseTime: times } : {}) }],
      ]),
    });
    await history.record(withLatency(1_000_000, true));
    await history.record(withLatency(1_060_000, false));
    const service = (await history.points({ cluster: "c", service: "lat" }, 0)).points;
    assert.deepEqual(
      service.map((p) => [p.latency, p.latencyP90, p.latencyP99]),
      [
        [0.012, 0.02, 0.05],
        [undefined, undefined, undefined],
      ],
    );
    assert.deepEqual((await history.points({ targetGroupArn: tg }, 0)).points, [
      { at: 1_000_000, requests: 4, latency: 0.012, latencyP90: 0.02, latencyP99: 0.05 },
      { at: 1_060_000, requests: 0 },
    ]);
  });

  it("serves a restarted server what the last one wrote; a period written twice stays one", async () => {
    await store.destroy();
    store = await openSqliteStore(file);
    const again = new MetricsHistory(store);
    assert.deepEqual(
      (await again.points({ cluster: "c", service: "web" }, 0)).points.map((p) => p.cpu),
      [5, 15],
    );
    // Another server (a lease that changed hands) closing the same period adds nothing.
    assert.equal(await again.record(period(120_000, 77)), true);
    assert.deepEqual(
      (await again.points({ cluster: "c", service: "web" }, 0)).points.map((p) => p.cpu),
      [5, 15],
    );
  });

  it("forgets datapoints past their resolution's retention", async () => {
    await store.deleteFrom("metric_datapoints").execute();
    assert.equal(retentionMs(60_000), HISTORY_MS);
    assert.equal(retentionMs(1_000), 3 * 60 * 60 * 1000, "high resolution: CloudWatch's 3 h");
    const history = new MetricsHistory(store);
    await history.record(period(60_000, 1));
    await history.record(period(60_000 + HISTORY_MS + 1, 2));
    assert.deepEqual(
      (await history.points({ cluster: "c", service: "web" }, 0)).points.map((p) => p.cpu),
      [2],
    );
    const fine = new MetricsHistory(store);
    const start = 10 * HISTORY_MS;
    await fine.record(period(start, 3, 1_000));
    await fine.record(period(start + retentionMs(1_000) + 1, 4, 1_000));
    const rows = await store
      .selectFrom("metric_datapoints")
      .select("cpu")
      .where("series_key", "=", "service:c/web")
      .orderBy("at")
      .execute();
    assert.deepEqual(
      rows.map((r) => r.cpu),
      [4],
    );
  });
});
