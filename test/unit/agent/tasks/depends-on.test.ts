/** ECS's dependsOn rules: when a container may start, when it never can, and the stop order. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ContainerState } from "../../../../src/protocol/index.js";
import { dependencyOrder, dependencyVerdict } from "../../../../src/agent/tasks/depends-on.js";

type Condition = "START" | "COMPLETE" | "SUCCESS" | "HEALTHY";

function verdict(condition: Condition, target: Partial<ContainerState>): string {
  const state: ContainerState = { name: "db", lastStatus: "PENDING", ...target };
  return dependencyVerdict(
    { name: "app", dependsOn: [{ containerName: "db", condition }] },
    () => state,
  );
}

describe("dependsOn", () => {
  it("START waits until the dependency has started", () => {
    assert.equal(verdict("START", { lastStatus: "PENDING" }), "wait");
    assert.equal(verdict("START", { lastStatus: "RUNNING" }), "ready");
    assert.equal(verdict("START", { lastStatus: "STOPPED", exitCode: 1 }), "ready");
  });

  it("COMPLETE waits for the dependency's exit, whatever its code", () => {
    assert.equal(verdict("COMPLETE", { lastStatus: "RUNNING" }), "wait");
    assert.equal(verdict("COMPLETE", { lastStatus: "STOPPED", exitCode: 3 }), "ready");
  });

  it("SUCCESS needs exit code 0; another code can never be met", () => {
    assert.equal(verdict("SUCCESS", { lastStatus: "RUNNING" }), "wait");
    assert.equal(verdict("SUCCESS", { lastStatus: "STOPPED", exitCode: 0 }), "ready");
    assert.equal(
      verdict("SUCCESS", { lastStatus: "STOPPED", exitCode: 2 }),
      "dependency container db exited with code 2; app needs SUCCESS",
    );
  });

  it("HEALTHY waits for HEALTHY; a dependency that stopped first can never be", () => {
    assert.equal(verdict("HEALTHY", { lastStatus: "RUNNING", healthStatus: "UNKNOWN" }), "wait");
    assert.equal(verdict("HEALTHY", { lastStatus: "RUNNING", healthStatus: "UNHEALTHY" }), "wait");
    assert.equal(verdict("HEALTHY", { lastStatus: "RUNNING", healthStatus: "HEALTHY" }), "ready");
    assert.equal(
      verdict("HEALTHY", { lastStatus: "STOPPED", exitCode: 0 }),
      "dependency container db stopped before it was healthy",
    );
  });

  it("orders every container after what it depends on", () => {
    const c = (name: string, ...on: string[]) => ({
      name,
      dependsOn: on.map((containerName) => ({ containerName, condition: "START" as const })),
    });
    const order = dependencyOrder([c("web", "proxy", "db"), c("proxy", "db"), c("db")]).map(
      (x) => x.name,
    );
    assert.deepEqual(order, ["db", "proxy", "web"]);
  });
});
