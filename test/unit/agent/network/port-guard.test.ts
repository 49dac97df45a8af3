/** A task's bridge port guard: only its own MAC and address, checked before the bridge learns. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { portGuardChain, portGuardRules } from "../../../../src/agent/network/port-guard.js";

describe("port guard", () => {
  it("names a chain per agent and task that ebtables accepts", () => {
    const chain = portGuardChain("/data/agent/network", "task-a");
    assert.match(chain, /^BERTH-PORT-[0-9a-f]{16}$/);
    assert.ok(chain.length <= 31);
    assert.notEqual(chain, portGuardChain("/data/agent/network", "task-b"));
    assert.notEqual(chain, portGuardChain("/other/agent/network", "task-a"));
  });

  it("admits ARP and IPv4 from the task's own MAC and address, and drops everything else", () => {
    const rules = portGuardRules({
      chain: "BERTH-PORT-x",
      port: "veth1234abcd",
      mac: "0a:58:64:40:03:02",
      ip: "100.64.3.2",
    });
    assert.equal(
      rules,
      [
        "*nat",
        ":BERTH-PORT-x RETURN",
        "-A BERTH-PORT-x -p ARP -s 0a:58:64:40:03:02 --arp-mac-src 0a:58:64:40:03:02 --arp-ip-src 100.64.3.2 -j RETURN",
        "-A BERTH-PORT-x -p IPv4 -s 0a:58:64:40:03:02 --ip-src 100.64.3.2 -j RETURN",
        "-A BERTH-PORT-x -j DROP",
        "-A PREROUTING -i veth1234abcd -j BERTH-PORT-x",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });
});
