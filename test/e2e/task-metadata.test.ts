// The task metadata endpoint (v4, v3) as a container sees it: through RunTask, busybox wget inside
// the task, the JSON shapes ECS documents, stats from the real cgroups; no other task (nor the
// host) reads it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  type BerthProcess,
  describeTask,
  startEcsTestbed,
  taskLogs,
} from "../../src/testing/index.js";

let berth: BerthProcess;
let ecs: ECSClient;
let image: string;

before(async () => {
  ({ berth, ecs, image } = await startEcsTestbed());
});
// A test restarts Berth: stop the one running now.
after(async () => {
  ecs.destroy();
  await berth.stop();
});

async function runTask(family: string, command: string): Promise<string> {
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        { name: "app", image, stopTimeout: 1, command: ["sh", "-c", command] },
      ],
    }),
  );
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({ taskDefinition: family }),
  );
  assert.deepEqual(failures, []);
  return tasks[0]?.taskArn ?? "";
}

/** The task's log lines once `marker` has been printed (a bounded wait). */
async function logsUntil(taskArn: string, marker: string): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stdout = await taskLogs(berth, taskArn);
    if (stdout.includes(marker)) return stdout.split("\n");
    if (Date.now() > deadline) assert.fail(`no ${marker} in the task's logs:\n${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function jsonAfter(lines: string[], label: string): Record<string, unknown> {
  const line = lines.find((l) => l.startsWith(`${label} `));
  assert.ok(line !== undefined, `no ${label} line`);
  return JSON.parse(line.slice(label.length + 1)) as Record<string, unknown>;
}

async function stop(taskArn: string): Promise<void> {
  await ecs.send(new StopTaskCommand({ task: taskArn }));
  for (let i = 0; i < 600 && (await describeTask(ecs, taskArn)).lastStatus !== "STOPPED"; i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
}

describe("task metadata endpoint", () => {
  it("returns a container its own task, container and stats, and nobody else", async () => {
    const get = (label: string, path: string): string => `echo "${label} $(wget -qO- ${path})";`;
    const taskArn = await runTask(
      "meta",
      [
        'echo "URI $ECS_CONTAINER_METADATA_URI_V4";',
        // Until the document says RUNNING for the task and its container (the agent records it
        // just after the start, which a loaded machine may take a while over).
        "for i in $(seq 300); do",
        `[ "$(wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task | grep -o '"KnownStatus":"RUNNING"' | wc -l)" -ge 2 ] && break;`,
        "sleep 0.1; done;",
        get("TASK", "$ECS_CONTAINER_METADATA_URI_V4/task"),
        get("CONTAINER", "$ECS_CONTAINER_METADATA_URI_V4"),
        get("STATS", "$ECS_CONTAINER_METADATA_URI_V4/stats"),
        get("TASKSTATS", "$ECS_CONTAINER_METADATA_URI_V4/task/stats"),
        get("V3TASK", "$ECS_CONTAINER_METADATA_URI/task"),
        "echo DONE; exec sleep 600",
      ].join(" "),
    );
    const lines = await logsUntil(taskArn, "DONE");
    const described = await describeTask(ecs, taskArn);
    const address = described.attachments?.[0]?.details?.find(
      (d) => d.name === "privateIPv4Address",
    )?.value;

    const task = jsonAfter(lines, "TASK");
    assert.equal(task.TaskARN, taskArn);
    assert.equal(task.Cluster, described.clusterArn);
    assert.equal(task.Family, "meta");
    assert.equal(task.Revision, "1");
    assert.equal(task.DesiredStatus, "RUNNING");
    assert.equal(task.KnownStatus, "RUNNING");
    assert.deepEqual(task.Limits, { CPU: 0.25, Memory: 512 });
    assert.equal(task.AvailabilityZone, described.availabilityZone);
    assert.equal(task.LaunchType, "FARGATE");
    assert.equal(task.PullStartedAt, described.pullStartedAt?.toISOString());
    const storage = task.EphemeralStorageMetrics as { Utilized: number; Reserved: number };
    assert.ok(storage.Reserved >= 19_000 && storage.Utilized >= 0, JSON.stringify(storage));
    const containers = task.Containers as Array<Record<string, unknown>>;
    assert.equal(containers.length, 1);

    const container = jsonAfter(lines, "CONTAINER");
    assert.deepEqual(containers[0], container);
    assert.equal(container.Name, "app");
    assert.equal(container.Image, image);
    assert.equal(container.ImageID, described.containers?.[0]?.imageDigest);
    assert.equal(container.DockerId, described.containers?.[0]?.runtimeId);
    assert.equal(container.ContainerARN, described.containers?.[0]?.containerArn);
    assert.equal(container.KnownStatus, "RUNNING");
    assert.equal(container.Type, "NORMAL");
    assert.equal(typeof container.StartedAt, "string");
    assert.equal(
      (container.Labels as Record<string, string>)["com.amazonaws.ecs.task-arn"],
      taskArn,
    );
    const [network] = container.Networks as Array<Record<string, unknown>>;
    assert.equal(network?.NetworkMode, "awsvpc");
    assert.deepEqual(network?.IPv4Addresses, [address]);
    assert.equal(
      network?.MACAddress,
      described.attachments?.[0]?.details?.find((d) => d.name === "macAddress")?.value,
    );

    const stats = jsonAfter(lines, "STATS") as {
      id: string;
      memory_stats: { usage: number; limit: number };
      cpu_stats: { cpu_usage: { total_usage: number }; online_cpus: number };
      pids_stats: { current: number };
      networks: Record<string, { rx_bytes: number; tx_bytes: number }>;
    };
    assert.equal(stats.id, container.DockerId);
    assert.ok(stats.memory_stats.usage > 0);
    assert.equal(stats.memory_stats.limit, 512 * 1024 * 1024);
    assert.ok(stats.cpu_stats.cpu_usage.total_usage > 0);
    assert.ok(stats.pids_stats.current >= 1);
    // The wget calls before this one went over eth0.
    assert.ok((stats.networks.eth0?.tx_bytes ?? 0) > 0);
    const taskStats = jsonAfter(lines, "TASKSTATS");
    assert.deepEqual(Object.keys(taskStats), [container.DockerId]);

    const v3 = jsonAfter(lines, "V3TASK");
    assert.equal(v3.TaskARN, taskArn);
    const v3Network = (
      (v3.Containers as Array<Record<string, unknown>>)[0]?.Networks as unknown[]
    )[0];
    assert.deepEqual(v3Network, { NetworkMode: "awsvpc", IPv4Addresses: [address] });

    // Another task of the same cluster, which can reach the endpoint, is refused ...
    const uri = lines.find((l) => l.startsWith("URI "))?.slice(4) ?? "";
    assert.match(uri, /^http:\/\/100\.\d+\.\d+\.\d+:\d+\/v4\/[0-9a-f]+-0$/);
    const intruder = await runTask(
      "intruder",
      `wget -qO- ${uri}/task; echo "EXIT $?"; exec sleep 600`,
    );
    const intruderLines = await logsUntil(intruder, "EXIT");
    assert.notEqual(
      intruderLines.find((l) => l.startsWith("EXIT ")),
      "EXIT 0",
    );
    assert.ok(!intruderLines.some((l) => l.includes(taskArn)));
    // ... and so is the host.
    const response = await fetch(`${uri}/task`);
    assert.equal(response.status, 403);
    await stop(intruder);
    await stop(taskArn);
  });

  it("keeps serving a running task at the same URI after the agent is killed and restarted", async () => {
    const taskArn = await runTask(
      "meta-survivor",
      'while true; do echo "AT $(date +%s) $(wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task | head -c 300)"; sleep 0.5; done',
    );
    await logsUntil(taskArn, "TaskARN");
    await berth.kill();
    const killedAt = Math.ceil(Date.now() / 1000);
    berth = await berth.restart();
    ecs.destroy();
    ecs = new ECSClient(berth.clientConfig);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const lines = await logsUntil(taskArn, "AT ");
      const served = lines.some((line) => {
        const [, at, rest] = /^AT (\d+) (.*)$/.exec(line) ?? [];
        return Number(at) > killedAt && (rest ?? "").includes(taskArn);
      });
      if (served) break;
      if (Date.now() > deadline) assert.fail("the restarted agent does not serve the task's URI");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await stop(taskArn);
  });
});
