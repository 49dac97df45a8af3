// The console's chart data: a period is kept once, per service and per task, for a day.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HISTORY_MS, MetricsHistory, type MetricsPeriod } from "../../../src/console/index.js";

const period = (at: number, cpu: number): MetricsPeriod => ({
  at,
  periodMs: 60_000,
  tasks: [{ taskArn: "arn:t1", cpuUtilization: cpu, memoryUtilization: 10 }],
  services: [
    { cluster: "c", service: "web", runningCount: 2, cpuUtilization: cpu, requestCount: 7 },
  ],
});

describe("console metrics history", () => {
  it("keeps each period once, per service and per task", () => {
    const history = new MetricsHistory();
    assert.equal(history.record(undefined), false);
    assert.equal(history.record(period(60_000, 5)), true);
    assert.equal(history.record(period(60_000, 99)), false, "the same period again");
    assert.equal(history.record(period(120_000, 15)), true);
    assert.deepEqual(history.points({ cluster: "c", service: "web" }, 0).points, [
      { at: 60_000, running: 2, cpu: 5, requests: 7 },
      { at: 120_000, running: 2, cpu: 15, requests: 7 },
    ]);
    assert.deepEqual(history.points({ taskArn: "arn:t1" }, 100_000).points, [
      { at: 120_000, cpu: 15, memory: 10 },
    ]);
    assert.deepEqual(history.points({ cluster: "c", service: "other" }, 0).points, []);
  });

  it("forgets what is older than a day", () => {
    const history = new MetricsHistory();
    history.record(period(60_000, 1));
    history.record(period(60_000 + HISTORY_MS + 1, 2));
    assert.deepEqual(
      history.points({ cluster: "c", service: "web" }, 0).points.map((p) => p.cpu),
      [2],
    );
  });
});
