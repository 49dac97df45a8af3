/**
 * Three Berth servers on one PostgreSQL (a throw-away cluster this test starts) and one agent
 * given all three (`--server A,B,C`): every server answers and its tasks reach the host wherever
 * the agent is connected; when the agent's server is killed with -9, the agent moves to another
 * and its task keeps running; when the leader is killed, another server takes the control
 * plane's lease and its reconciler heals a service. Every server serves every load balancer
 * listener (each on its own loopback address, as each machine would on its own): a client that
 * retries once on another server's address loses no request while a server is killed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  freePort,
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  until,
  type AgentProcess,
  type BerthProcess,
} from "../../src/testing/index.js";
import { describeTask, waitForTask } from "../../src/testing/ecs.js";
import { startPostgres, type TestPostgres } from "../../src/testing/postgres.js";

let postgres: TestPostgres;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.stop();
});

const CLUSTER = "multi";
/** Each server's listeners bind its own loopback address, as each machine would its own. */
const elbAddress = (i: number): string => `127.0.0.${i + 2}`;
const HTTPD =
  "mkdir -p /www && cat /proc/sys/kernel/random/uuid > /www/index.html && exec busybox httpd -f -p 8080 -h /www";

/** One GET through a server's listener: true when it answered 200. */
function get(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: address, port, path: "/", agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
      res.on("error", () => resolve(false));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

test("three servers share one store: tasks reach the host from any server, the agent and the lease fail over", async (t) => {
  const url = await postgres.createDatabase("multi");
  const blobDir = mkdtempSync(join(tmpdir(), "berth-blobs-"));
  // One account for all three: the same keys, as a user's clients would hold.
  const env = {
    BERTH_ACCESS_KEY_ID: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
    BERTH_SECRET_ACCESS_KEY: randomBytes(20).toString("hex"),
  };
  const args = ["--store", url, "--no-local-agent", "--blob-dir", blobDir];
  const servers: BerthProcess[] = [];
  const agents: AgentProcess[] = [];
  t.after(async () => {
    for (const agent of agents) await agent.stop();
    for (const server of servers) await server.stop();
    rmSync(blobDir, { recursive: true, force: true });
  });
  // One after the other: the first takes the lease and makes the schema.
  for (let i = 0; i < 3; i++)
    servers.push(await startBerthProcess({ args: [...args, "--elb-address", elbAddress(i)], env }));
  const [a, b, c] = servers as [BerthProcess, BerthProcess, BerthProcess];
  const ecsOf = (server: BerthProcess): ECSClient =>
    new ECSClient({ ...server.clientConfig, maxAttempts: 1 });
  const [ecsA, ecsB, ecsC] = [ecsOf(a), ecsOf(b), ecsOf(c)];

  // The join line of A with every server's URL: they share one CA (the store's), so the hash
  // pins all three.
  const agent = await startAgentProcess({
    server: servers.map((server) => server.join.server).join(","),
    caCertHash: a.join.caCertHash,
    token: a.joinToken,
  });
  agents.push(agent);
  const connectedTo = (): string | undefined =>
    [...agent.output().matchAll(/agent connected to the control plane.*server=(\S+)/g)].at(-1)?.[1];
  assert.equal(connectedTo(), a.join.server, "the agent starts on the first server it was given");
  assert.equal(new Set(servers.map((server) => server.join.caCertHash)).size, 1, "one CA");

  // The image goes through C (which stays up): its blobs land in the shared directory.
  const image = (await pushBusyboxImage(c, "busybox")).uri;
  await ecsB.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  await ecsC.send(
    new RegisterTaskDefinitionCommand({
      family: "sleeper",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image, command: ["sleep", "600"], essential: true }],
    }),
  );
  const runOn = async (ecs: ECSClient): Promise<string> => {
    const run = await ecs.send(
      new RunTaskCommand({ cluster: CLUSTER, taskDefinition: "sleeper", launchType: "FARGATE" }),
    );
    const taskArn = run.tasks?.[0]?.taskArn;
    assert.ok(taskArn !== undefined, `RunTask failed: ${JSON.stringify(run.failures)}`);
    return taskArn;
  };

  // Placed by B, run by a host whose agent is connected to A; stopped through C.
  const viaB = await runOn(ecsB);
  await waitForTask(ecsA, viaB, "RUNNING");
  await ecsC.send(new StopTaskCommand({ cluster: CLUSTER, task: viaB }));
  await waitForTask(ecsB, viaB, "STOPPED");

  // A service, whose task the leader's reconciler must replace later.
  await ecsB.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: "kept",
      taskDefinition: "sleeper",
      desiredCount: 1,
      launchType: "FARGATE",
    }),
  );
  const serviceTasks = async (ecs: ECSClient): Promise<string[]> =>
    (
      await ecs.send(
        new ListTasksCommand({ cluster: CLUSTER, serviceName: "kept", desiredStatus: "RUNNING" }),
      )
    ).taskArns ?? [];
  const [first] = await until(
    "the service's task",
    () => serviceTasks(ecsC),
    (arns) => arns.length === 1,
    { timeoutMs: 60_000 },
  );
  assert.ok(first !== undefined);
  await waitForTask(ecsC, first, "RUNNING");
  const kept = await runOn(ecsC);
  const keptTask = await waitForTask(ecsB, kept, "RUNNING");

  // A listener, made through B, served by all three; a service's httpd tasks behind it.
  const elb = new ElasticLoadBalancingV2Client({ ...b.clientConfig, maxAttempts: 1 });
  const listenerPort = await freePort();
  const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "web" }));
  const { TargetGroups } = await elb.send(
    new CreateTargetGroupCommand({
      Name: "web",
      Protocol: "HTTP",
      Port: 8080,
      TargetType: "ip",
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: 2,
      HealthyThresholdCount: 2,
    }),
  );
  const targetGroupArn = TargetGroups?.[0]?.TargetGroupArn ?? "";
  await elb.send(
    new CreateListenerCommand({
      Protocol: "HTTP",
      LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
      Port: listenerPort,
      DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
    }),
  );
  await ecsC.send(
    new RegisterTaskDefinitionCommand({
      family: "httpd",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name: "web",
          image,
          command: ["sh", "-c", HTTPD],
          portMappings: [{ containerPort: 8080 }],
          essential: true,
        },
      ],
    }),
  );
  await ecsA.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: "web",
      taskDefinition: "httpd",
      desiredCount: 2,
      launchType: "FARGATE",
      loadBalancers: [{ targetGroupArn, containerName: "web", containerPort: 8080 }],
    }),
  );
  for (let i = 0; i < 3; i++)
    await until(
      `server ${i}'s listener serving`,
      () => get(elbAddress(i), listenerPort),
      (ok) => ok,
      { timeoutMs: 90_000 },
    );

  // Clients spread over the three addresses and retry once on the next; A is killed meanwhile.
  const outcomes: Array<{ ok: boolean; retried: boolean; afterKill: boolean }> = [];
  let killed = false;
  let stopLoad = false;
  const load = (async () => {
    for (let n = 0; !stopLoad; n++) {
      const first = await get(elbAddress(n % 3), listenerPort);
      const ok = first || (await get(elbAddress((n + 1) % 3), listenerPort));
      outcomes.push({ ok, retried: !first, afterKill: killed });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 2000));

  // A dies. The agent moves on to B; the task it runs is not touched.
  const leaderBefore = servers.find((server) => /leading role=control-plane/.test(server.output()));
  await a.kill();
  killed = true;
  await new Promise((resolve) => setTimeout(resolve, 5000));
  stopLoad = true;
  await load;
  const lost = outcomes.filter((o) => !o.ok);
  assert.equal(lost.length, 0, `requests lost across A's death: ${lost.length}/${outcomes.length}`);
  assert.ok(
    outcomes.filter((o) => o.afterKill && o.retried).length > 0,
    "some requests went to A after it died and were served on retry",
  );
  assert.ok(outcomes.filter((o) => o.afterKill).length >= 10, "the load ran after the kill");
  elb.destroy();
  await until(
    "the agent connected to another server",
    async () => connectedTo(),
    (server) => server !== undefined && server !== a.join.server,
    { timeoutMs: 30_000, context: () => agent.output().slice(-3000) },
  );
  const after = await describeTask(ecsB, kept);
  assert.equal(after.lastStatus, "RUNNING");
  assert.equal(after.startedAt?.getTime(), keptTask.startedAt?.getTime());

  // Placed by C for the host now on B (or the other way round): it runs.
  const other = connectedTo() === b.join.server ? ecsC : ecsB;
  const late = await runOn(other);
  await waitForTask(ecsB, late, "RUNNING");

  // The leader is gone (A was first, so it led): another server leads, and heals the service.
  assert.equal(leaderBefore, a, "the first server took the control plane's lease");
  await until(
    "another server leading",
    async () => [b, c].some((server) => /leading role=control-plane/.test(server.output())),
    (leading) => leading,
    { timeoutMs: 60_000 },
  );
  await ecsC.send(new StopTaskCommand({ cluster: CLUSTER, task: first }));
  await waitForTask(ecsB, first, "STOPPED");
  const replaced = await until(
    "a replacement task for the service",
    () => serviceTasks(ecsB),
    (arns) => arns.length === 1 && arns[0] !== first,
    { timeoutMs: 60_000 },
  );
  await waitForTask(ecsC, replaced[0] ?? "", "RUNNING");
  const service = (
    await ecsC.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ["kept"] }))
  ).services?.[0];
  assert.equal(service?.desiredCount, 1);

  // The task that lived through the move stops on request, from a server it never spoke to.
  await ecsC.send(new StopTaskCommand({ cluster: CLUSTER, task: kept }));
  await waitForTask(ecsB, kept, "STOPPED");
  for (const ecs of [ecsA, ecsB, ecsC]) ecs.destroy();
});
