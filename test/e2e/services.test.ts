// Services on real containers: desired count kept, failed tasks replaced, rolling deployments
// that never dip under minimumHealthyPercent, the circuit breaker rolling a bad version back,
// and a lost host's tasks coming back on another host.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  CreateServiceCommand,
  DescribeClustersCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  type ContainerDefinition,
  type Service,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  type AgentProcess,
  type BerthProcess,
  until as pollUntil,
  recentWarnings,
} from "../../src/testing/index.js";

const run = promisify(execFile);
const HOST_TIMEOUT_SECONDS = 4;

let berth: BerthProcess;
const agents: AgentProcess[] = [];
let ecs: ECSClient;
let image: string;

before(async () => {
  berth = await startBerthProcess({
    args: [
      "--no-local-agent",
      "--host-timeout-seconds",
      String(HOST_TIMEOUT_SECONDS),
      "--spot-warning-seconds",
      "1",
    ],
  });
  for (const az of ["us-east-1a", "us-east-1b"])
    agents.push(
      await startAgentProcess({
        ...berth.join,
        token: berth.joinToken,
        availabilityZone: az,
        cpu: 8192,
        memory: 32768,
      }),
    );
  ecs = new ECSClient(berth.clientConfig);
  image = (await pushBusyboxImage(berth, "busybox")).uri;
});
after(async () => {
  ecs.destroy();
  for (const agent of agents) await agent.stop();
  await berth.stop();
});

/** A container that runs until told to stop, and stops at once on SIGTERM. */
const SERVER: ContainerDefinition = {
  name: "app",
  essential: true,
  stopTimeout: 2,
  command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"],
};

async function register(family: string, container: ContainerDefinition): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ image, ...container }],
    }),
  );
  return taskDefinition?.taskDefinitionArn ?? "";
}

async function describeService(name: string): Promise<Service> {
  const { services = [] } = await ecs.send(new DescribeServicesCommand({ services: [name] }));
  assert.ok(services[0] !== undefined);
  return services[0];
}

async function tasksOf(name: string): Promise<Task[]> {
  const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: name }));
  if (taskArns.length === 0) return [];
  const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ tasks: taskArns }));
  return tasks;
}

/** Polls until `check` holds (a bounded wait, not a timing assertion). */
function until<T>(
  what: string,
  probe: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 90_000,
  everyMs = 200,
): Promise<T> {
  return pollUntil(what, probe, check, {
    timeoutMs,
    everyMs: everyMs,
    context: () => recentWarnings(berth.output()),
  });
}

const stable = (desired: number) => (s: Service) =>
  s.deployments?.length === 1 &&
  s.runningCount === desired &&
  s.deployments[0]?.rolloutState === "COMPLETED";

