// The sandboxed runtime: the core task cases, each under runc and under gVisor's runsc (chosen by
// the `berth:runtime` tag of a cluster or a task definition), through a started Berth.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { release } from "node:os";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
  type Tag,
} from "@aws-sdk/client-ecs";
import { BERTH_BIN, type BerthProcess, taskLogs, waitForTask } from "../../src/testing/index.js";
import { startRuntimeClusters, type RuntimeClusters } from "./runtime-clusters.js";

const run = promisify(execFile);

let bed: RuntimeClusters;
let berth: BerthProcess;
let ecs: ECSClient;
let image: string;

before(async () => {
  bed = await startRuntimeClusters();
  ({ berth, ecs, image } = bed);
});
after(() => bed.stop());

async function runTask(
  cluster: string,
  family: string,
  containers: ContainerDefinition[],
  tags?: Tag[],
): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: containers.map((c) => ({ image, essential: true, ...c })),
      ...(tags === undefined ? {} : { tags }),
    }),
  );
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({
      cluster,
      taskDefinition: taskDefinition?.taskDefinitionArn,
      enableExecuteCommand: true,
    }),
  );
  assert.deepEqual(failures, []);
  const task = tasks[0]?.taskArn ?? "";
  bed.started(cluster, task);
  return task;
}

const logsOf = (cluster: string, taskArn: string) => taskLogs(berth, taskArn, { cluster });

/** What a TCP server at `host:port` says first (retried while it does not listen yet). */
async function readFrom(host: string, port: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = connect(port, host);
        let text = "";
        socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const KERNELS = {
  // runc shares the host's kernel; gVisor answers with its own.
  runc: new RegExp(`^Linux version ${release().replaceAll(".", "\\.")} `, "m"),
  runsc: /^Linux version 4\.4\.0 #1 SMP Sun Jan 10 15:06:54 PST 2016$/m,
};

for (const [runtime, cluster] of [
  ["runc", "plain"],
  ["runsc", "gvisor"],
] as const) {
  describe(`core task cases under ${runtime}`, () => {
    it("runs a busybox task that sees its runtime's kernel, and reports its exit code", async () => {
      const taskArn = await runTask(cluster, `kernel-${runtime}`, [
        { name: "app", command: ["sh", "-c", "cat /proc/version; echo pid=$$; exit 3"] },
      ]);
      const stopped = await waitForTask(ecs, taskArn, "STOPPED");
      assert.equal(stopped.containers?.[0]?.exitCode, 3);
      assert.equal(stopped.stopCode, "EssentialContainerExited");
      const output = await logsOf(cluster, taskArn);
      assert.match(output, KERNELS[runtime]);
      assert.match(output, /^pid=1$/m);
    });

    it("lets the containers of a task talk over localhost", async () => {
      const taskArn = await runTask(cluster, `localhost-${runtime}`, [
        {
          name: "server",
          command: ["sh", "-c", "while true; do echo pong | nc -l -p 7070; done"],
        },
        {
          name: "client",
          dependsOn: [{ containerName: "server", condition: "START" }],
          command: [
            "sh",
            "-c",
            "for i in $(seq 100); do nc 127.0.0.1 7070 </dev/null && exit 0; sleep 0.1; done; exit 1",
          ],
        },
      ]);
      const stopped = await waitForTask(ecs, taskArn, "STOPPED");
      const client = stopped.containers?.find((c) => c.name === "client");
      assert.equal(client?.exitCode, 0);
      assert.match(await logsOf(cluster, taskArn), /^pong$/m);
    });

    it("gets an address its cluster's tasks and the host reach, and its metadata endpoint", async () => {
      const serverArn = await runTask(cluster, `server-${runtime}`, [
        { name: "server", command: ["sh", "-c", "while true; do echo pong | nc -l -p 7070; done"] },
      ]);
      const server = await waitForTask(ecs, serverArn, "RUNNING");
      const address = server.attachments
        ?.find((a) => a.type === "ElasticNetworkInterface")
        ?.details?.find((d) => d.name === "privateIPv4Address")?.value;
      assert.ok(address !== undefined && address.startsWith("100."), `address ${address}`);
      assert.equal(await readFrom(address, 7070), "pong\n");
      // busybox wget fails on gVisor 2022's sockets (EAGAIN), so the client speaks HTTP with nc.
      const clientArn = await runTask(cluster, `client-${runtime}`, [
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
      const output = await logsOf(cluster, clientArn);
      assert.match(output, /^pong$/m);
      assert.match(output, new RegExp(`"TaskARN":"${clientArn}"`));
      await ecs.send(new StopTaskCommand({ cluster, task: serverArn }));
    });

    it("holds the task to its ephemeral storage: writing past it is ENOSPC inside", async () => {
      const script = [
        "exec 2>&1",
        "busybox fallocate -l 30G /too-big; echo too-big=$?; rm -f /too-big",
        "busybox fallocate -l 19G /filler && echo filled",
        "busybox dd if=/dev/zero of=/rest bs=1M count=2048; echo write=$?",
      ].join("\n");
      const taskArn = await runTask(cluster, `storage-${runtime}`, [
        { name: "app", command: ["sh", "-c", script] },
      ]);
      await waitForTask(ecs, taskArn, "STOPPED");
      const output = await logsOf(cluster, taskArn);
      assert.match(output, /^too-big=1$/m);
      assert.match(output, /^filled$/m);
      assert.match(output, /No space left on device/);
      assert.match(output, /^write=1$/m);
    });

    it("runs health checks and exec inside the container, and stops on request", async () => {
      const taskArn = await runTask(cluster, `health-${runtime}`, [
        {
          name: "app",
          command: ["sh", "-c", "touch /ready; exec sleep 3600"],
          stopTimeout: 2,
          healthCheck: {
            command: ["CMD-SHELL", "test -f /ready"],
            interval: 5,
            timeout: 2,
            retries: 2,
          },
        },
      ]);
      await waitForTask(ecs, taskArn, (t) => t.healthStatus === "HEALTHY");
      const { stdout } = await run(
        process.execPath,
        [
          BERTH_BIN,
          "exec",
          "--cluster",
          cluster,
          "--endpoint",
          berth.endpoint,
          taskArn,
          "--",
          "cat",
          "/proc/version",
        ],
        { env: berth.berthEnv },
      );
      assert.match(stdout, KERNELS[runtime]);
      await ecs.send(new StopTaskCommand({ cluster, task: taskArn }));
      const stopped = await waitForTask(ecs, taskArn, "STOPPED");
      assert.equal(stopped.stopCode, "UserInitiated");
    });
  });
}

describe("choosing the runtime", () => {
  it("takes a task definition's berth:runtime tag over its cluster's", async () => {
    const taskArn = await runTask(
      "gvisor",
      "kernel-override",
      [{ name: "app", command: ["cat", "/proc/version"] }],
      [{ key: "berth:runtime", value: "runc" }],
    );
    await waitForTask(ecs, taskArn, "STOPPED");
    assert.match(await logsOf("gvisor", taskArn), KERNELS.runc);
  });

  it("refuses a berth:runtime tag naming no runtime", async () => {
    await assert.rejects(
      runTask(
        "plain",
        "kernel-bad",
        [{ name: "app", command: ["true"] }],
        [{ key: "berth:runtime", value: "kata" }],
      ),
      {
        name: "InvalidParameterException",
        message: /berth:runtime tag .* is 'kata'; it must be runc or runsc/,
      },
    );
  });
});
