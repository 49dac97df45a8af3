// A gVisor task's network is gVisor's own stack (issue 12, item 12): its sockets live in the
// sandbox, not in the host's kernel. Under `--network=host` (hostinet) every socket call of the
// task went to the host kernel inside the task's namespace, so a hostile task spoke to the host's
// TCP/IP code directly; the attack below opens sockets from a gVisor task and looks for them in
// the host kernel. The task must still reach its peers, its metadata endpoint, and be reached
// through a load balancer. Traffic stays on loopback and task addresses in 100.64.0.0/10.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createConnection } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  CreateClusterCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
  type Task,
  type Tag,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  type BerthProcess,
  freePort,
  startEcsTestbed,
  taskNetns,
  until,
  waitForTask,
  type EcsTestbed,
  taskLogs,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const SERVER = "while true; do echo pong | nc -l -p 7070; done";
const HTTPD =
  "mkdir -p /www && echo hello-from-gvisor > /www/index.html && exec busybox httpd -f -p 8080 -h /www";

let bed: EcsTestbed;
let berth: BerthProcess;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;
let image: string;
const started: string[] = [];

before(async () => {
  bed = await startEcsTestbed();
  ({ berth, ecs, image } = bed);
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
  await ecs.send(
    new CreateClusterCommand({
      clusterName: "gvisor",
      tags: [{ key: "berth:runtime", value: "runsc" }],
    }),
  );
});
after(async () => {
  for (const task of started)
    await ecs.send(new StopTaskCommand({ cluster: "gvisor", task })).catch(() => undefined);
  for (const task of started) await waitForTask(ecs, task, "STOPPED").catch(() => undefined);
  elb?.destroy();
  await bed.stop();
});

async function runTask(family: string, containers: ContainerDefinition[], tags?: Tag[]) {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: containers.map((c) => ({
        image,
        essential: true,
        stopTimeout: 1,
        ...c,
      })),
      ...(tags === undefined ? {} : { tags }),
    }),
  );
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({ cluster: "gvisor", taskDefinition: taskDefinition?.taskDefinitionArn }),
  );
  assert.deepEqual(failures, []);
  const task = tasks[0]?.taskArn ?? "";
  started.push(task);
  return task;
}

function addressOf(task: Task): string {
  const address = task.attachments
    ?.find((a) => a.type === "ElasticNetworkInterface")
    ?.details?.find((d) => d.name === "privateIPv4Address")?.value;
  assert.ok(address !== undefined && address.startsWith("100."), `address ${address}`);
  return address;
}

const logsOf = (taskArn: string) => taskLogs(berth, taskArn, { cluster: "gvisor" });

/** The task's network namespace as the host sees it (the agent's bind-mounted nsfs file). */
function netnsOf(taskArn: string): string {
  return taskNetns(join(berth.dataDir, "agent"), taskArn);
}

/** The host kernel's TCP sockets in a namespace (ss, as root). */
async function hostKernelSockets(netns: string): Promise<string> {
  const { stdout } = await run("nsenter", [`--net=${netns}`, "ss", "-Htanp"]);
  return stdout;
}

async function readFrom(host: string, port: number): Promise<string> {
  return until(
    `${host}:${port} to answer`,
    () =>
      new Promise<string>((resolve) => {
        const socket = createConnection(port, host);
        let text = "";
        socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        socket.on("end", () => resolve(text));
        socket.on("error", () => resolve(""));
      }),
    (text) => text !== "",
    { timeoutMs: 30_000 },
  );
}

describe("a gVisor task's network (issue 12, item 12)", () => {
  it("keeps the task's sockets out of the host kernel, and still reaches and is reached by its peers", async () => {
    // The attacker listens, and keeps a connection open to a peer (the host, on its gateway).
    const serverArn = await runTask("gvisor-server", [
      { name: "server", command: ["sh", "-c", SERVER] },
    ]);
    const server = await waitForTask(ecs, serverArn, "RUNNING");
    const address = addressOf(server);
    // A peer (the host, where load balancers run) reaches it at the address CNI gave it.
    assert.equal(await readFrom(address, 7070), "pong\n");

    // The attack: the task's listening socket and connections are the host kernel's under
    // hostinet (owned by the sandbox process in the task's namespace). Under gVisor's own stack
    // the host kernel holds none of them.
    const sockets = await hostKernelSockets(netnsOf(serverArn));
    assert.doesNotMatch(sockets, /:7070\b/, `the host kernel holds the task's socket:\n${sockets}`);

    // A runc peer in the same cluster and the gVisor task reach each other, and the gVisor task
    // reads its own metadata endpoint.
    const clientArn = await runTask("gvisor-client", [
      {
        name: "client",
        command: [
          "sh",
          "-c",
          `nc ${address} 7070 </dev/null; u=\${ECS_CONTAINER_METADATA_URI_V4#http://}; ` +
            `hp=\${u%%/*}; (printf "GET /\${u#*/}/task HTTP/1.0\\r\\n\\r\\n"; sleep 10) | nc \${hp%:*} \${hp#*:}`,
        ],
      },
    ]);
    const client = await waitForTask(ecs, clientArn, "STOPPED");
    assert.equal(client.containers?.[0]?.exitCode, 0);
    const output = await logsOf(clientArn);
    assert.match(output, /^pong$/m);
    assert.match(output, new RegExp(`"TaskARN":"${clientArn}"`));

    const runcArn = await runTask(
      "runc-client",
      [{ name: "client", command: ["sh", "-c", `nc ${address} 7070 </dev/null`] }],
      [{ key: "berth:runtime", value: "runc" }],
    );
    const runcClient = await waitForTask(ecs, runcArn, "STOPPED");
    assert.equal(runcClient.containers?.[0]?.exitCode, 0);
    assert.match(await logsOf(runcArn), /^pong$/m);
  });

  it("is reached through a load balancer", async () => {
    const taskArn = await runTask("gvisor-web", [
      { name: "web", command: ["sh", "-c", HTTPD], portMappings: [{ containerPort: 8080 }] },
    ]);
    const address = addressOf(await waitForTask(ecs, taskArn, "RUNNING"));
    const port = await freePort();
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "gvisor" }));
    const { TargetGroups } = await elb.send(
      new CreateTargetGroupCommand({
        Name: "gvisor",
        Protocol: "HTTP",
        Port: 8080,
        TargetType: "ip",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
      }),
    );
    const tgArn = TargetGroups?.[0]?.TargetGroupArn ?? "";
    await elb.send(
      new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: address }] }),
    );
    await elb.send(
      new CreateListenerCommand({
        Protocol: "HTTP",
        LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
        Port: port,
        DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }],
      }),
    );
    await until(
      "the gVisor target to be healthy",
      async () =>
        (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn })))
          .TargetHealthDescriptions?.[0]?.TargetHealth?.State,
      (state) => state === "healthy",
    );
    const dnsName = LoadBalancers?.[0]?.DNSName ?? "";
    const { stdout } = await run("curl", ["-sS", "--max-time", "10", `http://${dnsName}:${port}/`]);
    assert.equal(stdout, "hello-from-gvisor\n");
  });
});
