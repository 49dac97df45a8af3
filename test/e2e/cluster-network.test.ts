// One task network per cluster across hosts (issue 15, items 1, 2, 4 and 6): three test hosts
// on a datacenter bridge, the server alone handing out addresses (`--task-cidr` on berth up).
// A task on one host reaches a task of its cluster on another by its address, both ways, with
// a 10 MiB body intact; a task of another cluster reaches neither; tasks' MTU leaves room for
// VXLAN. A service of 6 tasks over the 3 hosts behind a listener (the load balancer in the
// server reaches every host): requests spread over all 6; one host's agent killed -9 and its
// link cut, no request fails after one retry and the service is back to 6 on the others. A
// machine on the datacenter network that never joined cannot put packets into a cluster by
// forging its VXLAN traffic.
// A server restart keeps every running task's address. (Addresses over 200 tasks:
// cluster-addresses.test.ts, with a fixture of its own as it takes minutes.)
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  UpdateServiceCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { runCommand } from "../../src/agent/index.js";
import { recentWarnings, until, type TestHost } from "../../src/testing/index.js";
import { addressOf, ThreeHosts } from "./cluster-hosts.js";

/** Serves a 10 MiB random blob and the task's own random id. */
const HTTPD =
  "mkdir -p /www && head -c 10485760 /dev/urandom > /www/blob && cat /proc/sys/kernel/random/uuid > /www/id && exec busybox httpd -f -p 8080 -h /www";

let net: ThreeHosts;

before(async () => {
  net = await ThreeHosts.start();
});
after(async () => {
  await net?.close();
});

/** The test host a task runs on and its network namespace there (found by its address). */
async function placeOf(address: string): Promise<{ host: TestHost; netns: string }> {
  for (const host of net.hosts) {
    const dir = join(host.dataDir, "run", "netns");
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const netns = join(dir, name);
      const shown = await host.exec("nsenter", [`--net=${netns}`, "ip", "-4", "-o", "addr"]);
      if (shown.stdout.includes(` ${address}/`)) return { host, netns };
    }
  }
  return assert.fail(`no host holds ${address}`);
}

/** curl from inside a task's namespace (on its host): the task's own network path. */
async function curlFrom(
  from: { host: TestHost; netns: string },
  url: string,
  pipe = "",
): Promise<{ stdout: string; code: number }> {
  const script = `curl -sS --max-time 5 ${url}${pipe}`;
  return from.host.exec("nsenter", [`--net=${from.netns}`, "sh", "-c", script]);
}

/** The cluster's VXLAN device on `host` (the only one there): its VNI, MAC and VTEP address. */
async function vxlanOf(host: TestHost): Promise<{ vni: number; mac: string; vtep: string }> {
  const shown = (await host.exec("ip", ["-o", "-d", "link", "show", "type", "vxlan"])).stdout;
  const name = /^\d+: ([^:@\s]+)/.exec(shown)?.[1] ?? assert.fail(`no VXLAN device: ${shown}`);
  const addresses = (await host.exec("ip", ["-o", "-4", "addr", "show", "dev", name])).stdout;
  return {
    vni: Number(/vxlan id (\d+)/.exec(shown)?.[1]),
    mac: /link\/ether (\S+)/.exec(shown)?.[1] ?? assert.fail("no MAC"),
    vtep: /inet (\S+)\/32/.exec(addresses)?.[1] ?? assert.fail("no VTEP address"),
  };
}

/**
 * UDP datagrams the task's network stack has taken in so far, delivered or refused for want of a
 * listener (the forged ones go to a port nobody listens on). Counting only UDP leaves out the
 * ARP and IPv6 housekeeping that reaches eth0 anyway: the device's packet count moved by 3 in a
 * CI run with the forged packets dropped.
 */
async function receivedBy(place: { host: TestHost; netns: string }): Promise<number> {
  const shown = await place.host.exec("nsenter", [`--net=${place.netns}`, "cat", "/proc/net/snmp"]);
  const [names, values] = shown.stdout.split("\n").filter((line) => line.startsWith("Udp: "));
  const field = (name: string): number => {
    const at = (names ?? "").split(" ").indexOf(name);
    return at > 0 ? Number((values ?? "").split(" ")[at]) : assert.fail(`no Udp ${name}`);
  };
  return field("InDatagrams") + field("NoPorts") + field("InErrors");
}

