import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseHost, type HostRoom } from "../../../src/control/index.js";

const room = (hostId: string, freeCpu: number, freeMemory: number): HostRoom => ({
  hostId,
  availabilityZone: "us-east-1a",
  capacityProviders: ["FARGATE"],
  freeCpu,
  freeMemory,
});

describe("placement", () => {
  it("puts a task where it fits, preferring the host with the most free memory", () => {
    const choice = chooseHost(
      [room("a", 1024, 2048), room("b", 2048, 8192), room("c", 256, 16384)],
      512,
      1024,
    );
    assert.equal(typeof choice === "string" ? choice : choice.hostId, "b");
  });

  it("fits exactly", () => {
    const choice = chooseHost([room("a", 256, 512)], 256, 512);
    assert.equal(typeof choice === "string" ? choice : choice.hostId, "a");
  });

  it("breaks exact ties at random, so servers choosing at once spread out", () => {
    const rooms = [room("a", 1024, 2048), room("b", 1024, 2048), room("c", 1024, 2048)];
    const pick = (...draws: number[]) => {
      const random = () => draws.shift() ?? 0;
      const choice = chooseHost(rooms, 256, 512, undefined, "FARGATE", 0, random);
      return typeof choice === "string" ? choice : choice.hostId;
    };
    // The second of k equals replaces the one kept with chance 1/2, the third with 1/3.
    assert.equal(pick(0.9, 0.9), "a");
    assert.equal(pick(0.4, 0.9), "b");
    assert.equal(pick(0.9, 0.3), "c");
    // Never a worse host, whatever the draw.
    rooms.push(room("d", 1024, 4096));
    assert.equal(pick(0), "d");
  });

  it("says which resource is short when nothing fits", () => {
    assert.equal(chooseHost([room("a", 4096, 256)], 256, 512), "RESOURCE:MEMORY");
    assert.equal(chooseHost([room("a", 128, 8192)], 256, 512), "RESOURCE:CPU");
    assert.equal(chooseHost([], 256, 512), "RESOURCE:CPU");
  });
});

describe("placement of a group's tasks", () => {
  const zoned = (hostId: string, az: string): HostRoom => ({
    hostId,
    availabilityZone: az,
    capacityProviders: ["FARGATE"],
    freeCpu: 4096,
    freeMemory: 8192,
  });

  it("spreads across availability zones first, then hosts", () => {
    const rooms = [zoned("a1", "us-east-1a"), zoned("a2", "us-east-1a"), zoned("b1", "us-east-1b")];
    const load = new Map([["a1", 1]]);
    const choice = chooseHost(rooms, 256, 512, load);
    assert.equal(typeof choice === "string" ? choice : choice.hostId, "b1");
    const next = chooseHost(
      rooms,
      256,
      512,
      new Map([
        ["a1", 1],
        ["b1", 1],
      ]),
    );
    assert.equal(typeof next === "string" ? next : next.hostId, "a2");
  });
});

describe("placement by capacity provider", () => {
  it("puts Spot tasks only on hosts that offer Spot", () => {
    const rooms: HostRoom[] = [
      {
        hostId: "od",
        availabilityZone: "a",
        capacityProviders: ["FARGATE"],
        freeCpu: 8192,
        freeMemory: 16384,
      },
      {
        hostId: "spot",
        availabilityZone: "a",
        capacityProviders: ["FARGATE_SPOT"],
        freeCpu: 1024,
        freeMemory: 2048,
      },
    ];
    const spot = chooseHost(rooms, 256, 512, undefined, "FARGATE_SPOT");
    assert.equal(typeof spot === "string" ? spot : spot.hostId, "spot");
    const onDemand = chooseHost(rooms, 256, 512, undefined, "FARGATE");
    assert.equal(typeof onDemand === "string" ? onDemand : onDemand.hostId, "od");
    assert.equal(chooseHost(rooms, 2048, 512, undefined, "FARGATE_SPOT"), "RESOURCE:CPU");
  });
});
