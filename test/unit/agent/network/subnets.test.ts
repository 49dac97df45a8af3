/** Task CIDR checks, subnet arithmetic and iptables parsing. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkTaskCidr } from "../../../../src/agent/network/index.js";
import { splitRule, ruleValue } from "../../../../src/agent/network/iptables.js";
import {
  clusterSubnets,
  formatCidr,
  overlaps,
  parseCidr,
} from "../../../../src/agent/network/subnets.js";

describe("task CIDRs and cluster subnets", () => {
  it("accepts networks inside 100.64.0.0/10 down to a /29, and says what is wrong otherwise", () => {
    assert.equal(checkTaskCidr("100.64.0.0/10"), undefined);
    assert.equal(checkTaskCidr("100.100.8.0/29"), undefined);
    assert.match(checkTaskCidr("10.0.0.0/24") ?? "", /not inside 100.64.0.0\/10/);
    assert.match(checkTaskCidr("100.0.0.0/8") ?? "", /not inside/);
    assert.match(checkTaskCidr("100.64.0.0/30") ?? "", /too small/);
    assert.match(checkTaskCidr("100.64.0.1/24") ?? "", /not an IPv4 network/);
    assert.match(checkTaskCidr("100.64.0.0") ?? "", /not an IPv4 network/);
    assert.match(checkTaskCidr("100.64.300.0/24") ?? "", /not an IPv4 network/);
  });

  it("cuts a pool into /24s, or keeps a smaller pool whole", () => {
    const big = [...clusterSubnets(parseCidr("100.64.0.0/22") ?? assert.fail())].map(formatCidr);
    assert.deepEqual(big, ["100.64.0.0/24", "100.64.1.0/24", "100.64.2.0/24", "100.64.3.0/24"]);
    const small = [...clusterSubnets(parseCidr("100.99.0.8/29") ?? assert.fail())].map(formatCidr);
    assert.deepEqual(small, ["100.99.0.8/29"]);
  });

  it("knows when networks overlap", () => {
    const a = parseCidr("100.64.0.0/16") ?? assert.fail();
    assert.equal(overlaps(a, parseCidr("100.64.7.0/24") ?? assert.fail()), true);
    assert.equal(overlaps(a, parseCidr("100.65.0.0/24") ?? assert.fail()), false);
  });
});

describe("iptables rules", () => {
  it("splits `iptables -S` lines as the shell would, quotes and escapes included", () => {
    const rule = splitRule(
      '-A POSTROUTING -s 100.64.0.2/32 -m comment --comment "name: \\"berth-abc\\" id: \\"t1\\"" -j CNI-123',
    );
    assert.deepEqual(rule, [
      "-A",
      "POSTROUTING",
      "-s",
      "100.64.0.2/32",
      "-m",
      "comment",
      "--comment",
      'name: "berth-abc" id: "t1"',
      "-j",
      "CNI-123",
    ]);
    assert.equal(ruleValue(rule, "-j"), "CNI-123");
    assert.equal(ruleValue(rule, "-i"), undefined);
  });
});