/**
 * A machine on the datacenter bridge that never joined sends 20 datagrams to `address` (a task on
 * `victim`'s host) inside VXLAN packets of the cluster's VNI, from `spoofed`'s VTEP address, as
 * a peer's would be. Returns how many packets the task received meanwhile.
 */
async function forgedPacketsReceived(
  victim: { host: TestHost; netns: string },
  address: string,
  spoofed: TestHost,
): Promise<number> {
  const target = await vxlanOf(victim.host);
  const peer = await vxlanOf(spoofed);
  const intruder = `bdc${net.dc.tag}-x`;
  const veth = `vdc${net.dc.tag}x`;
  const run = (args: string[]) => runCommand(args[0] ?? "", args.slice(1));
  const inside = (args: string[]) => run(["ip", "netns", "exec", intruder, ...args]);
  await run(["ip", "netns", "add", intruder]);
  try {
    await run([
      "ip",
      "link",
      "add",
      veth,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      intruder,
    ]);
    await run(["ip", "link", "set", veth, "master", net.dc.bridge, "up"]);
    const own = `100.127.${net.dc.octet}.99`;
    await inside(["ip", "addr", "add", `${own}/24`, "dev", "eth0"]);
    await inside(["ip", "link", "set", "eth0", "up"]);
    await inside([
      "ip",
      "link",
      "add",
      "vx",
      "type",
      "vxlan",
      "id",
      String(target.vni),
      "local",
      own,
      "dstport",
      "4789",
      "nolearning",
    ]);
    await inside(["ip", "addr", "add", `${peer.vtep}/32`, "dev", "vx"]);
    await inside(["ip", "link", "set", "vx", "up"]);
    await inside([
      "ip",
      "neigh",
      "add",
      target.vtep,
      "lladdr",
      target.mac,
      "dev",
      "vx",
      "nud",
      "permanent",
    ]);
    await inside([
      "bridge",
      "fdb",
      "add",
      target.mac,
      "dev",
      "vx",
      "dst",
      victim.host.address,
      "self",
      "permanent",
    ]);
    await inside([
      "ip",
      "route",
      "add",
      `${address}/32`,
      "via",
      target.vtep,
      "dev",
      "vx",
      "onlink",
    ]);
    const before = await receivedBy(victim);
    // Twenty UDP datagrams from the forged peer's address (node: this machine has no ping).
    const send = `const s = require("node:dgram").createSocket("udp4");
      let n = 0; const next = () => n++ < 20 ? s.send("forged", 9999, "${address}", next) : s.close();
      s.bind(0, "${peer.vtep}", next);`;
    await inside([process.execPath, "-e", send]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return (await receivedBy(victim)) - before;
  } finally {
    await runCommand("ip", ["netns", "del", intruder], { allowFailure: true });
    await runCommand("ip", ["link", "del", veth], { allowFailure: true });
  }
}

describe("a cluster's network across hosts", () => {
  it("joins tasks of one cluster on different hosts, both ways, and keeps other clusters out", async () => {
    await net.ecs.send(new CreateClusterCommand({ clusterName: "net-a" }));
    await net.ecs.send(new CreateClusterCommand({ clusterName: "net-b" }));
    const definition = await net.register("blob", HTTPD);
    // Three tasks of one group spread over the three hosts.
    const mine = await net.runTasks("net-a", definition, 3);
    const other = await net.runTasks("net-b", definition, 1);
    try {
      const places = await Promise.all(mine.map((t) => placeOf(addressOf(t))));
      assert.equal(new Set(places.map((p) => p.host.name)).size, 3, "one task on each host");
      const [a, b] = [places[0] ?? assert.fail(), places[1] ?? assert.fail()];
      const [addressA, addressB] = [addressOf(mine[0] as Task), addressOf(mine[1] as Task)];
      // Each host's subnet is its own: the addresses differ beyond the last octet.
      assert.notEqual(
        addressA.split(".").slice(0, 3).join("."),
        addressB.split(".").slice(0, 3).join("."),
      );

      // A -> B and B -> A by address, and the 10 MiB blob arrives intact across hosts: its
      // checksum equals the one B's own host reads from B.
      const across = await curlFrom(a, `http://${addressB}:8080/blob`, " | md5sum");
      const local = await b.host.exec("sh", [
        "-c",
        `curl -sS --max-time 5 http://${addressB}:8080/blob | md5sum`,
      ]);
      assert.equal(local.code, 0, "the host reaches its own task");
      assert.match(across.stdout, /^[0-9a-f]{32} /);
      assert.equal(across.stdout, local.stdout);
      const idB = await curlFrom(a, `http://${addressB}:8080/id`);
      const idA = await curlFrom(b, `http://${addressA}:8080/id`);
      assert.equal(idB.code, 0, "A reaches B");
      assert.equal(idA.code, 0, "B reaches A");
      assert.notEqual(idA.stdout, idB.stdout);

      // The overlay's MTU leaves room for VXLAN's 50 bytes on the 1500-byte datacenter link.
      const link = await a.host.exec("nsenter", [
        `--net=${a.netns}`,
        "ip",
        "-o",
        "link",
        "show",
        "eth0",
      ]);
      assert.match(link.stdout, /\bmtu 1450\b/);

      // An intruder on the datacenter network, not a joined host, forges VXLAN packets of the
      // cluster's VNI (all of it derivable: VNI, VTEP MAC, addresses) at B's host: B's task
      // receives none of them.
      const received = await forgedPacketsReceived(b, addressB, a.host);
      assert.equal(received, 0, `${received} forged packets reached B's task`);

      // Another cluster's task reaches none of them, on its host or across.
      const stranger = await placeOf(addressOf(other[0] as Task));
      for (const target of mine) {
        const tried = await curlFrom(stranger, `http://${addressOf(target)}:8080/id`);
        assert.notEqual(tried.code, 0, `net-b reached ${addressOf(target)}: ${tried.stdout}`);
      }
      // ... while it still reaches its own host's gateway side for NAT (its route is there).
      const routes = await stranger.host.exec("nsenter", [
        `--net=${stranger.netns}`,
        "ip",
        "route",
      ]);
      assert.match(routes.stdout, /^default via /m);
    } finally {
      await net.stopAll("net-a", mine);
      await net.stopAll("net-b", other);
    }
  });
});

describe("the load balancer across hosts", () => {
  let elb: ElasticLoadBalancingV2Client;
  let dnsName = "";
  let listenerPort = 0;
  let tgArn = "";
  before(() => {
    elb = new ElasticLoadBalancingV2Client(net.berth.clientConfig);
  });
  after(async () => {
    await net.ecs
      .send(new UpdateServiceCommand({ service: "web", desiredCount: 0 }))
      .catch(() => undefined);
    await net.ecs
      .send(new DeleteServiceCommand({ service: "web", force: true }))
      .catch(() => undefined);
    elb.destroy();
  });

  /** One GET through the listener at the load balancer's name; the body is the task's id. */
  async function get(): Promise<{ ok: boolean; body: string }> {
    const answer = await fetch(`http://127.0.0.1:${listenerPort}/id`, {
      headers: { host: dnsName },
      signal: AbortSignal.timeout(3_000),
    }).catch(() => undefined);
    if (answer === undefined) return { ok: false, body: "" };
    return { ok: answer.status === 200, body: await answer.text().catch(() => "") };
  }

  async function healthyTargets(): Promise<string[]> {
    const { TargetHealthDescriptions = [] } = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }),
    );
    return TargetHealthDescriptions.filter((d) => d.TargetHealth?.State === "healthy").map(
      (d) => d.Target?.Id ?? "",
    );
  }

  it("spreads a service's 6 tasks on 3 hosts and serves requests from all 6", async () => {
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "web" }));
    dnsName = LoadBalancers?.[0]?.DNSName ?? "";
    const { TargetGroups } = await elb.send(
      new CreateTargetGroupCommand({
        Name: "web",
        Protocol: "HTTP",
        Port: 8080,
        TargetType: "ip",
        HealthCheckPath: "/id",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
      }),
    );
    tgArn = TargetGroups?.[0]?.TargetGroupArn ?? "";
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: tgArn,
        Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: "5" }],
      }),
    );
    listenerPort = 20_000 + randomInt(20_000);
    await elb.send(
      new CreateListenerCommand({
        Protocol: "HTTP",
        LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
        Port: listenerPort,
        DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }],
      }),
    );
    await net.ecs.send(
      new CreateServiceCommand({
        serviceName: "web",
        taskDefinition: await net.register(
          "web",
          HTTPD.replace("head -c 10485760", "head -c 1024"),
        ),
        desiredCount: 6,
        loadBalancers: [{ targetGroupArn: tgArn, containerName: "web", containerPort: 8080 }],
        healthCheckGracePeriodSeconds: 60,
      }),
    );
    await until("six healthy targets", healthyTargets, (t) => t.length === 6, {
      timeoutMs: 240_000,
      context: () => recentWarnings(net.berth.output()),
    });
    const { taskArns = [] } = await net.ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const { tasks = [] } = await net.ecs.send(new DescribeTasksCommand({ tasks: taskArns }));
    const perHost = new Map<string, number>();
    for (const task of tasks) {
      const { host } = await placeOf(addressOf(task));
      perHost.set(host.name, (perHost.get(host.name) ?? 0) + 1);
    }
    assert.deepEqual([...perHost.values()], [2, 2, 2], "two tasks on each host");
    const seen = new Set<string>();
    for (let i = 0; i < 36; i++) {
      const answer = await get();
      assert.ok(answer.ok, "every request is answered");
      seen.add(answer.body);
    }
    assert.equal(seen.size, 6, "requests spread over all six tasks on three hosts");
  });

  it("loses no request that is retried once when a host dies, and runs 6 tasks again", async () => {
    const { taskArns = [] } = await net.ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const { tasks = [] } = await net.ecs.send(new DescribeTasksCommand({ tasks: taskArns }));
    const victim = (await placeOf(addressOf(tasks[0] ?? assert.fail()))).host;
    const doomed: string[] = [];
    for (const task of tasks)
      if ((await placeOf(addressOf(task))).host === victim) doomed.push(task.taskArn ?? "");
    assert.equal(doomed.length, 2);
    let stop = false;
    let total = 0;
    let failures = 0;
    const load = async (): Promise<void> => {
      while (!stop) {
        total++;
        if (!(await get()).ok && !(await get()).ok) failures++;
      }
    };
    const clients = [load(), load()];
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // The machine crashes: its agent killed -9, its link to the datacenter cut.
      await victim.kill();
      await victim.cut();
      await until(
        "the service to run 6 tasks on the other hosts",
        async () => {
          const service = (await net.ecs.send(new DescribeServicesCommand({ services: ["web"] })))
            .services?.[0];
          const { taskArns: live = [] } = await net.ecs.send(
            new ListTasksCommand({ serviceName: "web", desiredStatus: "RUNNING" }),
          );
          return {
            running: service?.runningCount,
            healthy: (await healthyTargets()).length,
            replaced: !live.some((arn) => doomed.includes(arn)),
          };
        },
        (s) => s.replaced && s.running === 6 && s.healthy === 6,
        { timeoutMs: 180_000, context: () => recentWarnings(net.berth.output()) },
      );
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.ok(total > 20, `only ${total} requests`);
    assert.equal(failures, 0, `${failures} of ${total} requests failed after a retry`);
    const { taskArns: now = [] } = await net.ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const running = (await net.ecs.send(new DescribeTasksCommand({ tasks: now }))).tasks ?? [];
    for (const task of running)
      assert.notEqual((await placeOf(addressOf(task))).host.name, victim.name);
  });

  it("keeps addresses over a server restart", async () => {
    const { taskArns = [] } = await net.ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const before = (await net.ecs.send(new DescribeTasksCommand({ tasks: taskArns }))).tasks ?? [];
    await net.restartServer();
    await until(
      "the hosts to come back",
      async () => (await net.ecs.send(new DescribeTasksCommand({ tasks: taskArns }))).tasks ?? [],
      (t) => t.length === 6 && t.every((x) => x.lastStatus === "RUNNING"),
      { timeoutMs: 60_000 },
    );
    const after = (await net.ecs.send(new DescribeTasksCommand({ tasks: taskArns }))).tasks ?? [];
    assert.deepEqual(
      after.map(addressOf).sort(),
      before.map(addressOf).sort(),
      "every running task keeps its address",
    );
    // And the load balancer in the restarted server still reaches all six.
    await until("six healthy targets again", healthyTargets, (t) => t.length === 6, {
      timeoutMs: 60_000,
    });
    const seen = new Set<string>();
    for (let i = 0; i < 36; i++) seen.add((await get()).body);
    assert.equal(seen.size, 6);
  });
});
