/** The host guard's rules: what a cluster's tasks may reach on the host, as iptables input. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  hostGuardChain,
  hostGuardRules,
  linkLocalRules,
} from "../../../../src/agent/network/host-guard.js";

const spec = {
  key: "0123abcdef",
  bridge: "bth0123abcdef",
  gateway: "100.64.3.1",
  tcpPorts: [4321],
};

describe("host guard", () => {
  it("leads 169.254.170.2:80 from the bridge to the metadata port on its own gateway", () => {
    assert.equal(
      linkLocalRules({ ...spec, linkLocalPort: 4321 }),
      [
        "*nat",
        "-A PREROUTING -i bth0123abcdef -d 169.254.170.2/32 -p tcp -m tcp --dport 80 -m comment --comment berth-md-0123abcdef -j DNAT --to-destination 100.64.3.1:4321",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });

  it("accepts replies and the agent's ports on the own gateway, drops the rest, and jumps first", () => {
    assert.equal(hostGuardChain(spec.key), "BERTH-IN-0123abcdef");
    assert.equal(
      hostGuardRules(spec, 4, true),
      [
        "*filter",
        ":BERTH-IN-0123abcdef - [0:0]",
        "-A BERTH-IN-0123abcdef -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-A BERTH-IN-0123abcdef -d 100.64.3.1/32 -p tcp -m tcp --dport 4321 -j ACCEPT",
        "-A BERTH-IN-0123abcdef -j DROP",
        "-I INPUT 1 -i bth0123abcdef -j BERTH-IN-0123abcdef",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });

  it("opens nothing over IPv6, and does not jump twice", () => {
    const rules = hostGuardRules(spec, 6, false);
    assert.ok(!rules.includes("--dport"));
    assert.ok(!rules.includes("-I INPUT"));
    assert.match(rules, /-A BERTH-IN-0123abcdef -j DROP\n/);
  });

  it("opens no port when the agent serves none", () => {
    assert.ok(!hostGuardRules({ ...spec, tcpPorts: [] }, 4, true).includes("--dport"));
  });
});
