/** A cluster's overlay on one host: its spec from the server's list, and its iptables rules. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  overlayRules,
  overlaySpec,
  vniU32,
  vtepAddress,
  vtepMac,
} from "../../../../src/agent/network/overlay.js";
import type { HostNetworks } from "../../../../src/agent/network/types.js";

const cluster = {
  clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/a",
  key: "k1",
  subnet: "100.90.1.0/24",
};
const bridge = "bthk1";
const list: HostNetworks = {
  taskCidr: "100.90.0.0/16",
  address: "100.127.5.2",
  networks: [
    {
      clusterArn: cluster.clusterArn,
      vni: 4242,
      block: "100.90.0.0/18",
      subnet: "100.90.1.0/24",
      peers: [{ hostId: "h2", address: "100.127.5.3", subnet: "100.90.2.0/24" }],
    },
  ],
};

describe("overlay spec", () => {
  it("takes the cluster's VNI, block and peers from the server's list", () => {
    const spec = overlaySpec(cluster, bridge, list);
    assert.deepEqual(spec, {
      key: "k1",
      bridge,
      vni: 4242,
      subnet: "100.90.1.0/24",
      block: "100.90.0.0/18",
      taskCidr: "100.90.0.0/16",
      local: "100.127.5.2",
      peers: [{ hostId: "h2", address: "100.127.5.3", subnet: "100.90.2.0/24" }],
    });
  });

  it("before any list, keeps the cluster's tasks off the whole shared task space", () => {
    const spec = overlaySpec(cluster, bridge, undefined);
    assert.equal(spec.taskCidr, "100.64.0.0/10");
    assert.deepEqual(spec.peers, []);
    assert.match(
      overlayRules(spec, { filter: true, nat: true }),
      /^-A BERTH-OV-k1 -i bthk1 -d 100\.64\.0\.0\/10 -m conntrack --ctstate NEW -j DROP$/m,
    );
  });

  it("has no peers without an address of ours, or when the list's subnet is not ours", () => {
    assert.deepEqual(overlaySpec(cluster, bridge, { ...list, address: undefined }).peers, []);
    const moved = overlaySpec({ ...cluster, subnet: "100.90.9.0/24" }, bridge, list);
    assert.deepEqual([moved.peers, moved.vni, moved.block], [[], 0, "100.90.9.0/24"]);
  });
});

describe("overlay rules", () => {
  const rules = overlayRules(overlaySpec(cluster, bridge, list), { filter: true, nat: false });
  const lines = rules.split("\n");

  it("takes the VNI's VXLAN packets from the peers only, and drops everyone else's", () => {
    const accept = `-A BERTH-OVI-k1 -s 100.127.5.3/32 -p udp --dport 4789 ${vniU32(4242)} -j ACCEPT`;
    const drop = `-A BERTH-OVI-k1 -p udp --dport 4789 ${vniU32(4242)} -j DROP`;
    assert.ok(lines.includes(accept), rules);
    assert.ok(lines.indexOf(accept) < lines.indexOf(drop), "the peer's accept comes first");
  });

  it("lets the device carry only the bridge's traffic and keeps tasks off other subnets", () => {
    for (const line of [
      "-A BERTH-OV-k1 -i bvxk1 -o bthk1 -j ACCEPT",
      "-A BERTH-OV-k1 -i bthk1 -o bvxk1 -j ACCEPT",
      "-A BERTH-OV-k1 -i bvxk1 -j DROP",
      "-A BERTH-OV-k1 -o bvxk1 -j DROP",
      "-A BERTH-OV-k1 -i bthk1 -d 100.90.0.0/16 -m conntrack --ctstate NEW -j DROP",
      "-I FORWARD 1 -j BERTH-OV-k1",
    ])
      assert.ok(lines.includes(line), line);
    assert.ok(!rules.includes("POSTROUTING 1"), "the nat jump was there already");
    assert.ok(lines.includes("-A BERTH-OVN-k1 -s 100.90.0.0/18 -d 100.90.0.0/18 -j ACCEPT"));
  });

  it("matches the VNI in the VXLAN header and derives VTEP address and MAC", () => {
    assert.equal(vniU32(4242), "-m u32 --u32 0>>22&0x3C@12>>8=4242");
    assert.equal(vtepAddress("100.90.2.0/24"), "100.90.2.0");
    assert.equal(vtepMac("100.90.2.0/24", 4242), "02:64:5a:02:00:92");
  });
});
