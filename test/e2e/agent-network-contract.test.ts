// The bridge TaskNetwork on this host (real bridges, namespaces, iptables) keeps the TaskNetwork
// contract, and purge leaves nothing behind; it runs no CNI plugin, never hands out an address a
// killed agent was giving, and detaches tasks an agent that ran the CNI plugins attached. Its
// pool is a random /29 of 100.64.0.0/10.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { promisify } from "node:util";
import { BridgeTaskNetwork } from "../../src/agent/network/index.js";
import {
  applyPortGuard,
  portGuardChain,
  removePortGuard,
} from "../../src/agent/network/port-guard.js";
import { runTaskNetworkContract } from "../unit/agent/network/task-network-contract.js";
import { removeDataDir } from "../../src/testing/index.js";

const run = promisify(execFile);

function randomPool(): string {
  const base = 100 * 2 ** 24 + 112 * 2 ** 16 + Math.floor(Math.random() * 2 ** 13) * 8;
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/29`;
}

async function fixture(): Promise<{
  network: BridgeTaskNetwork;
  dataDir: string;
  pool: string;
  netns(taskId: string): Promise<string>;
  close(): Promise<void>;
}> {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-net-"));
  const pool = randomPool();
  const network = new BridgeTaskNetwork({ dataDir, taskCidr: pool });
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
      await network.purge();
      for (const name of made) await run("ip", ["netns", "del", name]).catch(() => undefined);
      removeDataDir(dataDir);
    },
  };
}

runTaskNetworkContract("bridge", fixture);

it("purge removes every bridge, rule, address and claim of an agent", async () => {
  const f = await fixture();
  const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/purged";
  const address = await f.network.attach({
    taskId: "purge-a",
    clusterArn: cluster,
    netnsPath: await f.netns("purge-a"),
  });
  const key = f.network.clusterKey(cluster);
  const bridge = BridgeTaskNetwork.bridgeName(key);
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
  const network = new BridgeTaskNetwork({ dataDir, taskCidr: randomPool(), idleRemovalMs: 60_000 });
  const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/idle";
  const bridge = BridgeTaskNetwork.bridgeName(network.clusterKey(cluster));
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
    await network.purge();
    await run("ip", ["netns", "del", netns]).catch(() => undefined);
    removeDataDir(dataDir);
  }
  await assert.rejects(run("ip", ["link", "show", bridge]));
});

it("keeps the gateway's MAC while tasks' ports come and go", async () => {
  // Tasks cache the gateway's MAC: a bridge that took its lowest port's MAC changed it when the
  // only port was replaced by another, and tasks' frames to the old one never reached the host.
  const f = await fixture();
  const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/mac";
  const bridge = BridgeTaskNetwork.bridgeName(f.network.clusterKey(cluster));
  const mac = (): string => readFileSync(`/sys/class/net/${bridge}/address`, "utf8").trim();
  try {
    const a = { taskId: "mac-a", clusterArn: cluster, netnsPath: await f.netns("mac-a") };
    const b = { taskId: "mac-b", clusterArn: cluster, netnsPath: await f.netns("mac-b") };
    await f.network.attach(a);
    const gateway = mac();
    await f.network.attach(b);
    await f.network.detach(a);
    assert.equal(mac(), gateway, "the only port replaced by another");
    await f.network.attach(a);
    await f.network.detach(b);
    assert.equal(mac(), gateway);
  } finally {
    await f.close();
  }
});

const CHILD = new URL("./network-attach-child.ts", import.meta.url).pathname;

/** The child's attach of `taskId`, run under `wrap` (a command prefix) with `env`. */
function attachInChild(
  f: { dataDir: string; pool: string },
  taskId: string,
  clusterArn: string,
  netnsPath: string,
  options: { wrap?: string[]; env?: NodeJS.ProcessEnv } = {},
): { done: Promise<string>; pid: number | undefined } {
  const args = ["node", "--import", "tsx", CHILD, f.dataDir, f.pool, taskId, clusterArn, netnsPath];
  const [file = "", ...rest] = [...(options.wrap ?? []), ...args];
  const child = spawn(file, rest, { env: options.env ?? process.env, stdio: "pipe" });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<string>((resolve, reject) =>
    child.on("exit", (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`child ${code ?? signal}: ${err}`)),
    ),
  );
  return { done, pid: child.pid };
}

/** The addresses in use and their owners, as host-local kept them (and this network keeps). */
function owners(dataDir: string): Map<string, string> {
  const ipam = join(dataDir, "network", "ipam");
  const held = new Map<string, string>();
  for (const network of existsSync(ipam) ? readdirSync(ipam) : [])
    for (const name of readdirSync(join(ipam, network)).filter((n) =>
      /^\d+\.\d+\.\d+\.\d+$/.test(n),
    ))
      held.set(name, readFileSync(join(ipam, network, name), "utf8").split("\r\n")[0] ?? "");
  return held;
}

it("attaches with no CNI plugin on the machine: no plugin process runs", async () => {
  const f = await fixture();
  const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/no-plugins";
  try {
    const netnsPath = await f.netns("np-a");
    // The child sees an empty /usr/lib/cni (where Debian's plugins are), in a mount namespace
    // of its own.
    const hide = ["unshare", "--mount", "--propagation", "private", "sh", "-c"];
    const { done } = attachInChild(f, "np-a", cluster, netnsPath, {
      wrap: [...hide, 'mount -t tmpfs none /usr/lib/cni && exec "$@"', "sh"],
    });
    const address = JSON.parse(await done) as { privateIPv4Address: string; gateway: string };
    const inside = await run("nsenter", [`--net=${netnsPath}`, "ip", "-4", "-o", "addr"]);
    assert.match(inside.stdout, new RegExp(`eth0\\s+inet ${address.privateIPv4Address}/29`));
    const routes = await run("nsenter", [`--net=${netnsPath}`, "ip", "-4", "route"]);
    assert.match(routes.stdout, new RegExp(`^default via ${address.gateway} dev eth0`, "m"));
    // Its veth's host side is a hairpin port of the cluster's bridge.
    const { port } = JSON.parse(
      readFileSync(join(f.network.dir, "attachments", "np-a.json"), "utf8"),
    ) as { port: string };
    const shown = (await run("ip", ["-d", "link", "show", "dev", port])).stdout;
    assert.match(
      shown,
      new RegExp(`master ${BridgeTaskNetwork.bridgeName(f.network.clusterKey(cluster))} `),
    );
    assert.match(shown, /hairpin on/);
    // This agent (a restart) detaches what the child attached.
    await f.network.detach({ taskId: "np-a", clusterArn: cluster, netnsPath });
    const after = await run("nsenter", [`--net=${netnsPath}`, "ip", "-o", "link"]);
    assert.ok(!after.stdout.includes("eth0"), after.stdout);
    assert.equal(owners(f.dataDir).size, 0);
  } finally {
    await f.close();
  }
});

it("never gives out the address an agent killed mid-attach was giving, until it detaches it", async () => {
  const f = await fixture();
  const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/killed";
  const bin = mkdtempSync(join(tmpdir(), "berth-net-bin-"));
  const mark = join(bin, "hung");
  const realIp = (await run("sh", ["-c", "command -v ip"])).stdout.trim();
  // An `ip` that hangs on the batch making the task's veth: the agent has taken the address.
  writeFileSync(
    join(bin, "ip"),
    [
      "#!/bin/sh",
      'if [ "$1" = "-batch" ]; then',
      "  input=$(cat)",
      `  case "$input" in *" type veth "*) echo $$ > ${mark}; exec sleep 600;; esac`,
      `  printf '%s\\n' "$input" | exec ${realIp} "$@"`,
      "fi",
      `exec ${realIp} "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(join(bin, "ip"), 0o755);
  let sleeper: number | undefined;
  try {
    const child = attachInChild(f, "k-killed", cluster, await f.netns("k-killed"), {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
    });
    const failed = child.done.catch(() => undefined);
    for (let i = 0; i < 600 && !existsSync(mark); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(mark), "the child never reached the veth");
    sleeper = Number(readFileSync(mark, "utf8"));
    process.kill(child.pid ?? 0, "SIGKILL");
    await failed;
    const taken = [...owners(f.dataDir)].filter(([, owner]) => owner === "k-killed");
    assert.equal(taken.length, 1, "the killed agent had taken its address on disk");
    const lost = taken[0]?.[0];
    // Its record was written with the address, before anything was made: a restarted agent
    // (this one) finds it, as the orphan pass at adoption does.
    assert.deepEqual(
      (await f.network.attached()).map((a) => a.taskId),
      ["k-killed"],
    );
    // It gives the other four addresses of the /29, then none.
    const given: string[] = [];
    for (const id of ["k-1", "k-2", "k-3", "k-4"]) {
      const t = { taskId: id, clusterArn: cluster, netnsPath: await f.netns(id) };
      given.push((await f.network.attach(t)).privateIPv4Address);
    }
    assert.ok(!given.includes(lost ?? ""), `${lost} given again: ${given.join(" ")}`);
    assert.equal(new Set(given).size, 4);
    const t5 = { taskId: "k-5", clusterArn: cluster, netnsPath: await f.netns("k-5") };
    await assert.rejects(f.network.attach(t5), /no free address/);
    // Detaching the killed attach (the orphan pass) frees its address and its port guard.
    await f.network.detach({ taskId: "k-killed", clusterArn: cluster, netnsPath: "" });
    const chain = portGuardChain(f.network.dir, "k-killed");
    assert.ok(!(await run("ebtables-nft", ["-t", "nat", "-L"])).stdout.includes(chain));
    assert.equal((await f.network.attach(t5)).privateIPv4Address, lost);
  } finally {
    if (sleeper !== undefined) {
      try {
        process.kill(sleeper, "SIGKILL");
      } catch {
        // already gone
      }
    }
    // The killed attach's port guard, had the test failed before detaching it.
    await removePortGuard(portGuardChain(f.network.dir, "k-killed"));
    await f.close();
    rmSync(bin, { recursive: true, force: true });
  }
});

