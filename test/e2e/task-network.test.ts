// awsvpc task networking through CNI: real namespaces, bridges and iptables, driven by RunTask.
// (busybox wget -T crashes, so `timeout` bounds a wget; not as PID 1, which ignores its SIGTERM.) Traffic goes only to loopback and to task addresses inside 100.64.0.0/10 that these tests make.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createConnection, createServer, type AddressInfo, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  pushBusyboxImage,
  startBerthProcess,
  type BerthProcess,
  describeTask,
  taskNetns,
  waitForTask,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const HTTPD =
  "mkdir -p /www && echo hello-from-$TASK > /www/index.html && exec busybox httpd -f -p 8080 -h /www";

interface Context {
  berth: BerthProcess;
  ecs: ECSClient;
  image: string;
}

async function startContext(args: string[] = []): Promise<Context> {
  const berth = await startBerthProcess({ args });
  const ecs = new ECSClient(berth.clientConfig);
  const image = (await pushBusyboxImage(berth, "busybox")).uri;
  return { berth, ecs, image };
}

async function runTasks(
  ctx: Context,
  family: string,
  containers: ContainerDefinition[],
  options: { cluster?: string; count?: number } = {},
): Promise<Task[]> {
  await ctx.ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: containers.map((c) => ({ image: ctx.image, stopTimeout: 1, ...c })),
    }),
  );
  const { tasks = [], failures = [] } = await ctx.ecs.send(
    new RunTaskCommand({
      taskDefinition: family,
      cluster: options.cluster,
      count: options.count,
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0123456789abcdef0"] } },
    }),
  );
  assert.deepEqual(failures, []);
  return tasks;
}

async function runOne(
  ctx: Context,
  family: string,
  containers: ContainerDefinition[],
  cluster?: string,
): Promise<string> {
  const [task] = await runTasks(ctx, family, containers, { ...(cluster ? { cluster } : {}) });
  return task?.taskArn ?? "";
}

/** Whether a rule's `-s` network holds the address. */
function covers(rule: string, address: string): boolean {
  const [net, bits] = (/ -s (\S+)/.exec(rule)?.[1] ?? "").split("/");
  const value = (ip: string): number =>
    ip.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits ?? 32));
  return Math.floor(value(address) / size) === Math.floor(value(net ?? "") / size);
}

function detail(task: Task, name: string): string | undefined {
  const eni = task.attachments?.find((a) => a.type === "ElasticNetworkInterface");
  return eni?.details?.find((d) => d.name === name)?.value;
}

function addressOf(task: Task): string {
  const address = detail(task, "privateIPv4Address");
  assert.ok(address !== undefined, "the task reports no address");
  return address;
}

