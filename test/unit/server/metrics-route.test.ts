// `/metrics` rendering: Prometheus text with HELP/TYPE per family, escaped label values, and
// no sample where there is no datapoint.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderMetrics } from "../../../src/server/index.js";

describe("renderMetrics", () => {
  it("writes the period alone before the first datapoints", () => {
    assert.equal(
      renderMetrics(undefined, 60_000),
      "# HELP berth_metric_period_seconds Length of one metric period.\n" +
        "# TYPE berth_metric_period_seconds gauge\n" +
        "berth_metric_period_seconds 60\n",
    );
  });

  it("writes tasks, services and target groups, escaping labels and skipping missing values", () => {
    const text = renderMetrics(
      {
        at: 1000,
        periodMs: 1000,
        tasks: [
          {
            taskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/abc",
            cluster: 'we"ird\\',
            service: "web",
            lastStatus: "RUNNING",
            cpu: 256,
            memory: 512,
            cpuUtilization: 12.5,
            containers: [{ name: "app", cpuUnits: 32, memoryMiB: 10.5 }],
          },
        ],
        services: [
          {
            cluster: "default",
            service: "web",
            desiredCount: 2,
            runningCount: 1,
            pendingCount: 1,
            requestCount: 30,
            requestCountPerTarget: 30,
          },
        ],
        targetGroups: new Map([["arn:tg", { total: 90, inPeriod: 30, targets: 1 }]]),
      },
      1000,
    );
    assert.match(
      text,
      /^berth_task_cpu_utilization_percent\{cluster="we\\"ird\\\\",service="web",task="abc"\} 12\.5$/m,
    );
    assert.doesNotMatch(text, /^berth_task_memory_utilization_percent\{/m);
    assert.match(
      text,
      /^berth_container_cpu_units\{cluster="we\\"ird\\\\",service="web",task="abc",container="app"\} 32$/m,
    );
    assert.match(text, /^berth_container_memory_mib\{.*container="app"\} 10\.5$/m);
    assert.doesNotMatch(text, /^berth_service_cpu_utilization_percent\{/m);
    assert.match(text, /^berth_service_desired_tasks\{cluster="default",service="web"\} 2$/m);
    assert.match(
      text,
      /^berth_service_request_count_per_target\{cluster="default",service="web"\} 30$/m,
    );
    assert.match(text, /^# TYPE berth_target_group_requests_total counter$/m);
    assert.match(text, /^berth_target_group_requests_total\{target_group="arn:tg"\} 90$/m);
    for (const line of text.trimEnd().split("\n"))
      assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? -?[\d.e+]+)$/);
  });
});
