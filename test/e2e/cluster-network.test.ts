// One task network per cluster across hosts (issue 15, items 1, 2, 4 and 6): three test hosts
// on a datacenter bridge, the server alone handing out addresses (`--task-cidr` on berth up).
// A task on one host reaches a task of its cluster on another by its address, both ways, with
// a 10 MiB body intact; a task of another cluster reaches neither; tasks' MTU leaves room for
// VXLAN. A service of 6 tasks over the 3 hosts behind a listener (the load balancer in the
// server reaches every host): requests spread over all 6; one host's agent killed -9 and its
// link cut, no request fails after one retry and the service is back to 6 on the others.
// Addresses stay unique over 40 tasks (a moderate count, to keep the suite's time) and a
// server restart keeps every running task's address.
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
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
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
import {
  Datacenter,
  pushBusyboxImage,
  recentWarnings,
  startBerthProcess,
  until,
  type BerthProcess,
  type TestHost,
} from "../../src/testing/index.js";

/** Serves a 10 MiB random blob and the task's own random id. */
const HTTPD =
  "mkdir -p /www && head -c 10485760 /dev/urandom > /www/blob && cat /proc/sys/kernel/random/uuid > /www/id && exec busybox httpd -f -p 8080 -h /www";

let dc: Datacenter;
let berth: BerthProcess;
let ecs: ECSClient;
let image = "";
let serverArgs: string[] = [];
const hosts: TestHost[] = [];

before(async () => {
  dc = await Datacenter.create();
  // A /16 of its own inside 100.64.0.0/10, away from the datacenter's 100.127/16.
  const taskCidr = `100.${80 + randomInt(40)}.0.0/16`;
  serverArgs = [
    "--no-local-agent",
    "--host",
    dc.gateway,
    "--task-cidr",
    taskCidr,
    "--host-timeout-seconds",
    "15",
  ];
  berth = await startBerthProcess({ args: serverArgs, keepDataDir: true });
  const join = { ...berth.join, token: berth.joinToken };
  for (const az of ["us-east-1a", "us-east-1b", "us-east-1c"])
    hosts.push(await dc.addHost(join, { cpu: 4096, memory: 8192, availabilityZone: az }));
  ecs = new ECSClient(berth.clientConfig);
  image = (await pushBusyboxImage(berth, "busybox")).uri;
});
after(async () => {
  ecs?.destroy();
  await dc?.close();
  await berth?.stop();
});

async function register(family: string, command: string, cpu = "1024"): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu,
      memory: String(Number(cpu) * 2),
      containerDefinitions: [
        {
          name: "web",
          image,
          essential: true,
          stopTimeout: 1,
          command: ["sh", "-c", command],
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    }),
  );
  return taskDefinition?.taskDefinitionArn ?? "";
}

function addressOf(task: Task): string {
  const detail = task.attachments?.[0]?.details?.find((d) => d.name === "privateIPv4Address");
  return detail?.value ?? assert.fail(`task ${task.taskArn ?? ""} has no address`);
}

/** The test host a task runs on and its network namespace there (found by its address). */
async function placeOf(address: string): Promise<{ host: TestHost; netns: string }> {
  for (const host of hosts) {
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

async function runTasks(cluster: string, definition: string, count: number): Promise<Task[]> {
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({ cluster, taskDefinition: definition, count }),
  );
  assert.deepEqual(failures, []);
  return waitTasks(cluster, tasks, "RUNNING");
}

/** Polls the tasks of `cluster` until all have `status`; one stopping early fails the wait. */
async function waitTasks(cluster: string, tasks: Task[], status: string): Promise<Task[]> {
  return until(
    `${tasks.length} tasks of ${cluster} ${status}`,
    async () =>
      (
        await ecs.send(
          new DescribeTasksCommand({ cluster, tasks: tasks.map((t) => t.taskArn ?? "") }),
        )
      ).tasks ?? [],
    (found) => {
      const early = found.find((t) => t.lastStatus === "STOPPED" && status !== "STOPPED");
      if (early !== undefined)
        throw new Error(`a task stopped: ${early.stopCode ?? ""} ${early.stoppedReason ?? ""}`);
      return found.length === tasks.length && found.every((t) => t.lastStatus === status);
    },
    { timeoutMs: 180_000, context: () => recentWarnings(berth.output()) },
  );
}

async function stopAll(cluster: string, tasks: Task[]): Promise<void> {
  for (const task of tasks)
    await ecs.send(new StopTaskCommand({ cluster, task: task.taskArn, reason: "test done" }));
  await waitTasks(cluster, tasks, "STOPPED");
}

describe("a cluster's network across hosts", () => {
  it("joins tasks of one cluster on different hosts, both ways, and keeps other clusters out", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "net-a" }));
    await ecs.send(new CreateClusterCommand({ clusterName: "net-b" }));
    const definition = await register("blob", HTTPD);
    // Three tasks of one group spread over the three hosts.
    const mine = await runTasks("net-a", definition, 3);
    const other = await runTasks("net-b", definition, 1);
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
      await stopAll("net-a", mine);
      await stopAll("net-b", other);
    }
  });
});

