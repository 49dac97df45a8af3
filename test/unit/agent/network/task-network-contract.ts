/**
 * What every TaskNetwork does (the CNI one on a real host, and the fake unit tests use): each
 * task its own address in its cluster's subnet, the same address again for a task already
 * attached (an agent restart), released at detach, and detach safe to repeat.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TaskNetwork } from "../../../../src/agent/network/index.js";

export interface NetworkFixture {
  network: TaskNetwork;
  /** A network namespace for the task (the sandbox's, in real life). */
  netns(taskId: string): Promise<string>;
  close(): Promise<void>;
}

const CLUSTER = "arn:aws:ecs:us-east-1:000000000000:cluster/contract";

function inSubnet(address: string, subnet: string): boolean {
  const [base, prefix] = subnet.split("/");
  const toNumber = (ip: string): number =>
    ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
  const size = 2 ** (32 - Number(prefix));
  const start = toNumber(base ?? "");
  return toNumber(address) >= start && toNumber(address) < start + size;
}

export function runTaskNetworkContract(name: string, setup: () => Promise<NetworkFixture>): void {
  describe(`TaskNetwork contract: ${name}`, () => {
    let fixture: NetworkFixture;
    before(async () => {
      fixture = await setup();
    });
    after(async () => {
      await fixture.close();
    });

    const target = async (taskId: string) => ({
      taskId,
      clusterArn: CLUSTER,
      netnsPath: await fixture.netns(taskId),
    });

    it("gives a task an address in its cluster's subnet, and the same one when asked again", async () => {
      const t = await target("contract-a");
      const gateway = await fixture.network.gateway(CLUSTER);
      const address = await fixture.network.attach(t);
      assert.equal(address.gateway, gateway);
      assert.ok(inSubnet(address.privateIPv4Address, address.subnet), JSON.stringify(address));
      assert.ok(inSubnet(address.gateway, address.subnet));
      assert.notEqual(address.privateIPv4Address, address.gateway);
      assert.match(address.macAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      assert.deepEqual(await fixture.network.attach(t), address);
      assert.deepEqual(
        (await fixture.network.attached()).find((a) => a.taskId === "contract-a"),
        { taskId: "contract-a", clusterArn: CLUSTER, address },
      );
      await fixture.network.detach(t);
    });

    it("never gives two attached tasks one address", async () => {
      const [a, b] = [await target("contract-b"), await target("contract-c")];
      const [x, y] = await Promise.all([fixture.network.attach(a), fixture.network.attach(b)]);
      assert.notEqual(x.privateIPv4Address, y.privateIPv4Address);
      assert.equal(x.subnet, y.subnet);
      await fixture.network.detach(a);
      await fixture.network.detach(b);
    });

    it("releases at detach, which is safe to repeat and for a task never attached", async () => {
      const t = await target("contract-d");
      await fixture.network.attach(t);
      await fixture.network.detach(t);
      await fixture.network.detach(t);
      await fixture.network.detach(await target("contract-never"));
      const left = await fixture.network.attached();
      assert.equal(
        left.some((a) => a.taskId === "contract-d"),
        false,
      );
    });
  });
}