/** A one-shot client task; resolves with its container's exit code. */
async function exitCodeOf(
  ctx: Context,
  family: string,
  command: string,
  cluster?: string,
): Promise<number | undefined> {
  const taskArn = await runOne(
    ctx,
    family,
    [{ name: "client", command: ["sh", "-c", command] }],
    cluster,
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const task = await describeTask(ctx.ecs, taskArn);
    if (task.lastStatus === "STOPPED") return task.containers?.[0]?.exitCode;
    if (Date.now() > deadline)
      assert.fail(`the client task did not finish: ${JSON.stringify(task)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopAndWait(ctx: Context, taskArn: string): Promise<Task> {
  await ctx.ecs.send(new StopTaskCommand({ cluster: taskArn.split("/")[1], task: taskArn }));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const task = await describeTask(ctx.ecs, taskArn);
    if (task.lastStatus === "STOPPED") return task;
    if (Date.now() > deadline) assert.fail("the task did not stop");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The gateway of a cluster's network on the test's host (from the agent's own record). */
function gatewayOf(ctx: Context, cluster: string): string {
  const dir = join(ctx.berth.dataDir, "agent", "network", "clusters");
  for (const file of readdirSync(dir)) {
    const record = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
      clusterArn: string;
      subnet: string;
    };
    if (record.clusterArn.endsWith(`:cluster/${cluster}`))
      return record.subnet.replace(/\.0\/24$/, ".1");
  }
  return assert.fail(`no network for cluster ${cluster}`);
}

/** This host's own non-loopback IPv4 address outside the task CIDR, if it has one. */
function hostAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find(
      (i) =>
        i !== undefined &&
        i.family === "IPv4" &&
        !i.internal &&
        !/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./.test(i.address),
    )?.address;
}

describe("awsvpc task networking", () => {
  let ctx: Context;
  // A host service on the wildcard address, as an operator's would be.
  let hostService: Server;
  before(async () => {
    hostService = createServer((socket) => socket.end("host-secret\n"));
    await new Promise<void>((resolve) => hostService.listen(0, "0.0.0.0", resolve));
    // Berth itself on the wildcard address too: its API and agent channel.
    ctx = await startContext(["--host", "0.0.0.0"]);
    await ctx.ecs.send(new CreateClusterCommand({ clusterName: "other" }));
  });
  after(async () => {
    ctx.ecs.destroy();
    await ctx.berth.stop();
    hostService.close();
  });

  it("gives a task its own address, reported as its ENI attachment and its containers' interfaces", async () => {
    const taskArn = await runOne(ctx, "shown", [
      { name: "app", command: ["sh", "-c", "exec sleep 600"] },
      { name: "side", essential: false, command: ["sh", "-c", "exec sleep 600"] },
    ]);
    const task = await waitForTask(ctx.ecs, taskArn, "RUNNING");
    const eni = task.attachments?.find((a) => a.type === "ElasticNetworkInterface");
    assert.equal(eni?.status, "ATTACHED");
    const address = addressOf(task);
    assert.match(address, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
    assert.equal(detail(task, "subnetId"), "subnet-0123456789abcdef0");
    assert.match(detail(task, "networkInterfaceId") ?? "", /^eni-[0-9a-f]{17}$/);
    assert.match(detail(task, "macAddress") ?? "", /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.equal(detail(task, "privateDnsName"), `ip-${address.replaceAll(".", "-")}.ec2.internal`);
    for (const container of task.containers ?? [])
      assert.deepEqual(container.networkInterfaces, [
        { attachmentId: eni?.id, privateIpv4Address: address },
      ]);
    // NAT to the outside: one masquerade rule for the cluster's subnet, none per task.
    const { stdout } = await run("iptables", ["-w", "-t", "nat", "-S", "POSTROUTING"]);
    assert.ok(!stdout.includes(`-s ${address}/32`), "a per-task NAT rule");
    const masquerade = stdout
      .split("\n")
      .filter((line) => line.endsWith("-j MASQUERADE") && covers(line, address));
    assert.equal(masquerade.length, 1, stdout);
    assert.match(masquerade[0] ?? "", / ! -o bth[0-9a-f]{10} /);
    const stopped = await stopAndWait(ctx, taskArn);
    assert.equal(stopped.attachments?.[0]?.status, "DELETED");
    const { stdout: after } = await run("iptables", ["-w", "-t", "nat", "-S", "POSTROUTING"]);
    assert.ok(!after.includes(`-s ${address}/32`), "a per-task NAT rule");
  });

  it("lets two containers of one task talk over localhost", async () => {
    const exit = await (async () => {
      const taskArn = await runOne(ctx, "pair", [
        { name: "web", essential: false, command: ["sh", "-c", HTTPD] },
        {
          name: "client",
          command: [
            "sh",
            "-c",
            "for i in $(busybox seq 50); do wget -qO- http://127.0.0.1:8080/ | grep -q hello-from && exit 0; sleep 0.2; done; exit 1",
          ],
        },
      ]);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const task = await describeTask(ctx.ecs, taskArn);
        if (task.lastStatus === "STOPPED")
          return task.containers?.find((c) => c.name === "client")?.exitCode;
        if (Date.now() > deadline) assert.fail("the task did not finish");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    assert.equal(exit, 0);
  });

  it("connects tasks of one cluster and the host to a task, and keeps other clusters out", async () => {
    const serverArn = await runOne(ctx, "server", [
      { name: "web", command: ["sh", "-c", HTTPD], environment: [{ name: "TASK", value: "one" }] },
    ]);
    const address = addressOf(await waitForTask(ctx.ecs, serverArn, "RUNNING"));
    // The host (where a load balancer runs) reaches it.
    let body = "";
    for (let i = 0; i < 50 && !body.includes("hello-from-one"); i++) {
      body = await fetch(`http://${address}:8080/`)
        .then((r) => r.text())
        .catch(() => "");
      if (!body.includes("hello-from-one")) await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(body, /hello-from-one/);
    // A task of the same cluster reaches it by the address DescribeTasks shows ...
    assert.equal(
      await exitCodeOf(
        ctx,
        "same-cluster",
        `timeout 5 wget -qO- http://${address}:8080/ | grep -q hello-from-one`,
      ),
      0,
    );
    // ... a task of another cluster does not.
    assert.notEqual(
      await exitCodeOf(
        ctx,
        "other-cluster",
        `timeout 3 wget -qO- http://${address}:8080/; exit $?`,
        "other",
      ),
      0,
    );
    await stopAndWait(ctx, serverArn);
  });

  it("lets a task reach on the host only its metadata endpoint, through no gateway", async () => {
    // A task of the other cluster, so that its gateway exists on this host.
    const otherArn = await runOne(
      ctx,
      "other-sleeper",
      [{ name: "app", command: ["sh", "-c", "exec sleep 600"] }],
      "other",
    );
    await waitForTask(ctx.ecs, otherArn, "RUNNING");
    const hostPort = (hostService.address() as AddressInfo).port;
    const berthPort = new URL(ctx.berth.endpoint).port;
    const targets = ["$GW", gatewayOf(ctx, "other"), hostAddress()].filter(Boolean).join(" ");
    // Exit code bits: 1 the own metadata endpoint failed, 2 the host service answered, 4
    // Berth's API answered (on some target); 0 is the only good outcome.
    const probe = [
      "GW=${ECS_CONTAINER_METADATA_URI_V4#http://}; GW=${GW%%:*}; r=0",
      `timeout 5 wget -qO- "$ECS_CONTAINER_METADATA_URI_V4" | grep -q DockerId || r=$((r|1))`,
      `for t in ${targets}; do`,
      `  timeout 3 nc $t ${hostPort} </dev/null | grep -q host-secret && r=$((r|2))`,
      `  printf 'GET / HTTP/1.0\r\n\r\n' | timeout 3 nc $t ${berthPort} | grep -q HTTP/ && r=$((r|4))`,
      "done",
      "exit $r",
    ].join("\n");
    const exit = await exitCodeOf(ctx, "host-prober", probe);
    assert.equal(
      exit,
      0,
      `probe bits ${exit ?? "?"}: 1 metadata failed, 2 host service, 4 Berth API`,
    );
    // The host itself still reaches the service (the guard is only for the tasks' bridges).
    const reply = await new Promise<string>((resolve) => {
      let text = "";
      const socket = createConnection(hostPort, "127.0.0.1");
      socket.on("data", (chunk) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
    });
    assert.match(reply, /host-secret/);
    await stopAndWait(ctx, otherArn);
  });

  it("keeps a task from passing for another, so it cannot read the other's metadata", async () => {
    const victimArn = await runOne(ctx, "victim", [
      { name: "app", command: ["sh", "-c", "exec sleep 600"] },
    ]);
    const victim = addressOf(await waitForTask(ctx.ecs, victimArn, "RUNNING"));
    const victimId = victimArn.split("/").pop() ?? "";
    // The attacker waits until its namespace holds the victim's address as well as its own,
    // then claims it in ARP (NET_RAW, which Fargate grants) and asks for the victim's metadata
    // from it. Exit bits: 1 it read the victim's metadata, 2 its namespace forwards IPv4.
    const attack = [
      "GW=${ECS_CONTAINER_METADATA_URI_V4#http://}; BASE=${ECS_CONTAINER_METADATA_URI_V4%/v4/*}",
      "GW=${GW%%:*}; r=0",
      `for i in $(busybox seq 150); do busybox ip -4 addr show eth0 | grep -q ' ${victim}/' && break; sleep 0.2; done`,
      `busybox arping -U -c 2 -s ${victim} -I eth0 $GW >/dev/null 2>&1`,
      `busybox arping -c 2 -s ${victim} -I eth0 $GW >/dev/null 2>&1`,
      `timeout 5 wget -qO- $BASE/v4/${victimId}-0 | grep -q DockerId && r=$((r|1))`,
      "grep -q '^0$' /proc/sys/net/ipv4/ip_forward || r=$((r|2))",
      "exit $r",
    ].join("\n");
    const attackerArn = await runOne(ctx, "impostor", [
      { name: "app", command: ["sh", "-c", attack] },
    ]);
    const attacker = await waitForTask(ctx.ecs, attackerArn, "RUNNING");
    const gateway = addressOf(attacker).replace(/\.\d+$/, ".1");
    // What NET_ADMIN would let it do, or a gVisor sandbox's own network stack: the victim's
    // address on its interface, and the victim's address as its source towards the gateway.
    const netns = taskNetns(join(ctx.berth.dataDir, "agent"), attackerArn);
    await run("nsenter", [`--net=${netns}`, "ip", "addr", "add", `${victim}/32`, "dev", "eth0"]);
    await run("nsenter", [
      `--net=${netns}`,
      "ip",
      "route",
      "replace",
      `${gateway}/32`,
      "dev",
      "eth0",
      "src",
      victim,
    ]);
    const done = await waitForTask(ctx.ecs, attackerArn, "STOPPED");
    const exit = done.containers?.[0]?.exitCode;
    assert.equal(exit, 0, `attack bits ${exit ?? "?"}: 1 read the victim's metadata, 2 forwarding`);
    await stopAndWait(ctx, victimArn);
  });
});

