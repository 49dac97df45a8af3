// Task addresses across hosts (issue 15, items 1 and 6): over 200 tasks started and stopped on
// three test hosts, in five rounds of 40 (the hosts' room at 0.25 vCPU each), no address is
// handed out twice at once, and each host hands out addresses only inside the one subnet the
// server gave it. Its own file, as it takes minutes: the file budget is 10.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { addressOf, ThreeHosts, ZONES } from "./cluster-hosts.js";

let net: ThreeHosts;

before(async () => {
  net = await ThreeHosts.start();
});
after(async () => {
  await net?.close();
});

describe("addresses across hosts", () => {
  it("are unique over 200 tasks started and stopped on 3 hosts", async () => {
    const definition = await net.register(
      "many",
      "trap 'exit 0' TERM; while true; do sleep 1; done",
      "256",
    );
    // Each host is in its own Availability Zone, so a task's zone names its host.
    const perZoneSubnet = new Map<string, string>();
    let started = 0;
    for (let round = 0; round < 5; round++) {
      const tasks = (
        await Promise.all([10, 10, 10, 10].map((n) => net.runTasks("default", definition, n)))
      ).flat();
      started += tasks.length;
      const addresses = tasks.map(addressOf);
      assert.equal(new Set(addresses).size, 40, `round ${round}: ${addresses.join(" ")}`);
      for (const task of tasks) {
        const zone = task.availabilityZone ?? assert.fail("a task without its zone");
        const prefix = addressOf(task).split(".").slice(0, 3).join(".");
        const known = perZoneSubnet.get(zone) ?? prefix;
        assert.equal(prefix, known, `the host in ${zone} hands out ${addressOf(task)}`);
        perZoneSubnet.set(zone, known);
      }
      await net.stopAll("default", tasks);
    }
    assert.equal(started, 200);
    assert.deepEqual([...perZoneSubnet.keys()].sort(), ZONES, "tasks on all three hosts");
    assert.equal(new Set(perZoneSubnet.values()).size, 3, "three distinct subnets");
  });
});
