/** Container health as Docker and ECS judge it, and the task's roll-up. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { afterCheck, taskHealth } from "../../../../src/agent/tasks/health-check.js";

const check = { retries: 3, startPeriod: 10 };

describe("health checks", () => {
  it("a pass is HEALTHY at once and clears the failures", () => {
    assert.deepEqual(afterCheck({ status: "UNKNOWN", failures: 2 }, check, 0, 0), {
      status: "HEALTHY",
      failures: 0,
    });
  });

  it("failures in the start period do not count", () => {
    const start = { status: "UNKNOWN" as const, failures: 0 };
    assert.deepEqual(afterCheck(start, check, 1, 9_999), start);
  });

  it("UNHEALTHY after `retries` failures in a row, not before", () => {
    let progress = { status: "HEALTHY" as "HEALTHY" | "UNHEALTHY" | "UNKNOWN", failures: 0 };
    progress = afterCheck(progress, check, 1, 10_000);
    progress = afterCheck(progress, check, 124, 11_000);
    assert.deepEqual(progress, { status: "HEALTHY", failures: 2 });
    progress = afterCheck(progress, check, 1, 12_000);
    assert.deepEqual(progress, { status: "UNHEALTHY", failures: 3 });
  });

  it("the task's health rolls up from its essential, checked containers", () => {
    const c = (
      essential: boolean,
      checked: boolean,
      status?: "HEALTHY" | "UNHEALTHY" | "UNKNOWN",
    ) => ({
      essential,
      checked,
      status,
    });
    assert.equal(taskHealth([c(true, false)]), undefined);
    assert.equal(taskHealth([c(false, true, "UNHEALTHY")]), undefined);
    assert.equal(taskHealth([c(true, true, "HEALTHY"), c(true, true, "HEALTHY")]), "HEALTHY");
    assert.equal(taskHealth([c(true, true, "HEALTHY"), c(true, true, "UNKNOWN")]), "UNKNOWN");
    assert.equal(taskHealth([c(true, true, "UNKNOWN"), c(true, true, "UNHEALTHY")]), "UNHEALTHY");
    // A non-essential container's sickness does not make the task unhealthy.
    assert.equal(taskHealth([c(true, true, "HEALTHY"), c(false, true, "UNHEALTHY")]), "HEALTHY");
  });
});
