/**
 * A flood of idle connections at the task metadata endpoint (issue 12, item 5): one address's
 * connections past its share are closed at once, and the task itself is still answered. The
 * limits are the endpoint's own defaults; what is asserted is connections closed and answers.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { silentLogger } from "../../../../src/core/index.js";
import {
  metadataConnectionLimits,
  metadataPort,
  TaskMetadataServer,
} from "../../../../src/agent/metadata/index.js";
import type { TaskRecord } from "../../../../src/agent/tasks/task-run.js";
import { floodPastLimit, type Flood } from "../../../../src/testing/index.js";
import { containerAssignment, taskAssignment } from "../../protocol/assignments.js";
import { FakeContainerRuntime } from "../runtime/fake-runtime.js";

const dataDir = mkdtempSync(join(tmpdir(), "berth-metadata-flood-"));
const floods: Flood[] = [];
const record: TaskRecord = {
  assignment: taskAssignment({
    taskId: "flood",
    containers: [containerAssignment({ command: ["true"] })],
  }),
  state: {
    taskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/flood",
    lastStatus: "RUNNING",
    containers: [{ name: "app", lastStatus: "RUNNING" }],
    // The task's own address is loopback here; the attacker is another loopback address.
    network: {
      privateIPv4Address: "127.0.0.1",
      gateway: "127.0.0.1",
      subnet: "127.0.0.0/8",
      macAddress: "02:00:00:00:00:01",
    },
  },
};
const server = new TaskMetadataServer({
  dataDir,
  availabilityZone: "us-east-1a",
  runtime: new FakeContainerRuntime({ dataDir }),
  tasks: { records: () => [record] },
  log: silentLogger,
});
after(async () => {
  for (const flood of floods) flood.end();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("task metadata endpoint under a connection flood", () => {
  it("closes one address's surplus of idle connections and still answers the task", async () => {
    await server.listen("127.0.0.1");
    const port = await metadataPort(dataDir);
    floods.push(await floodPastLimit(port, metadataConnectionLimits().perAddress));
    // The flood's connections stay open (idle, within the header timeout): the task is answered.
    const response = await fetch(`http://127.0.0.1:${port}/v4/flood-0/task`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { TaskARN?: string };
    assert.equal(body.TaskARN, record.assignment.taskArn);
  });
});
