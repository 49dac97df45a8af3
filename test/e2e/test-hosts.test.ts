// Several machines on one (issue 15, items 3 and 6): two test hosts, each a `berth agent` in its
// own network namespace on a bridge the test made, with its own /run and data dir, joined over
// TLS. A service's tasks land on both and pull their image from Berth's own registry, which the
// hosts reach only at the server's address over TLS with the CA they pinned; a pull from a
// registry that does not answer names the registry and the cause.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  Datacenter,
  pushBusyboxImage,
  recentWarnings,
  startBerthProcess,
  until,
  waitForTask,
  waitForTasksStopped,
  type BerthProcess,
  type TestHost,
} from "../../src/testing/index.js";

let dc: Datacenter;
let berth: BerthProcess;
let ecs: ECSClient;
const hosts: TestHost[] = [];

before(async () => {
  dc = await Datacenter.create();
  // The server listens on the datacenter bridge only: the hosts reach it there, over TLS.
  berth = await startBerthProcess({ args: ["--no-local-agent", "--host", dc.gateway] });
  const join = { ...berth.join, token: berth.joinToken };
  // One task of the size below fills a host, so a service of two spreads over both.
  for (const az of ["us-east-1a", "us-east-1b"])
    hosts.push(await dc.addHost(join, { cpu: 1024, memory: 2048, availabilityZone: az }));
  ecs = new ECSClient(berth.clientConfig);
});
after(async () => {
  ecs?.destroy();
  await dc?.close();
  await berth?.stop();
});

async function register(family: string, image: string, command: string[]): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "1024",
      memory: "2048",
      containerDefinitions: [{ name: "app", image, essential: true, stopTimeout: 1, command }],
    }),
  );
  return taskDefinition?.taskDefinitionArn ?? "";
}

describe("test hosts", () => {
  it("are machines of their own: network, /run, data dir, and the cgroups still visible", async () => {
    assert.equal(hosts.length, 2);
    const own = readlinkSync("/proc/self/ns/net");
    const nets = hosts.map((h) => readlinkSync(`/proc/${String(h.agent.process.pid)}/ns/net`));
    assert.notEqual(nets[0], own);
    assert.notEqual(nets[0], nets[1]);
    for (const host of hosts) {
      const pid = String(host.agent.process.pid);
      // Its own /run (a tmpfs of its own), not the machine's.
      assert.match(readFileSync(`/proc/${pid}/mountinfo`, "utf8"), / \/run .* - tmpfs berth-run /);
      // nsenter --net keeps /sys as it is: the cgroup hierarchies are there.
      const cgroups = await host.exec("ls", ["/sys/fs/cgroup"]);
      assert.match(cgroups.stdout, /\bmemory\b/);
      const address = await host.exec("ip", ["-4", "-o", "addr", "show", "dev", "eth0"]);
      assert.match(address.stdout, new RegExp(` ${host.address.replace(/\./g, "\\.")}/24 `));
      assert.ok(host.address.startsWith("100.127."));
      assert.ok(existsSync(join(host.dataDir, "server-ca.crt")));
    }
    // The agents came over TLS: the server logged each join from the host's address.
    for (const host of hosts)
      assert.match(berth.output(), new RegExp(`host joined .*remote=${host.address}`));
  });

  it("run a service's tasks on both hosts, pulled from Berth's own registry", async () => {
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    // The URI names the server's address; the hosts pull it from the server over TLS.
    assert.ok(image.startsWith(`${dc.gateway}:`));
    const definition = await register("spread", image, [
      "sh",
      "-c",
      "trap 'exit 0' TERM; while true; do sleep 0.2; done",
    ]);
    await ecs.send(
      new CreateServiceCommand({
        serviceName: "spread",
        taskDefinition: definition,
        desiredCount: 2,
      }),
    );
    try {
      await until(
        "the service to run 2 tasks",
        async () =>
          (await ecs.send(new DescribeServicesCommand({ services: ["spread"] }))).services?.[0],
        (s) => s?.runningCount === 2,
        { timeoutMs: 180_000, context: () => recentWarnings(berth.output()) },
      );
      const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "spread" }));
      const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ tasks: taskArns }));
      assert.equal(tasks.length, 2);
      assert.deepEqual(
        tasks.map((t) => t.lastStatus),
        ["RUNNING", "RUNNING"],
      );
      // One on each host: each host's data dir holds the image it pulled and one task.
      for (const host of hosts) {
        const held = readdirSync(join(host.dataDir, "tasks")).filter((f) => f.endsWith(".json"));
        assert.equal(held.length, 1, `${host.name} holds ${held.join(", ")}`);
        assert.ok(readdirSync(join(host.dataDir, "images", "images")).length >= 1);
      }
      assert.deepEqual(tasks.map((t) => t.availabilityZone).sort(), ["us-east-1a", "us-east-1b"]);
    } finally {
      await ecs.send(new UpdateServiceCommand({ service: "spread", desiredCount: 0 }));
      await ecs.send(new DeleteServiceCommand({ service: "spread", force: true }));
      const { taskArns = [] } = await ecs.send(
        new ListTasksCommand({ serviceName: "spread", desiredStatus: "STOPPED" }),
      );
      if (taskArns.length > 0) await waitForTasksStopped(ecs, taskArns);
    }
  });

  it("name the registry and the cause when a pull cannot reach it", async () => {
    // Port 2 of the server's address: nothing listens there (fetch refuses port 1 itself).
    const definition = await register("unreachable", `${dc.gateway}:2/none:latest`, ["true"]);
    const run = await ecs.send(new RunTaskCommand({ taskDefinition: definition }));
    const taskArn = run.tasks?.[0]?.taskArn ?? "";
    const task = await waitForTask(ecs, taskArn, (t) => t.lastStatus === "STOPPED", {
      timeoutMs: 120_000,
    });
    assert.match(
      task.stoppedReason ?? "",
      new RegExp(
        `^CannotPullContainerError: .*${dc.gateway.replace(/\./g, "\\.")}:2: cannot connect \\(.*ECONNREFUSED`,
      ),
    );
  });
});
