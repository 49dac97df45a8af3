/** The dispatcher tells a cluster's hosts of a new subnet, and only of a new one. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AssignmentRelay } from "../../../src/control/index.js";
import { defaultAddressSpace } from "../../../src/control/task-subnets.js";
import { silentLogger } from "../../../src/core/index.js";
import type { ServerMessage } from "../../../src/protocol/index.js";
import { HostDispatcher } from "../../../src/server/host-dispatcher.js";
import { taskAssignment } from "../protocol/assignments.js";

describe("the host dispatcher", () => {
  it("kicks the cluster networks for a subnet it has not placed in before, not for every task", async () => {
    const delivered: string[] = [];
    let kicks = 0;
    const relay = {
      deliver: (hostId: string, message: ServerMessage) => {
        if (message.type === "assign") delivered.push(`${hostId} ${message.task.taskId}`);
      },
    } as unknown as AssignmentRelay;
    const dispatcher = new HostDispatcher({
      relay,
      registry: { resolve: () => Promise.reject(new Error("not ours")) },
      registryHosts: () => [],
      clusterNetworks: {
        kickSoon: () => {
          kicks++;
        },
      },
      addresses: defaultAddressSpace,
      log: silentLogger,
    });
    const place = (taskId: string, hostId: string, cluster: string, subnet: string) =>
      dispatcher.assign(
        hostId,
        taskAssignment({
          taskId,
          clusterArn: `arn:aws:ecs:us-east-1:000000000000:cluster/${cluster}`,
          subnet,
        }),
      );
    place("t1", "h1", "c1", "100.64.0.0/24");
    assert.equal(kicks, 1, "a new subnet: its peers hear of it now");
    place("t2", "h1", "c1", "100.64.0.0/24");
    place("t3", "h1", "c1", "100.64.0.0/24");
    assert.equal(kicks, 1, "the same subnet again: nothing new to tell");
    place("t4", "h2", "c1", "100.64.1.0/24");
    place("t5", "h1", "c2", "100.64.64.0/24");
    assert.equal(kicks, 3);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(delivered, ["h1 t1", "h1 t2", "h1 t3", "h2 t4", "h1 t5"]);
  });

  it("remembers a bounded number of subnets: past the bound it starts again, kicking once more", () => {
    let kicks = 0;
    const dispatcher = new HostDispatcher({
      relay: { deliver: () => undefined } as unknown as AssignmentRelay,
      registry: { resolve: () => Promise.reject(new Error("not ours")) },
      registryHosts: () => [],
      clusterNetworks: { kickSoon: () => void kicks++ },
      addresses: defaultAddressSpace,
      log: silentLogger,
      rememberedSubnets: 3,
    });
    const place = (hostId: string) =>
      dispatcher.assign(
        hostId,
        taskAssignment({
          taskId: `t-${hostId}`,
          clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/c1",
          subnet: `100.64.${hostId.slice(1)}.0/24`,
        }),
      );
    for (const host of ["h1", "h2", "h3", "h1", "h2", "h3"]) place(host);
    assert.equal(kicks, 3, "three subnets, each told of once");
    place("h4");
    assert.equal(kicks, 4, "a fourth: the set starts again with it");
    place("h4");
    place("h1");
    assert.equal(kicks, 5, "h1's was forgotten: told of once more, h4's was not");
  });
});
