/**
 * ELB targets stay inside the task subnets (issue 12, item 11): a tenant cannot point the load
 * balancer's proxy, which runs on the host, at the cloud metadata address, loopback, 0.0.0.0,
 * broadcast or the host's other private networks. Explicitly listed ranges are the exception.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { startBerthInProcess, type TestBerth } from "../../../../src/testing/index.js";
import { TargetRanges } from "../../../../src/services/elbv2/target-ranges.js";

let berth: TestBerth;
let elb: ElasticLoadBalancingV2Client;
let groupArn = "";

before(async () => {
  berth = await startBerthInProcess({ elbTargetCidrs: ["127.0.0.1/32"] });
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
  const { TargetGroups = [] } = await elb.send(
    new CreateTargetGroupCommand({
      Name: "tg",
      Protocol: "HTTP",
      Port: 80,
      TargetType: "ip",
      VpcId: "vpc-1",
    }),
  );
  groupArn = TargetGroups[0]?.TargetGroupArn ?? "";
});
after(async () => {
  elb.destroy();
  await berth.stop();
});

async function registered(): Promise<string[]> {
  const { TargetHealthDescriptions = [] } = await elb.send(
    new DescribeTargetHealthCommand({ TargetGroupArn: groupArn }),
  );
  return TargetHealthDescriptions.map((d) => d.Target?.Id ?? "").sort();
}

describe("RegisterTargets", () => {
  for (const id of [
    "169.254.169.254",
    "0.0.0.0",
    "255.255.255.255",
    "127.0.0.2",
    "10.0.0.5",
    "192.168.1.1",
    "172.17.0.1",
    "100.64.0.0",
    "100.127.255.255",
    "8.8.8.8",
  ])
    it(`refuses ${id} with InvalidTarget and registers nothing`, async () => {
      await assert.rejects(
        elb.send(new RegisterTargetsCommand({ TargetGroupArn: groupArn, Targets: [{ Id: id }] })),
        (error: { name: string; message: string }) => {
          // The wire code is the model's InvalidTarget; the SDK names its class after the shape.
          assert.equal(error.name, "InvalidTargetException");
          assert.ok(error.message.includes(`'${id}'`), error.message);
          return true;
        },
      );
      assert.equal((await registered()).includes(id), false);
    });

  it("refuses the whole call when one target is outside, and takes task addresses and listed ranges", async () => {
    await assert.rejects(
      elb.send(
        new RegisterTargetsCommand({
          TargetGroupArn: groupArn,
          Targets: [{ Id: "100.64.3.7" }, { Id: "169.254.169.254" }],
        }),
      ),
      { name: "InvalidTargetException" },
    );
    assert.deepEqual(await registered(), []);
    await elb.send(
      new RegisterTargetsCommand({
        TargetGroupArn: groupArn,
        Targets: [{ Id: "100.64.3.7" }, { Id: "127.0.0.1", Port: 8080 }],
      }),
    );
    assert.deepEqual(await registered(), ["100.64.3.7", "127.0.0.1"]);
  });
});

describe("TargetRanges", () => {
  it("follows the configured task CIDR and keeps out network and broadcast addresses", () => {
    const ranges = new TargetRanges(["10.20.0.0/16"]);
    assert.equal(ranges.allows("10.20.1.2"), true);
    assert.equal(ranges.allows("10.20.0.0"), false);
    assert.equal(ranges.allows("10.20.255.255"), false);
    assert.equal(ranges.allows("100.64.0.5"), false, "only the ranges given");
    assert.equal(new TargetRanges(["0.0.0.0/0"]).allows("169.254.169.254"), false);
    assert.throws(() => new TargetRanges(["nonsense"]));
  });
});