describe("task addresses", () => {
  let ctx: Context;
  // A /29 of its own (5 task addresses), in the last /16 of the shared address space: servers
  // cut cluster blocks (/18) from its start, so other Berths on the machine rarely hold one here.
  const base = 100 * 2 ** 24 + 127 * 2 ** 16 + Math.floor(Math.random() * 2 ** 13) * 8;
  const cidr = `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/29`;
  before(async () => {
    ctx = await startContext(["--task-cidr", cidr]);
  });
  after(async () => {
    ctx.ecs.destroy();
    await ctx.berth.stop();
  });

  const sleeper: ContainerDefinition[] = [{ name: "app", command: ["sh", "-c", "exec sleep 600"] }];

  it("never hands one address to two live tasks, and reuses an address only after its task stopped", async () => {
    const tasks = await runTasks(ctx, "pool", sleeper, { count: 5 });
    const running = await Promise.all(
      tasks.map((t) => waitForTask(ctx.ecs, t.taskArn ?? "", "RUNNING")),
    );
    const addresses = running.map(addressOf);
    assert.equal(new Set(addresses).size, 5);
    // The pool is full: a sixth task cannot get an address and fails to start.
    const [sixth] = await runTasks(ctx, "pool", sleeper);
    const deadline = Date.now() + 60_000;
    let failed = await describeTask(ctx.ecs, sixth?.taskArn ?? "");
    while (failed.lastStatus !== "STOPPED" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      failed = await describeTask(ctx.ecs, sixth?.taskArn ?? "");
    }
    assert.equal(failed.stopCode, "TaskFailedToStart");
    assert.match(failed.stoppedReason ?? "", /^ResourceInitializationError: /);
    // Once one task has stopped, its address is the one a new task gets.
    const freed = running[2] as Task;
    await stopAndWait(ctx, freed.taskArn ?? "");
    const [next] = await runTasks(ctx, "pool", sleeper);
    assert.equal(
      addressOf(await waitForTask(ctx.ecs, next?.taskArn ?? "", "RUNNING")),
      addressOf(freed),
    );
    for (const task of [...running.filter((t) => t !== freed), next as Task])
      await stopAndWait(ctx, task.taskArn ?? "");
  });

  it("keeps a running task's address across kill -9 and restart, and releases it at stop", async () => {
    const [task] = await runTasks(ctx, "survivor", [
      { name: "web", command: ["sh", "-c", HTTPD], environment: [{ name: "TASK", value: "kept" }] },
    ]);
    const taskArn = task?.taskArn ?? "";
    const address = addressOf(await waitForTask(ctx.ecs, taskArn, "RUNNING"));
    ctx.berth = await ctx.berth.restart();
    ctx.ecs.destroy();
    ctx.ecs = new ECSClient(ctx.berth.clientConfig);
    const after = await waitForTask(ctx.ecs, taskArn, "RUNNING");
    assert.equal(addressOf(after), address);
    let body = "";
    for (let i = 0; i < 50 && !body.includes("hello-from-kept"); i++) {
      body = await fetch(`http://${address}:8080/`)
        .then((r) => r.text())
        .catch(() => "");
      if (!body.includes("hello-from-kept")) await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(body, /hello-from-kept/);
    await stopAndWait(ctx, taskArn);
    // Released: host-local holds no address, and the cluster's bridge goes after its last task
    // (once it has been idle 10 s: a bounded wait).
    const ipam = join(ctx.berth.dataDir, "agent", "network", "ipam");
    const held = existsSync(ipam)
      ? readdirSync(ipam, { recursive: true }).filter((f) => String(f).includes(address))
      : [];
    assert.deepEqual(held, []);
    const routed = async (): Promise<boolean> =>
      (await run("ip", ["-4", "route"])).stdout.includes(cidr);
    for (let i = 0; i < 300 && (await routed()); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(!(await routed()), `the bridge of ${cidr} is still there`);
  });
});
