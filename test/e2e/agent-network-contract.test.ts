// The CNI TaskNetwork on this host (real bridges, namespaces, iptables) keeps the TaskNetwork
// contract, and purge leaves nothing behind. Its pool is a random /29 of 100.64.0.0/10.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { promisify } from "node:util";
import { CniTaskNetwork } from "../../src/agent/network/index.js";
import { portGuardChain } from "../../src/agent/network/port-guard.js";
import { runTaskNetworkContract } from "../unit/agent/network/task-network-contract.js";

const run = promisify(execFile);

function randomPool(): string {
  const base = 100 * 2 ** 24 + 112 * 2 ** 16 + Math.floor(Math.random() * 2 ** 13) * 8;
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/29`;
}

async function fixture(): Promise<{
  network: CniTaskNetwork;
  dataDir: string;
  pool: string;
  netns(taskId: string): Promise<string>;
  close(): Promise<void>;
}> {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-net-"));
  const pool = randomPool();
  const network = new CniTaskNetwork({ dataDir, taskCidr: pool });
  const prefix = `bt-${process.pid}-`;
  const made = new Set<string>();
  return {
    network,
    dataDir,
    pool,
    async netns(taskId) {
      const name = `${prefix}${taskId}`;
      if (!made.has(name)) {
        await run("ip", ["netns", "add", name]);
        made.add(name);
      }
      return `/run/netns/${name}`;
    },
    async close() {
      await network.purge((taskId) => `/run/netns/${prefix}${taskId}`);
      for (const name of made) await run("ip", ["netns", "del", name]).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

runTaskNetworkContract("CNI", fixture);

it("purge removes every bridge, rule, address and claim of an agent", async () => {
  const f = await fixture();
  const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/purged";
  const address = await f.network.attach({
    taskId: "purge-a",
    clusterArn: cluster,
    netnsPath: await f.netns("purge-a"),
  });
  const key = f.network.clusterKey(cluster);
  const bridge = CniTaskNetwork.bridgeName(key);
  await run("ip", ["link", "show", bridge]);
  // The host guard was there (INPUT from the bridge to the cluster's chain, both families) ...
  const { stdout: guarded } = await run("iptables", ["-w", "-S", "INPUT"]);
  const { stdout: guarded6 } = await run("ip6tables", ["-w", "-S", "INPUT"]);
  assert.ok(guarded.includes(`-i ${bridge} -j BERTH-IN-${key}`), guarded);
  assert.ok(guarded6.includes(`-i ${bridge} -j BERTH-IN-${key}`), guarded6);
  // ... and the task's port guard.
  const chain = portGuardChain(f.network.dir, "purge-a");
  assert.match((await run("ebtables-nft", ["-t", "nat", "-L"])).stdout, new RegExp(`-j ${chain}`));
  await f.close();
  await assert.rejects(run("ip", ["link", "show", bridge]));
  // ... and went with everything else of the cluster's.
  const { stdout: filter } = await run("iptables", ["-w", "-S"]);
  const { stdout: filter6 } = await run("ip6tables", ["-w", "-S"]);
  const { stdout: nat } = await run("iptables", ["-w", "-t", "nat", "-S"]);
  assert.ok(!filter.includes(key) && !filter.includes(`${address.privateIPv4Address}/32`));
  assert.ok(!filter6.includes(key));
  assert.ok(!(await run("ebtables-nft", ["-t", "nat", "-L"])).stdout.includes(chain));
  assert.ok(!nat.includes(`${address.privateIPv4Address}/32`) && !nat.includes(key), nat);
  const claims = existsSync("/run/berth/task-subnets")
    ? readdirSync("/run/berth/task-subnets")
    : [];
  assert.ok(!claims.includes(f.pool.replace("/", "_")));
});

it("keeps an idle cluster's network for the next task, at the same gateway, until it is removed", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-net-"));
  const network = new CniTaskNetwork({ dataDir, taskCidr: randomPool(), idleRemovalMs: 60_000 });
  const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/idle";
  const bridge = CniTaskNetwork.bridgeName(network.clusterKey(cluster));
  const netns = `bt-${process.pid}-idle`;
  await run("ip", ["netns", "add", netns]);
  try {
    const target = { taskId: "idle-a", clusterArn: cluster, netnsPath: `/run/netns/${netns}` };
    const first = await network.attach(target);
    const guard = portGuardChain(network.dir, "idle-a");
    assert.match((await run("ebtables-nft", ["-t", "nat", "-L"])).stdout, new RegExp(guard));
    await network.detach(target);
    await run("ip", ["link", "show", bridge]);
    // The task's port guard went with it (its chain and the jump to it), the cluster's stays.
    assert.ok(!(await run("ebtables-nft", ["-t", "nat", "-L"])).stdout.includes(guard));
    assert.equal(await network.gateway(cluster), first.gateway);
    const again = await network.attach({ ...target, taskId: "idle-b" });
    assert.equal(again.subnet, first.subnet);
    await network.detach({ ...target, taskId: "idle-b" });
  } finally {
    await network.purge(() => "");
    await run("ip", ["netns", "del", netns]).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
  await assert.rejects(run("ip", ["link", "show", bridge]));
});
