/**
 * ECS services behind a load balancer, on real containers with real task addresses: busybox
 * httpd tasks registered in a target group as they run, reached with curl through the
 * listener at the load balancer's DNS name; requests spread over every task; a task stopped
 * under load loses no request that the client retries once; a rolling deployment under load
 * (new tasks counted only once healthy, old ones drained before they stop) loses none at all.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StopTaskCommand,
  UpdateServiceCommand,
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
  freePort,
  pushBusyboxImage,
  startBerthProcess,
  type BerthProcess,
} from "../../src/testing/index.js";

const run = promisify(execFile);
/** Each task writes its version and a random id into its page. */
const HTTPD =
  'mkdir -p /www && echo "$VERSION $(cat /proc/sys/kernel/random/uuid)" > /www/index.html && exec busybox httpd -f -p 8080 -h /www';

let berth: BerthProcess;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;
let image = "";
let tgArn = "";
let dnsName = "";
let listenerPort = 0;

async function register(version: string): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "web",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name: "web",
          image,
          essential: true,
          stopTimeout: 2,
          command: ["sh", "-c", HTTPD],
          environment: [{ name: "VERSION", value: version }],
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    }),
  );
  return taskDefinition?.taskDefinitionArn ?? "";
}

/** One GET through the listener; a failure is a status other than 200 or a broken exchange. */
function get(): Promise<{ ok: boolean; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: listenerPort,
        path: "/",
        headers: { host: dnsName },
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ ok: res.statusCode === 200, body: body.trim() }));
        res.on("error", () => resolve({ ok: false, body }));
      },
    );
    req.on("error", () => resolve({ ok: false, body: "" }));
    req.end();
  });
}

async function healthyTargets(): Promise<string[]> {
  const { TargetHealthDescriptions = [] } = await elb.send(
    new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }),
  );
  return TargetHealthDescriptions.filter((d) => d.TargetHealth?.State === "healthy").map(
    (d) => `${d.Target?.Id ?? ""}:${d.Target?.Port ?? 0}`,
  );
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      assert.fail(
        `timed out waiting for ${what}\n${berth.output().split("\n").slice(-30).join("\n")}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Requests from `clients` loops until `stop` resolves; counts failures (after `retries`). */
async function load(clients: number, retries: number, stop: Promise<unknown>) {
  let done = false;
  void stop.finally(() => (done = true));
  const bodies: string[] = [];
  let failures = 0;
  let total = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!done) {
        let answer = await get();
        for (let i = 0; i < retries && !answer.ok; i++) answer = await get();
        total++;
        if (answer.ok) bodies.push(answer.body);
        else failures++;
      }
    }),
  );
  return { failures, total, bodies };
}

async function serviceState() {
  const { services = [] } = await ecs.send(new DescribeServicesCommand({ services: ["web"] }));
  return services[0];
}

before(async () => {
  berth = await startBerthProcess();
  ecs = new ECSClient(berth.clientConfig);
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
  image = (await pushBusyboxImage(berth, "busybox")).uri;
  listenerPort = await freePort();
});

after(async () => {
  await ecs?.send(new DeleteServiceCommand({ service: "web", force: true })).catch(() => undefined);
  // The service's tasks stop (after draining) before Berth does.
  await until("the service's tasks to stop", async () => {
    const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "web" }));
    return taskArns.length === 0;
  }).catch(() => undefined);
  ecs?.destroy();
  elb?.destroy();
  await berth?.stop();
});

describe("services behind a load balancer", () => {
  it("registers each running task in the target group and serves curl on the listener", async () => {
    const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "web" }));
    dnsName = LoadBalancers?.[0]?.DNSName ?? "";
    const { TargetGroups } = await elb.send(
      new CreateTargetGroupCommand({
        Name: "web",
        Protocol: "HTTP",
        Port: 8080,
        TargetType: "ip",
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
    await elb.send(
      new CreateListenerCommand({
        Protocol: "HTTP",
        LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
        Port: listenerPort,
        DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }],
      }),
    );
    const taskDefinition = await register("v1");
    // ECS checks the container and port against the task definition.
    await assert.rejects(
      ecs.send(
        new CreateServiceCommand({
          serviceName: "bad",
          taskDefinition,
          desiredCount: 1,
          loadBalancers: [{ targetGroupArn: tgArn, containerName: "web", containerPort: 9999 }],
        }),
      ),
      /did not have a container port 9999 defined/,
    );
    await ecs.send(
      new CreateServiceCommand({
        serviceName: "web",
        taskDefinition,
        desiredCount: 3,
        loadBalancers: [{ targetGroupArn: tgArn, containerName: "web", containerPort: 8080 }],
        healthCheckGracePeriodSeconds: 30,
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"] } },
      }),
    );
    await until("three healthy targets", async () => (await healthyTargets()).length === 3);
    for (const target of await healthyTargets()) assert.match(target, /^100\.\d+\.\d+\.\d+:8080$/);

    // curl resolves *.localhost to loopback, where the listener is.
    const { stdout } = await run("curl", [
      "-sS",
      "--max-time",
      "10",
      `http://${dnsName}:${listenerPort}/`,
    ]);
    assert.match(stdout, /^v1 [0-9a-f-]{36}\n$/);

    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const answer = await get();
      assert.ok(answer.ok);
      seen.add(answer.body);
    }
    assert.equal(seen.size, 3, "requests spread over all three tasks");
  });

  it("loses no request that the client retries once when a task is stopped under load", async () => {
    const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "web" }));
    const stopped = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await ecs.send(new StopTaskCommand({ task: taskArns[0], reason: "test kills one task" }));
      // Until the service has replaced it and the replacement's target is healthy.
      await until("a replacement", async () => {
        const healthy = await healthyTargets();
        return healthy.length === 3;
      });
    })();
    const result = await load(4, 1, stopped);
    await stopped;
    assert.ok(result.total > 20, `only ${result.total} requests`);
    assert.equal(result.failures, 0, `${result.failures} of ${result.total} failed after a retry`);
  });

  it("loses no request at all during a rolling deployment with draining", async () => {
    const v2 = await register("v2");
    const rolled = (async () => {
      await ecs.send(new UpdateServiceCommand({ service: "web", taskDefinition: v2 }));
      await until(
        "the deployment to complete",
        async () => {
          const service = await serviceState();
          return (
            service?.deployments?.length === 1 &&
            service.deployments[0]?.rolloutState === "COMPLETED" &&
            (await healthyTargets()).length === 3
          );
        },
        240_000,
      );
    })();
    const result = await load(4, 0, rolled);
    await rolled;
    assert.equal(result.failures, 0, `${result.failures} of ${result.total} failed`);
    assert.ok(
      result.bodies.some((b) => b.startsWith("v1")) &&
        result.bodies.some((b) => b.startsWith("v2")),
    );
    for (let i = 0; i < 9; i++) assert.match((await get()).body, /^v2 /);
  });
});
