/** What each connected host is told of its cluster networks (pure planNetworks), and when. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterNetworks, planNetworks } from "../../../src/control/cluster-networks.js";
import { silentLogger } from "../../../src/core/index.js";
import { openSqliteStore } from "../../../src/store/index.js";

const row = (cluster: string, hostId: string, subnet: string, address: string | null) => ({
  cluster_arn: `arn:aws:ecs:us-east-1:000000000000:cluster/${cluster}`,
  host_id: hostId,
  subnet,
  block: cluster === "a" ? "100.64.0.0/18" : "100.64.64.0/18",
  address,
});

test("each host hears of its own clusters only, with the other hosts of each as peers", () => {
  const rows = [
    row("a", "h2", "100.64.1.0/24", "10.0.0.2"),
    row("b", "h1", "100.64.64.0/24", "10.0.0.1"),
    row("a", "h1", "100.64.0.0/24", "10.0.0.1"),
    row("a", "h3", "100.64.2.0/24", null),
    row("b", "h3", "100.64.65.0/24", null),
  ];
  const addresses = new Map<string, string | null>([
    ["h1", "10.0.0.1"],
    ["h3", null],
    ["h4", "10.0.0.4"],
  ]);
  const plan = planNetworks(rows, "100.64.0.0/10", addresses);
  // Only connected hosts are planned for; h2 (not connected) is still h1's peer.
  assert.deepEqual([...plan.keys()], ["h1", "h3", "h4"]);
  const h1 = plan.get("h1")?.message;
  assert.equal(h1?.address, "10.0.0.1");
  assert.deepEqual(
    h1?.networks.map((n) => [n.clusterArn.split("/")[1], n.subnet, n.vni, n.peers]),
    [
      // A peer with no datacenter address (the server's own host, over loopback) is left out.
      ["a", "100.64.0.0/24", 1, [{ hostId: "h2", address: "10.0.0.2", subnet: "100.64.1.0/24" }]],
      ["b", "100.64.64.0/24", 2049, []],
    ],
  );
  const h3 = plan.get("h3")?.message;
  assert.equal(h3?.address, undefined);
  assert.deepEqual(
    h3?.networks.map((n) => n.peers.map((p) => p.hostId)),
    [["h1", "h2"], ["h1"]],
  );
  assert.deepEqual(plan.get("h4")?.message.networks, []);
});

test("a host is planned again only when what it is told changes", () => {
  const rows = [
    row("a", "h1", "100.64.0.0/24", "10.0.0.1"),
    row("a", "h2", "100.64.1.0/24", "10.0.0.2"),
    row("b", "h2", "100.64.64.0/24", "10.0.0.2"),
    row("b", "h3", "100.64.65.0/24", "10.0.0.3"),
  ];
  const addresses = new Map<string, string | null>([
    ["h1", "10.0.0.1"],
    ["h2", "10.0.0.2"],
    ["h3", "10.0.0.3"],
    ["h4", "10.0.0.4"],
  ]);
  const sent = new Map<string, string>();
  const plan = (list: typeof rows): string[] => {
    const planned = planNetworks(list, "100.64.0.0/10", addresses, (h, k) => sent.get(h) === k);
    for (const [hostId, { key }] of planned) sent.set(hostId, key);
    return [...planned.keys()].sort();
  };
  assert.deepEqual(plan(rows), ["h1", "h2", "h3", "h4"]);
  assert.deepEqual(plan([...rows].reverse()), [], "the same subnets in another order: none");
  // h5 joins cluster a: its members hear of it, b's member alone does not.
  const joined = [...rows, row("a", "h5", "100.64.2.0/24", "10.0.0.5")];
  assert.deepEqual(plan(joined), ["h1", "h2"]);
  assert.deepEqual(
    planNetworks(joined, "100.64.0.0/10", addresses)
      .get("h1")
      ?.message.networks[0]?.peers.map((p) => p.hostId),
    ["h2", "h5"],
  );
  // A subnet moves: every member of its cluster hears; a host's own address: that host.
  const moved = joined.map((r) => (r.host_id === "h3" ? { ...r, subnet: "100.64.66.0/24" } : r));
  assert.deepEqual(plan(moved), ["h2", "h3"]);
  addresses.set("h4", "10.0.0.14");
  assert.deepEqual(plan(moved), ["h4"]);
});

/**
 * Runs `body` with a ClusterNetworks over a new store, no hosts and a minute between timed
 * passes; `onRoutes` ends each pass. Stopped and removed afterwards.
 */
async function withNetworks(
  onRoutes: () => Promise<void>,
  body: (networks: ClusterNetworks) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "berth-cluster-networks-"));
  const store = await openSqliteStore(join(dir, "berth.db"));
  const networks = new ClusterNetworks({
    store,
    channel: { connectedHosts: () => [], send: () => false },
    taskCidr: "100.64.0.0/10",
    log: silentLogger,
    intervalMs: 60_000,
    onRoutes,
  });
  try {
    await body(networks);
  } finally {
    await networks.stop();
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("new subnets placed close together are published by one pass", async () => {
  let passes = 0;
  const onRoutes = (): Promise<void> => {
    passes++;
    return Promise.resolve();
  };
  await withNetworks(onRoutes, async (networks) => {
    networks.start();
    for (let i = 0; i < 5; i++) networks.kickSoon();
    assert.equal(passes, 0, "not at once");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(passes, 1, "five new subnets, one pass");
    networks.kickSoon();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(passes, 2);
  });
});

test("a pass soon waits nine times the last pass's length", async () => {
  let passes = 0;
  // A pass of at least 30 ms (a fleet's lists being sent).
  const onRoutes = async (): Promise<void> => {
    passes++;
    await new Promise((r) => setTimeout(r, 30));
  };
  await withNetworks(onRoutes, async (networks) => {
    networks.start();
    networks.kickSoon();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(passes, 1);
    networks.kickSoon();
    const kicked = Date.now();
    // Four times the pass would be about 120 ms; nine, 270 or more.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(passes, 1, "not within 200 ms of a 30 ms pass");
    while (passes < 2 && Date.now() - kicked < 5_000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(passes, 2);
  });
});