describe("services", () => {
  it("keeps the desired count, replaces a stopped task, rolls out v2 without dipping, rolls a bad v3 back", async () => {
    const v1 = await register("web", SERVER);
    const created = await ecs.send(
      new CreateServiceCommand({
        serviceName: "web",
        taskDefinition: v1,
        desiredCount: 2,
        deploymentConfiguration: {
          minimumHealthyPercent: 100,
          maximumPercent: 200,
          deploymentCircuitBreaker: { enable: true, rollback: true },
        },
      }),
    );
    assert.equal(created.service?.status, "ACTIVE");
    assert.equal(created.service?.deployments?.[0]?.rolloutState, "IN_PROGRESS");
    let service = await until("web to be stable", () => describeService("web"), stable(2));
    assert.ok(
      service.events?.some((e) =>
        /^\(service web\) has started 2 tasks: \(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.$/.test(
          e.message ?? "",
        ),
      ),
    );
    assert.ok(
      service.events?.some((e) => e.message === "(service web) has reached a steady state."),
    );
    const tasks = await tasksOf("web");
    assert.equal(tasks.length, 2);
    for (const task of tasks) {
      assert.equal(task.group, "service:web");
      assert.equal(task.startedBy, service.deployments?.[0]?.id);
    }
    // Spread: one task in each availability zone.
    assert.deepEqual(
      new Set(tasks.map((t) => t.availabilityZone)),
      new Set(["us-east-1a", "us-east-1b"]),
    );
    const { clusters = [] } = await ecs.send(new DescribeClustersCommand({}));
    assert.equal(clusters[0]?.runningTasksCount, 2);
    assert.equal(clusters[0]?.activeServicesCount, 1);
    // The AWS CLI's waiter agrees.
    await run(
      "/usr/bin/aws",
      ["--endpoint-url", berth.endpoint, "ecs", "wait", "services-stable", "--services", "web"],
      { env: berth.awsEnv },
    );

    // A task that stops is replaced.
    const victim = tasks[0]?.taskArn ?? "";
    await ecs.send(new StopTaskCommand({ task: victim }));
    await until(
      "a replacement",
      () => tasksOf("web"),
      (ts) =>
        ts.length === 2 &&
        !ts.some((t) => t.taskArn === victim) &&
        ts.every((t) => t.lastStatus === "RUNNING"),
    );
    assert.equal((await describeService("web")).runningCount, 2);

    // v2 rolls out: never fewer than 2 RUNNING tasks (minimumHealthyPercent 100), never more than 4,
    // sampled every 100 ms.
    const v2 = await register("web", { ...SERVER, environment: [{ name: "VERSION", value: "2" }] });
    await ecs.send(new UpdateServiceCommand({ service: "web", taskDefinition: v2 }));
    const samples: Array<{ running: number; active: number }> = [];
    await until(
      "v2 to roll out",
      async () => {
        const current = await tasksOf("web");
        samples.push({
          running: current.filter((t) => t.lastStatus === "RUNNING").length,
          active: current.length,
        });
        return describeService("web");
      },
      (s) => stable(2)(s) && s.taskDefinition === v2,
      90_000,
      100, // sampled every 100 ms
    );
    assert.ok(samples.length > 3);
    assert.ok(
      samples.every((s) => s.running >= 2),
      `dipped under the minimum: ${JSON.stringify(samples)}`,
    );
    assert.ok(
      samples.every((s) => s.active <= 4),
      `went over the maximum: ${JSON.stringify(samples)}`,
    );
    assert.ok((await tasksOf("web")).every((t) => t.taskDefinitionArn === v2));

    // v3 exits at once: the circuit breaker trips and the service goes back to v2.
    const v3 = await register("web", { ...SERVER, command: ["sh", "-c", "exit 1"] });
    await ecs.send(new UpdateServiceCommand({ service: "web", taskDefinition: v3 }));
    service = await until(
      "the circuit breaker to roll back",
      () => describeService("web"),
      (s) => s.taskDefinition === v2 && stable(2)(s),
      180_000,
    );
    assert.ok(
      service.events?.some((e) =>
        /deployment failed: tasks failed to start\./.test(e.message ?? ""),
      ),
    );
    assert.ok(
      service.events?.some((e) =>
        /rolling back to deployment ecs-svc\/\d{19}\./.test(e.message ?? ""),
      ),
    );
    const running = await tasksOf("web");
    assert.ok(running.every((t) => t.taskDefinitionArn === v2 && t.lastStatus === "RUNNING"));
  });

  it("brings a lost host's tasks back on another host, and stops the stale copies when it returns", async () => {
    const definition = await register("api", SERVER);
    await ecs.send(
      new CreateServiceCommand({ serviceName: "api", taskDefinition: definition, desiredCount: 2 }),
    );
    await until("api to be stable", () => describeService("api"), stable(2));
    const before = await tasksOf("api");
    const doomed = agents[0] as AgentProcess;
    await doomed.kill();
    const moved = await until(
      "replacements on the other host",
      () => tasksOf("api"),
      (ts) =>
        ts.length === 2 &&
        ts.every((t) => t.lastStatus === "RUNNING" && t.availabilityZone === "us-east-1b"),
    );
    const lost = before.filter((t) => t.availabilityZone === "us-east-1a");
    assert.equal(lost.length, 1);
    const { tasks: lostNow = [] } = await ecs.send(
      new DescribeTasksCommand({ tasks: [lost[0]?.taskArn ?? ""] }),
    );
    assert.equal(lostNow[0]?.lastStatus, "STOPPED");
    assert.match(lostNow[0]?.stoppedReason ?? "", /^Host host-[0-9a-f]+ was lost/);
    assert.equal(moved.length, 2);

    // The lost agent comes back: its stale copy is stopped, the service stays at 2.
    agents[0] = await startAgentProcess({
      ...berth.join,
      token: berth.joinToken,
      dataDir: doomed.dataDir,
      availabilityZone: "us-east-1a",
      cpu: 8192,
      memory: 32768,
    });
    const stalePids = async (): Promise<number> => {
      const { stdout } = await run("ps", ["-eo", "args="]);
      return stdout.split("\n").filter((l) => l.includes("conmon") && l.includes(doomed.dataDir))
        .length;
    };
    await until("the stale copy to stop", stalePids, (n) => n === 0, 30_000);
    const after = await describeService("api");
    assert.equal(after.runningCount, 2);

    await ecs.send(new DeleteServiceCommand({ service: "api", force: true }));
    await until(
      "api to drain",
      () => describeService("api"),
      (s) => s.status === "INACTIVE",
    );
  });

  it("interrupts Spot tasks with the warning, and the service replaces them on Spot", async () => {
    agents.push(
      await startAgentProcess({
        ...berth.join,
        token: berth.joinToken,
        availabilityZone: "us-east-1c",
        spot: true,
        cpu: 4096,
        memory: 8192,
      }),
    );
    const definition = await register("batch", SERVER);
    await ecs.send(
      new CreateServiceCommand({
        serviceName: "batch",
        taskDefinition: definition,
        desiredCount: 2,
        capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
      }),
    );
    await until("batch to be stable", () => describeService("batch"), stable(2));
    const first = await tasksOf("batch");
    assert.ok(
      first.every(
        (t) => t.capacityProviderName === "FARGATE_SPOT" && t.availabilityZone === "us-east-1c",
      ),
    );

    const { stdout } = await run(
      process.execPath,
      [BERTH_BIN, "spot", "interrupt", "--fraction", "1", "--endpoint", berth.endpoint],
      {
        env: berth.berthEnv,
      },
    );
    assert.match(stdout, /^2 Spot task\(s\) interrupted:/);
    const interrupted = await until(
      "the interrupted tasks to stop",
      async () =>
        (await ecs.send(new DescribeTasksCommand({ tasks: first.map((t) => t.taskArn ?? "") })))
          .tasks ?? [],
      (ts) => ts.length === 2 && ts.every((t) => t.lastStatus === "STOPPED"),
    );
    for (const task of interrupted) {
      assert.equal(task.stopCode, "SpotInterruption");
      assert.equal(task.stoppedReason, "Your Spot Task was interrupted.");
      assert.equal(
        task.containers?.[0]?.exitCode,
        0,
        "the container had its SIGTERM and exited cleanly",
      );
    }
    const replaced = await until(
      "replacements on Spot",
      () => tasksOf("batch"),
      (ts) =>
        ts.length === 2 &&
        ts.every((t) => t.lastStatus === "RUNNING" && !first.some((f) => f.taskArn === t.taskArn)),
    );
    assert.ok(replaced.every((t) => t.capacityProviderName === "FARGATE_SPOT"));
    await ecs.send(new DeleteServiceCommand({ service: "batch", force: true }));
  });

  it("replaces a task that fails its health checks after the grace period", async () => {
    const definition = await register("sick", {
      ...SERVER,
      healthCheck: { command: ["CMD-SHELL", "exit 1"], interval: 5, timeout: 2, retries: 1 },
    });
    await ecs.send(
      new CreateServiceCommand({
        serviceName: "sick",
        taskDefinition: definition,
        desiredCount: 1,
        healthCheckGracePeriodSeconds: 0,
      }),
    );
    const first = await until(
      "the first task",
      () => tasksOf("sick"),
      (ts) => ts.length === 1 && ts[0]?.lastStatus === "RUNNING",
    );
    const firstArn = first[0]?.taskArn ?? "";
    const replaced = await until(
      "the unhealthy task to be replaced",
      async () => (await ecs.send(new DescribeTasksCommand({ tasks: [firstArn] }))).tasks?.[0],
      (t) => t?.lastStatus === "STOPPED",
    );
    assert.equal(replaced?.healthStatus, "UNHEALTHY");
    assert.equal(replaced?.stopCode, "ServiceSchedulerInitiated");
    assert.equal(replaced?.stoppedReason, "Task failed container health checks");
    const service = await describeService("sick");
    assert.ok(
      service.events?.some(
        (e) =>
          e.message ===
          `(service sick) (task ${firstArn.split("/").pop() ?? ""}) failed container health checks.`,
      ),
    );
    await ecs.send(new DeleteServiceCommand({ service: "sick", force: true }));
  });
});