it("detaches a task an agent that ran the CNI bridge plugin attached (its record and files)", async () => {
  const f = await fixture();
  const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/legacy";
  try {
    await f.network.gateway(cluster); // the cluster's record, bridge and rules
    const key = f.network.clusterKey(cluster);
    const record = JSON.parse(
      readFileSync(join(f.network.dir, "clusters", `${key}.json`), "utf8"),
    ) as { subnet: string; mtu?: number };
    const netnsPath = await f.netns("legacy-a");
    // What that agent ran: the bridge plugin's ADD (which runs host-local), then the port guard.
    const conf = {
      cniVersion: "1.0.0",
      name: `berth-${key}`,
      type: "bridge",
      bridge: BridgeTaskNetwork.bridgeName(key),
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ...(record.mtu === undefined ? {} : { mtu: record.mtu }),
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: record.subnet }]],
        routes: [{ dst: "0.0.0.0/0" }],
        dataDir: join(f.network.dir, "ipam"),
      },
    };
    const added = execFileSync("/usr/lib/cni/bridge", [], {
      input: JSON.stringify(conf),
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "legacy-a",
        CNI_NETNS: netnsPath,
        CNI_IFNAME: "eth0",
        CNI_PATH: "/usr/lib/cni",
      },
    }).toString();
    const result = JSON.parse(added) as {
      interfaces: Array<{ name: string; mac: string; sandbox?: string }>;
      ips: Array<{ address: string; gateway: string; interface: number }>;
    };
    const ip = result.ips[0]?.address.split("/")[0] ?? "";
    const mac = result.interfaces.find((i) => i.sandbox !== undefined)?.mac ?? "";
    const port =
      result.interfaces.find(
        (i) => i.sandbox === undefined && i.name !== BridgeTaskNetwork.bridgeName(key),
      )?.name ?? "";
    const chain = portGuardChain(f.network.dir, "legacy-a");
    await applyPortGuard({ chain, port, mac, ip });
    const address = {
      privateIPv4Address: ip,
      macAddress: mac,
      subnet: record.subnet,
      gateway: result.ips[0]?.gateway ?? "",
    };
    mkdirSync(join(f.network.dir, "attachments"), { recursive: true });
    writeFileSync(
      join(f.network.dir, "attachments", "legacy-a.json"),
      JSON.stringify({
        taskId: "legacy-a",
        cniId: "legacy-a",
        clusterArn: cluster,
        clusterKey: key,
        result,
        address,
      }),
    );
    assert.equal(owners(f.dataDir).get(ip), "legacy-a");
    // A restarted agent over that data dir knows the task and detaches it.
    const restarted = new BridgeTaskNetwork({ dataDir: f.dataDir, taskCidr: f.pool });
    assert.deepEqual(
      (await restarted.attached()).map((a) => a.address),
      [address],
    );
    await restarted.detach({ taskId: "legacy-a", clusterArn: cluster, netnsPath });
    await assert.rejects(run("ip", ["link", "show", "dev", port]));
    const inside = await run("nsenter", [`--net=${netnsPath}`, "ip", "-o", "link"]);
    assert.ok(!inside.stdout.includes("eth0"), inside.stdout);
    assert.equal(owners(f.dataDir).size, 0);
    assert.ok(!(await run("ebtables-nft", ["-t", "nat", "-L"])).stdout.includes(chain));
    assert.deepEqual(await restarted.attached(), []);
    // The next task gets an address from where host-local left off.
    const next = await restarted.attach({
      taskId: "legacy-b",
      clusterArn: cluster,
      netnsPath: await f.netns("legacy-b"),
    });
    assert.notEqual(next.privateIPv4Address, ip);
    await restarted.purge();
  } finally {
    await f.close();
  }
});
