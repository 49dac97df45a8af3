/** A cluster bridge's own forwarding and NAT rules, as iptables-restore input. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  clusterForwardChain,
  forwardRules,
  masqueradeRules,
} from "../../../../src/agent/network/cluster-firewall.js";

const spec = { key: "0123abcdef", bridge: "bth0123abcdef", subnet: "100.64.3.0/24" };

describe("cluster firewall", () => {
  it("passes the bridge's own traffic, drops any other Berth bridge's, jumps both ways", () => {
    assert.equal(clusterForwardChain(spec.key), "BERTH-FWD-0123abcdef");
    assert.equal(
      forwardRules(spec, true),
      [
        "*filter",
        ":BERTH-FWD-0123abcdef - [0:0]",
        "-A BERTH-FWD-0123abcdef -i bth0123abcdef -o bth0123abcdef -j ACCEPT",
        "-A BERTH-FWD-0123abcdef -i bth+ -o bth+ -j DROP",
        "-A BERTH-FWD-0123abcdef -i bth0123abcdef -j ACCEPT",
        "-A BERTH-FWD-0123abcdef -o bth0123abcdef -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-I FORWARD 1 -i bth0123abcdef -j BERTH-FWD-0123abcdef",
        "-I FORWARD 1 -o bth0123abcdef -j BERTH-FWD-0123abcdef",
        "COMMIT",
        "",
      ].join("\n"),
    );
    assert.ok(!forwardRules(spec, false).includes("FORWARD 1"));
  });

  it("masquerades the whole subnet once, except within the bridge and to multicast", () => {
    assert.match(
      masqueradeRules(spec),
      /^\*nat\n-A POSTROUTING -s 100\.64\.3\.0\/24 ! -o bth0123abcdef ! -d 224\.0\.0\.0\/4 -m comment --comment berth-masq-0123abcdef -j MASQUERADE\nCOMMIT\n$/,
    );
  });
});
