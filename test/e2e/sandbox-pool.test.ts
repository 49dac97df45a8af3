// Prepared sandboxes (issue 18, items 1 and 6): launches take namespaces with their address made
// ahead; many launches and stops leave the host's counts where they started; kill -9 of the agent
// with a filled pool hands no address out twice and keeps no orphan; a stopped agent leaves no
// pool entry, and neither does a stopped `berth up` (its local agent). POOL_TEST_TASKS sets how
// many tasks: the 500 by default (83 s for the whole file at load 5-21), fewer for a
// quick run by hand.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  describeTasks,
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  recentWarnings,
  tempDataDir,
  until,
  waitForTask,
  waitForTasksStopped,
  removeDataDir,
} from "../../src/testing/index.js";
import { purgeHost } from "../../src/agent/index.js";

const TASKS = Number(process.env.POOL_TEST_TASKS ?? 500);
const PREFIX = "pool-";
/** The ids of the tasks this test ran. */
const ourTasks = new Set<string>();

function list(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** The prepared sandboxes on disk: their attachment files' addresses, by id. */
function prepared(agentDir: string): Map<string, string> {
  const dir = join(agentDir, "network", "attachments");
  const found = new Map<string, string>();
  for (const name of list(dir).filter((n) => n.startsWith(PREFIX) && n.endsWith(".json"))) {
    const record = JSON.parse(readFileSync(join(dir, name), "utf8")) as {
      address: { privateIPv4Address: string };
    };
    found.set(name.slice(0, -".json".length), record.address.privateIPv4Address);
  }
  return found;
}

/**
 * What the agent holds on the host, apart from its prepared sandboxes (counted by `pool`):
 * namespaces, mounts, task cgroups, addresses (host-local's files) and loop devices under its dir.
 */
function footprint(agentDir: string): Record<string, number> {
  const pool = new Set(prepared(agentDir).values());
  const netns = list(join(agentDir, "run", "netns"));
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .filter((l) => l.includes(agentDir) && !inPool(l)).length;
  let cgroups = 0;
  for (const hierarchy of readdirSync("/sys/fs/cgroup")) {
    const dir = join("/sys/fs/cgroup", hierarchy, "berth");
    // Only this test's tasks' cgroups: other Berths on the machine make theirs meanwhile.
    if (existsSync(dir))
      cgroups += readdirSync(dir, { withFileTypes: true }).filter(
        (e) => e.isDirectory() && (ourTasks.has(e.name) || e.name.startsWith(PREFIX)),
      ).length;
  }
  const ipam = join(agentDir, "network", "ipam");
  const addresses = list(ipam)
    .flatMap((network) => list(join(ipam, network)))
    .filter((name) => /^\d+\.\d+\.\d+\.\d+$/.test(name) && !pool.has(name)).length;
  let loops = 0;
  for (const device of list("/sys/block").filter((d) => d.startsWith("loop"))) {
    const file = join("/sys/block", device, "loop", "backing_file");
    const backing = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (backing.startsWith(agentDir) && !inPool(backing)) loops++;
  }
  return {
    netns: netns.filter((n) => !n.startsWith(PREFIX)).length,
    mounts,
    cgroups,
    addresses,
    loops,
    sandboxes: list(join(agentDir, "sandboxes")).length,
  };
}

/** A mount (or loop device's file) of the pools': a prepared namespace, or storage made ahead. */
const inPool = (line: string): boolean =>
  line.includes(`/netns/${PREFIX}`) || line.includes("/storage/pool/");

/**
 * Everything the pools hold: namespace files, their mounts and the storage pool's, attachments
 * and addresses.
 */
function poolEntries(agentDir: string): {
  netns: number;
  mounts: number;
  attachments: number;
  addresses: number;
} {
  const addresses = new Set(prepared(agentDir).values());
  const ipam = join(agentDir, "network", "ipam");
  return {
    netns: list(join(agentDir, "run", "netns")).filter((n) => n.startsWith(PREFIX)).length,
    mounts: readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .filter((l) => l.includes(agentDir) && inPool(l)).length,
    attachments: prepared(agentDir).size,
    addresses: list(ipam)
      .flatMap((network) => list(join(ipam, network)))
      .filter((name) => addresses.has(name)).length,
  };
}

function addressOf(task: Task): string {
  const eni = task.attachments?.find((a) => a.type === "ElasticNetworkInterface");
  return eni?.details?.find((d) => d.name === "privateIPv4Address")?.value ?? "";
}

async function settle(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
}

describe("prepared sandboxes", () => {
  it("leak nothing over many launches, survive kill -9, and go with the agent", async () => {
    const berth = await startBerthProcess({ args: ["--no-local-agent"] });
    const dataDir = tempDataDir("berth-agent-");
    const join_ = { ...berth.join, token: berth.joinToken, dataDir, keepDataDir: true };
    let agent = await startAgentProcess({ ...join_, cpu: 64 * 1024, memory: 256 * 1024 });
    const ecs = new ECSClient(berth.clientConfig);
    try {
      const image = (await pushBusyboxImage(berth, "busybox")).uri;
      const register = async (family: string, command: string[]): Promise<string> =>
        (
          await ecs.send(
            new RegisterTaskDefinitionCommand({
              family,
              requiresCompatibilities: ["FARGATE"],
              networkMode: "awsvpc",
              cpu: "256",
              memory: "512",
              containerDefinitions: [
                { name: "app", image, essential: true, command, stopTimeout: 1 },
              ],
            }),
          )
        ).taskDefinition?.taskDefinitionArn ?? "";
      const quick = await register("pool-quick", ["true"]);
      const sleeper = await register("pool-sleeper", ["sleep", "600"]);
      // The first task pulls the image (its store's own mounts stay): the baseline comes after.
      const first = (await ecs.send(new RunTaskCommand({ taskDefinition: quick }))).tasks ?? [];
      await waitForTasksStopped(
        ecs,
        first.map((t) => t.taskArn ?? ""),
      );
      for (const task of first) ourTasks.add(task.taskArn?.split("/").pop() ?? "");
      await settle(() => footprint(dataDir).sandboxes === 0, 20_000);
      const start = footprint(dataDir);

      // Many launches and stops, ten at a time.
      const arns: string[] = [];
      for (let done = 0; done < TASKS; done += 10) {
        const { tasks = [], failures = [] } = await ecs.send(
          new RunTaskCommand({ taskDefinition: quick, count: Math.min(10, TASKS - done) }),
        );
        assert.deepEqual(failures, []);
        arns.push(...tasks.map((t) => t.taskArn ?? ""));
        for (const task of tasks) ourTasks.add(task.taskArn?.split("/").pop() ?? "");
        await waitForTasksStopped(
          ecs,
          tasks.map((t) => t.taskArn ?? ""),
        );
      }
      const stopped = await describeTasks(ecs, arns);
      assert.equal(stopped.length, TASKS);
      assert.deepEqual(
        stopped.filter((t) => t.containers?.[0]?.exitCode !== 0).map((t) => t.stoppedReason),
        [],
      );
      // Launches took prepared sandboxes: the pool has entries, each a namespace and an address
      // (once a refill under way, its namespace made before its address, is done).
      await settle(() => {
        const entries = poolEntries(dataDir);
        return (
          entries.attachments > 0 &&
          entries.netns === entries.attachments &&
          entries.addresses === entries.attachments
        );
      }, 20_000);
      const filled = poolEntries(dataDir);
      assert.ok(filled.attachments > 0, "the pool was filled");
      assert.ok(filled.attachments <= 8, `at most the pool's max: ${filled.attachments}`);
      assert.equal(filled.netns, filled.attachments);
      assert.equal(filled.addresses, filled.attachments);
      await settle(() => JSON.stringify(footprint(dataDir)) === JSON.stringify(start), 20_000);
      assert.deepEqual(footprint(dataDir), start, `after ${TASKS} launches and stops`);

      // kill -9 with a filled pool, then a new agent on the same data dir.
      const before = prepared(dataDir);
      assert.ok(before.size > 0);
      await agent.kill();
      agent = await startAgentProcess({ ...join_, cpu: 64 * 1024, memory: 256 * 1024 });
      // Its entries were reclaimed: none of the killed agent's remains, nor their addresses.
      const kept = [...prepared(dataDir).keys()].filter((id) => before.has(id));
      assert.deepEqual(kept, []);
      assert.deepEqual(
        list(join(dataDir, "run", "netns")).filter((n) => before.has(n)),
        [],
        "no orphan namespace",
      );
      // Twenty tasks at once: every address is given once, none is a live pool entry's.
      const { tasks = [], failures = [] } = await ecs.send(
        new RunTaskCommand({ taskDefinition: sleeper, count: 10 }),
      );
      const more = await ecs.send(new RunTaskCommand({ taskDefinition: sleeper, count: 10 }));
      assert.deepEqual([...failures, ...(more.failures ?? [])], []);
      const running = [...tasks, ...(more.tasks ?? [])].map((t) => t.taskArn ?? "");
      for (const arn of running) ourTasks.add(arn.split("/").pop() ?? "");
      const addresses: string[] = [];
      for (const arn of running) addresses.push(addressOf(await waitForTask(ecs, arn, "RUNNING")));
      assert.equal(new Set(addresses).size, 20, `addresses: ${addresses.join(" ")}`);
      const pooled = new Set(prepared(dataDir).values());
      assert.deepEqual(
        addresses.filter((a) => pooled.has(a)),
        [],
      );
      for (const arn of running)
        await ecs.send(new StopTaskCommand({ cluster: "default", task: arn }));
      await waitForTasksStopped(ecs, running);
      await settle(() => JSON.stringify(footprint(dataDir)) === JSON.stringify(start), 20_000);
      assert.deepEqual(footprint(dataDir), start);

      // Stopping the agent (SIGTERM) removes every prepared sandbox.
      await agent.stop();
      assert.deepEqual(poolEntries(dataDir), { netns: 0, mounts: 0, attachments: 0, addresses: 0 });
      assert.deepEqual(footprint(dataDir), start);
    } finally {
      ecs.destroy();
      await agent.kill();
      await purgeHost(dataDir);
      await berth.stop();
      removeDataDir(dataDir);
    }
  });
  it("go with a stopped berth up (its local agent)", async () => {
    const dataDir = tempDataDir("berth-up-pool-");
    const agentDir = join(dataDir, "agent");
    const berth = await startBerthProcess({ dataDir, keepDataDir: true });
    const ecs = new ECSClient(berth.clientConfig);
    try {
      const image = (await pushBusyboxImage(berth, "busybox")).uri;
      const definition =
        (
          await ecs.send(
            new RegisterTaskDefinitionCommand({
              family: "pool-up",
              requiresCompatibilities: ["FARGATE"],
              networkMode: "awsvpc",
              cpu: "256",
              memory: "512",
              containerDefinitions: [{ name: "app", image, essential: true, command: ["true"] }],
            }),
          )
        ).taskDefinition?.taskDefinitionArn ?? "";
      const { tasks = [] } = await ecs.send(
        new RunTaskCommand({ taskDefinition: definition, count: 4 }),
      );
      for (const task of tasks) ourTasks.add(task.taskArn?.split("/").pop() ?? "");
      await waitForTasksStopped(
        ecs,
        tasks.map((t) => t.taskArn ?? ""),
      );
      // The launches filled the local agent's pool: an entry is on disk before the stop.
      const filled = await until(
        "a prepared sandbox in berth up's agent",
        () => Promise.resolve(poolEntries(agentDir)),
        (entries) => entries.attachments > 0,
        { timeoutMs: 60_000, context: () => recentWarnings(berth.output()) },
      );
      assert.equal(filled.netns, filled.attachments);
      assert.equal(filled.addresses, filled.attachments);
      ecs.destroy();
      await berth.stop();
      assert.deepEqual(poolEntries(agentDir), {
        netns: 0,
        mounts: 0,
        attachments: 0,
        addresses: 0,
      });
    } finally {
      ecs.destroy();
      await berth.stop();
      await purgeHost(agentDir);
      removeDataDir(dataDir);
    }
  });
});