describe("addresses across hosts", () => {
  it("are unique over 40 tasks started and stopped on 3 hosts", async () => {
    const definition = await register(
      "many",
      "trap 'exit 0' TERM; while true; do sleep 1; done",
      "256",
    );
    const perHostSubnet = new Map<string, string>();
    for (let round = 0; round < 2; round++) {
      const tasks = (
        await Promise.all([
          runTasks("default", definition, 10),
          runTasks("default", definition, 10),
        ])
      ).flat();
      const addresses = tasks.map(addressOf);
      assert.equal(new Set(addresses).size, 20, `round ${round}: ${addresses.join(" ")}`);
      // Each host hands out addresses only inside the subnet the server gave it.
      for (const task of tasks) {
        const { host } = await placeOf(addressOf(task));
        const prefix = addressOf(task).split(".").slice(0, 3).join(".");
        const known = perHostSubnet.get(host.name) ?? prefix;
        assert.equal(prefix, known, `${host.name} hands out ${addressOf(task)}`);
        perHostSubnet.set(host.name, known);
      }
      await stopAll("default", tasks);
    }
    assert.equal(new Set(perHostSubnet.values()).size, perHostSubnet.size);
  });
});

describe("the load balancer across hosts", () => {
  let elb: ElasticLoadBalancingV2Client;
  let dnsName = "";
  let listenerPort = 0;
  let tgArn = "";
  before(() => {
    elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
  });
  after(async () => {
    await ecs
      .send(new UpdateServiceCommand({ service: "web", desiredCount: 0 }))
      .catch(() => undefined);
    await ecs
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
    await ecs.send(
      new CreateServiceCommand({
        serviceName: "web",
        taskDefinition: await register("web", HTTPD.replace("head -c 10485760", "head -c 1024")),
        desiredCount: 6,
        loadBalancers: [{ targetGroupArn: tgArn, containerName: "web", containerPort: 8080 }],
        healthCheckGracePeriodSeconds: 60,
      }),
    );
    await until("six healthy targets", healthyTargets, (t) => t.length === 6, {
      timeoutMs: 240_000,
      context: () => recentWarnings(berth.output()),
    });
    const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ tasks: taskArns }));
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
    const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ tasks: taskArns }));
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
          const service = (await ecs.send(new DescribeServicesCommand({ services: ["web"] })))
            .services?.[0];
          const { taskArns: live = [] } = await ecs.send(
            new ListTasksCommand({ serviceName: "web", desiredStatus: "RUNNING" }),
          );
          return {
            running: service?.runningCount,
            healthy: (await healthyTargets()).length,
            replaced: !live.some((arn) => doomed.includes(arn)),
          };
        },
        (s) => s.replaced && s.running === 6 && s.healthy === 6,
        { timeoutMs: 180_000, context: () => recentWarnings(berth.output()) },
      );
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.ok(total > 20, `only ${total} requests`);
    assert.equal(failures, 0, `${failures} of ${total} requests failed after a retry`);
    const { taskArns: now = [] } = await ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const running = (await ecs.send(new DescribeTasksCommand({ tasks: now }))).tasks ?? [];
    for (const task of running)
      assert.notEqual((await placeOf(addressOf(task))).host.name, victim.name);
  });

  it("keeps addresses over a server restart", async () => {
    const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const before = (await ecs.send(new DescribeTasksCommand({ tasks: taskArns }))).tasks ?? [];
    berth = await berth.restart();
    ecs.destroy();
    ecs = new ECSClient(berth.clientConfig);
    await until(
      "the hosts to come back",
      async () => (await ecs.send(new DescribeTasksCommand({ tasks: taskArns }))).tasks ?? [],
      (t) => t.length === 6 && t.every((x) => x.lastStatus === "RUNNING"),
      { timeoutMs: 60_000 },
    );
    const after = (await ecs.send(new DescribeTasksCommand({ tasks: taskArns }))).tasks ?? [];
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
