/** The task's ENI attachment and its containers' interfaces, from PRECREATED to DELETED. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Task } from "@aws-sdk/client-ecs";
import { applyNetworkState, precreatedAttachment } from "../../../src/control/index.js";
import type { TaskState } from "../../../src/protocol/index.js";

const clusterArn = "arn:aws:ecs:eu-west-1:000000000000:cluster/demo";
const taskArn = "arn:aws:ecs:eu-west-1:000000000000:task/demo/abc";
const network = {
  privateIPv4Address: "100.64.0.7",
  macAddress: "0a:11:22:33:44:55",
  subnet: "100.64.0.0/24",
  gateway: "100.64.0.1",
};

function newTask(): Task {
  return {
    taskArn,
    clusterArn,
    attachments: [
      precreatedAttachment(clusterArn, { awsvpcConfiguration: { subnets: ["subnet-1234"] } }),
    ],
    containers: [
      { name: "app", networkInterfaces: [] },
      { name: "side", networkInterfaces: [] },
    ],
  };
}

function state(lastStatus: TaskState["lastStatus"], withNetwork: boolean): TaskState {
  return { taskArn, lastStatus, containers: [], ...(withNetwork ? { network } : {}) };
}

describe("task ENI attachments", () => {
  it("starts PRECREATED with the first subnet given, or a stable one per cluster", () => {
    const task = newTask();
    assert.equal(task.attachments?.[0]?.type, "ElasticNetworkInterface");
    assert.equal(task.attachments?.[0]?.status, "PRECREATED");
    assert.deepEqual(task.attachments?.[0]?.details, [{ name: "subnetId", value: "subnet-1234" }]);
    const a = precreatedAttachment(clusterArn, undefined).details?.[0]?.value;
    const b = precreatedAttachment(clusterArn, undefined).details?.[0]?.value;
    assert.match(a ?? "", /^subnet-[0-9a-f]{17}$/);
    assert.equal(a, b);
  });

  it("is ATTACHED with ECS's details and every container's interface once the address is known", () => {
    const task = newTask();
    applyNetworkState(task, state("RUNNING", true));
    const eni = task.attachments?.[0];
    assert.equal(eni?.status, "ATTACHED");
    const details: Record<string, string | undefined> = Object.fromEntries(
      (eni?.details ?? []).map((d) => [d.name ?? "", d.value]),
    );
    assert.equal(details.subnetId, "subnet-1234");
    assert.match(details.networkInterfaceId ?? "", /^eni-[0-9a-f]{17}$/);
    assert.equal(details.macAddress, "0a:11:22:33:44:55");
    assert.equal(details.privateDnsName, "ip-100-64-0-7.eu-west-1.compute.internal");
    assert.equal(details.privateIPv4Address, "100.64.0.7");
    for (const container of task.containers ?? [])
      assert.deepEqual(container.networkInterfaces, [
        { attachmentId: eni?.id, privateIpv4Address: "100.64.0.7" },
      ]);
  });

  it("stays PRECREATED without an address, is DETACHING while deprovisioned and DELETED once stopped", () => {
    const task = newTask();
    applyNetworkState(task, state("PENDING", false));
    assert.equal(task.attachments?.[0]?.status, "PRECREATED");
    applyNetworkState(task, state("DEPROVISIONING", true));
    assert.equal(task.attachments?.[0]?.status, "DETACHING");
    applyNetworkState(task, state("STOPPED", true));
    assert.equal(task.attachments?.[0]?.status, "DELETED");
    assert.equal(task.containers?.[0]?.networkInterfaces?.[0]?.privateIpv4Address, "100.64.0.7");
  });

  it("adds the attachment to a task stored before task networking", () => {
    const task: Task = { taskArn, clusterArn, containers: [{ name: "app" }] };
    applyNetworkState(task, state("RUNNING", true));
    assert.equal(task.attachments?.length, 1);
    assert.equal(task.attachments?.[0]?.status, "ATTACHED");
  });
});
