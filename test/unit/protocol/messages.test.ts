import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAgentMessage, parseServerMessage, statusRank } from "../../../src/protocol/index.js";
import { containerAssignment, taskAssignment } from "./assignments.js";

describe("protocol messages", () => {
  it("parses valid messages and refuses anything else", () => {
    assert.deepEqual(parseAgentMessage('{"type":"heartbeat"}'), { type: "heartbeat" });
    assert.equal(parseAgentMessage("not json"), undefined);
    assert.equal(parseAgentMessage('{"type":"report","seq":-1}'), undefined);
    assert.equal(parseAgentMessage('{"type":"launch-missiles"}'), undefined);
    assert.equal(
      parseAgentMessage(
        JSON.stringify({
          type: "report",
          seq: 1,
          state: { taskArn: "a", lastStatus: "FLYING", containers: [] },
        }),
      ),
      undefined,
    );
    assert.deepEqual(parseServerMessage('{"type":"ack","seq":4}'), { type: "ack", seq: 4 });
    assert.equal(parseServerMessage('{"type":"sync","tasks":[{"taskArn":1}]}'), undefined);
  });

  it("reads assignments persisted before task storage, and checks the new fields", () => {
    const container = containerAssignment({ image: "img" });
    const task = taskAssignment({
      taskArn: "arn",
      taskId: "id",
      clusterArn: "c",
      family: "f",
      containers: [container],
    });
    const sync = (t: unknown): unknown =>
      parseServerMessage(JSON.stringify({ type: "sync", tasks: [t] }));
    assert.ok(sync(task) !== undefined, "no ephemeralStorageGiB, no mountPoints");
    const mountPoints = [{ sourceVolume: "v", containerPath: "/v", readOnly: true }];
    assert.ok(
      sync({ ...task, ephemeralStorageGiB: 30, containers: [{ ...container, mountPoints }] }) !==
        undefined,
    );
    assert.equal(sync({ ...task, ephemeralStorageGiB: -1 }), undefined);
    assert.equal(
      sync({ ...task, containers: [{ ...container, mountPoints: [{ sourceVolume: "v" }] }] }),
      undefined,
    );
  });

  it("orders the ECS lifecycle", () => {
    const order = [
      "PROVISIONING",
      "PENDING",
      "ACTIVATING",
      "RUNNING",
      "DEACTIVATING",
      "STOPPING",
      "DEPROVISIONING",
      "STOPPED",
    ];
    for (let i = 1; i < order.length; i++)
      assert.ok(statusRank(order[i] ?? "") > statusRank(order[i - 1] ?? ""));
    assert.equal(statusRank("NONSENSE"), -1);
  });

  it("carries task usage, and a welcome with or without the usage interval (older servers)", () => {
    const usage = {
      type: "usage",
      at: 1000,
      tasks: [{ taskArn: "a", cpuNanos: 5e9, memoryBytes: 1048576 }],
    };
    assert.deepEqual(parseAgentMessage(JSON.stringify(usage)), usage);
    assert.equal(
      parseAgentMessage(
        JSON.stringify({ ...usage, tasks: [{ taskArn: "a", cpuNanos: -1, memoryBytes: 0 }] }),
      ),
      undefined,
    );
    assert.deepEqual(parseServerMessage('{"type":"welcome","hostId":"h","lastSeq":3}'), {
      type: "welcome",
      hostId: "h",
      lastSeq: 3,
    });
    assert.equal(
      parseServerMessage('{"type":"welcome","hostId":"h","lastSeq":3,"usageIntervalMs":250}')?.type,
      "welcome",
    );
  });
});
