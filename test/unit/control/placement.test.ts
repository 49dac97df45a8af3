import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseHost, chooseHosts, type HostRoom } from "../../../src/control/index.js";

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

describe("placement of several tasks at once", () => {
  it("chooses as chooseHost would, one task after another with each booked", () => {
    // Seeded scenarios without exact ties (each host's free memory distinct modulo the task's
    // memory), so one after another is one answer.
    let seed = 7;
    // mulberry32: a small seeded generator.
    const next = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    let compared = 0;
    for (let scenario = 0; scenario < 300; scenario++) {
      const rooms: HostRoom[] = Array.from({ length: 1 + next(40) }, (_, i) => ({
        hostId: `h${i}`,
        availabilityZone: `us-east-1${"abc"[next(3)]}`,
        capacityProviders: next(5) === 0 ? ["FARGATE_SPOT"] : ["FARGATE"],
        freeCpu: 256 * next(6),
        freeMemory: 512 * next(8) + i,
        ...(next(3) === 0 ? { freeStorageGiB: 20 * next(4) } : {}),
      }));
      const load = new Map(rooms.filter(() => next(3) === 0).map((r) => [r.hostId, next(4)]));
      const count = 1 + next(10);
      const storage = next(2) * 20;
      const copies = rooms.map((room) => ({ ...room }));
      const oneByOne: string[] = [];
      const booked = new Map(load);
      for (let i = 0; i < count; i++) {
        const choice = chooseHost(copies, 256, 512, booked, "FARGATE", storage);
        if (typeof choice === "string") break;
        oneByOne.push(choice.hostId);
        choice.freeCpu -= 256;
        choice.freeMemory -= 512;
        if (choice.freeStorageGiB !== undefined) choice.freeStorageGiB -= storage;
        booked.set(choice.hostId, (booked.get(choice.hostId) ?? 0) + 1);
      }
      const atOnce = chooseHosts(rooms, count, 256, 512, load, "FARGATE", storage);
      assert.deepEqual(
        atOnce.map((room) => room.hostId),
        oneByOne,
        `scenario ${scenario}`,
      );
      if (oneByOne.length > 1 && load.size > 0) compared++;
    }
    assert.ok(compared > 100, `${compared} scenarios placed several tasks of a group`);
  });

  it("among hosts alike, keeps those of the lowest draws, in their order", () => {
    const rooms = Array.from({ length: 1000 }, (_, i) => room(`h${i}`, 1024, 2048));
    // A fixed shuffle of draws: host i draws draws[i].
    const draws = rooms.map((_, i) => ((i * 7919) % 1000) / 1000);
    let at = 0;
    const random = (): number => draws[at++] ?? 1;
    const chosen = chooseHosts(rooms, 4, 256, 512, new Map(), "FARGATE", 0, random);
    const lowest = [...draws.keys()].sort((a, b) => (draws[a] ?? 0) - (draws[b] ?? 0));
    assert.deepEqual(
      chosen.map((r) => r.hostId),
      lowest.slice(0, 4).map((i) => `h${i}`),
    );
    assert.equal(at, 1000, "one draw per host");
  });

  it("breaks ties at random", () => {
    const rooms = Array.from({ length: 100 }, (_, i) => room(`h${i}`, 1024, 2048));
    const chosen = new Set<string>();
    for (let i = 0; i < 20; i++)
      for (const r of chooseHosts(rooms, 3, 256, 512)) chosen.add(r.hostId);
    assert.ok(chosen.size > 20, `${chosen.size} hosts chosen`);
  });
});
