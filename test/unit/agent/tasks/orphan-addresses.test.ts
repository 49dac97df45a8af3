/** A restarted agent releases addresses of tasks it no longer runs, and only those. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { TaskHost } from "../../../../src/agent/index.js";
import { TaskManager } from "../../../../src/agent/tasks/task-manager.js";
import { silentLogger } from "../../../../src/core/index.js";
import { FakeTaskNetwork } from "../network/fake-network.js";

const CLUSTER = "arn:aws:ecs:us-east-1:000000000000:cluster/default";

describe("orphan task addresses", () => {
  it("are released at adoption; a stopped task's too, an unreadable record's kept", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "berth-orphans-"));
    try {
      const network = new FakeTaskNetwork();
      for (const taskId of ["ghost", "stopped", "corrupt"])
        await network.attach({ taskId, clusterArn: CLUSTER, netnsPath: "" });
      mkdirSync(join(dataDir, "tasks"));
      const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/default/stopped`;
      writeFileSync(
        join(dataDir, "tasks", "stopped.json"),
        JSON.stringify({
          assignment: { taskArn, taskId: "stopped", clusterArn: CLUSTER, containers: [] },
          state: { taskArn, lastStatus: "STOPPED", containers: [] },
        }),
      );
      writeFileSync(join(dataDir, "tasks", "corrupt.json"), "{ not json");
      // Adopting a STOPPED task touches neither runtime nor images.
      const host = { network } as unknown as TaskHost;
      const manager = new TaskManager({
        dataDir,
        host,
        log: silentLogger,
        report: () => undefined,
        progress: () => undefined,
      });
      await manager.adoptAll();
      assert.deepEqual(
        (await network.attached()).map((a) => a.taskId),
        ["corrupt"],
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
