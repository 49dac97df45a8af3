// Task storage on real containers: ephemeral storage is a filesystem of the task's size (ENOSPC
// inside, the host untouched), scratch volumes shared through mountPoints and volumesFrom, ECS's
// validation through the SDK, and nothing left on the host after a stop or an agent's kill -9.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
  type RegisterTaskDefinitionRequest,
} from "@aws-sdk/client-ecs";
import { purgeHost } from "../../src/agent/index.js";
import {
  pushBusyboxImage,
  startAgentProcess,
  startBerthProcess,
  startEcsTestbed,
  waitForTask,
  type EcsTestbed,
  tempDataDir,
  type BerthProcess,
  taskLogs,
  removeDataDir,
} from "../../src/testing/index.js";

const GiB = 1024 ** 3;

let bed: EcsTestbed;
let berth: BerthProcess;
let ecs: ECSClient;
let image: string;
let agentDir: string;

before(async () => {
  bed = await startEcsTestbed();
  ({ berth, ecs, image } = bed);
  agentDir = join(berth.dataDir, "agent");
});
after(() => bed.stop());

const idOf = (arn: string): string => arn.split("/").pop() ?? "";

function definition(
  family: string,
  containers: ContainerDefinition[],
  extra: Partial<RegisterTaskDefinitionRequest> = {},
): RegisterTaskDefinitionRequest {
  return {
    family,
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: "256",
    memory: "512",
    containerDefinitions: containers.map((c) => ({ image, ...c })),
    ...extra,
  };
}

async function runTask(request: RegisterTaskDefinitionRequest, ecsClient = ecs): Promise<string> {
  const { taskDefinition } = await ecsClient.send(new RegisterTaskDefinitionCommand(request));
  const { tasks = [], failures = [] } = await ecsClient.send(
    new RunTaskCommand({ taskDefinition: taskDefinition?.taskDefinitionArn }),
  );
  assert.deepEqual(failures, []);
  return tasks[0]?.taskArn ?? "";
}

const logsOf = (taskArn: string, container: string) => taskLogs(berth, taskArn, { container });

/** Polls a container's log until it has a line matching `pattern`. */
async function waitForLog(taskArn: string, container: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const output = await logsOf(taskArn, container);
    if (pattern.test(output)) return output;
    if (Date.now() > deadline) assert.fail(`no ${String(pattern)} in the log:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Mounts, loop devices and images of tasks' storage under an agent's data dir (the storage
 * pool's entries, made ahead for no task, apart).
 */
function storageFootprint(dir: string): { mounts: number; loopDevices: number; images: number } {
  const root = join(dir, "storage");
  const pool = join(root, "pool") + "/";
  const tasks = (path: string): boolean => path.startsWith(root + "/") && !path.startsWith(pool);
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .filter((line) => tasks(line.split(" ")[1] ?? "")).length;
  let loopDevices = 0;
  for (const device of readdirSync("/sys/block").filter((d) => d.startsWith("loop"))) {
    const file = join("/sys/block", device, "loop", "backing_file");
    if (existsSync(file) && tasks(readFileSync(file, "utf8"))) loopDevices++;
  }
  const images = existsSync(root)
    ? readdirSync(root).filter((name) => existsSync(join(root, name, "image"))).length
    : 0;
  return { mounts, loopDevices, images };
}

/** Free bytes of the filesystem that holds `path`. */
function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
}

describe("task storage", () => {
  it("gives a task a 20 GiB filesystem of its own: writing past it is ENOSPC inside, the host keeps its space", async () => {
    const hostFreeBefore = freeBytes(agentDir);
    // Fill all but 32 MiB of the task's filesystem without writing data (fallocate), then write
    // 64 MiB through the root filesystem and through a scratch volume: both must hit ENOSPC.
    const script = [
      "exec 2>&1",
      "busybox df -k / /scratch",
      "free=$(busybox df -k / | busybox awk 'NR==2 {print $4}')",
      "echo size-kib=$(busybox df -k / | busybox awk 'NR==2 {print $2}')",
      // A failed fallocate keeps what it got: remove it before filling for real.
      "busybox fallocate -l 30G /too-big; echo too-big=$?; rm -f /too-big",
      "busybox fallocate -l $((free - 32768))k /filler && echo filled",
      "busybox dd if=/dev/zero of=/rootfs-file bs=1M count=64; echo rootfs-write=$?",
      "busybox dd if=/dev/zero of=/scratch/file bs=1M count=64; echo volume-write=$?",
      "echo checked",
      "exec sleep 600",
    ].join("\n");
    const taskArn = await runTask(
      definition(
        "fill-storage",
        [
          {
            name: "filler",
            stopTimeout: 1,
            command: ["sh", "-c", script],
            mountPoints: [{ sourceVolume: "scratch", containerPath: "/scratch" }],
          },
        ],
        { volumes: [{ name: "scratch" }] },
      ),
    );
    const output = await waitForLog(taskArn, "filler", /^checked$/m);
    const size = Number(/^size-kib=(\d+)$/m.exec(output)?.[1]);
    // ext4's own metadata (inode tables) takes ~2% of the size.
    assert.ok(
      size > 0.97 * 20 * 1024 * 1024 && size <= 20 * 1024 * 1024,
      `a 20 GiB filesystem: ${size} KiB`,
    );
    assert.match(output, /^too-big=1$/m, "a 30 GiB file does not fit");
    assert.match(output, /^filled$/m);
    assert.match(output, /No space left on device/);
    assert.match(output, /^rootfs-write=1$/m, "the root filesystem's writes hit the limit");
    assert.match(output, /^volume-write=1$/m, "the volume's writes hit the same limit");

    // The task holds ~20 GiB; the host's image file holds only what was really written.
    const imageFile = join(agentDir, "storage", idOf(taskArn), "image");
    const allocated = statSync(imageFile).blocks * 512;
    assert.ok(allocated < 256 * 1024 * 1024, `the image file holds ${allocated} bytes`);
    const hostDrop = hostFreeBefore - freeBytes(agentDir);
    assert.ok(hostDrop < 2 * GiB, `the host lost ${hostDrop} bytes of free space`);

    await ecs.send(new StopTaskCommand({ task: taskArn }));
    await waitForTask(ecs, taskArn, "STOPPED");
    assert.equal(existsSync(imageFile), false, "the image is deleted at teardown");
    assert.deepEqual(storageFootprint(agentDir), { mounts: 0, loopDevices: 0, images: 0 });
  });

  it("sizes the filesystem from the task definition and the RunTask override", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand(
        definition(
          "sized-storage",
          [
            {
              name: "app",
              command: [
                "sh",
                "-c",
                "busybox df -k / | busybox awk 'NR==2 {print \"size-kib=\" $2}'",
              ],
            },
          ],
          { ephemeralStorage: { sizeInGiB: 30 } },
        ),
      ),
    );
    const sizes: number[] = [];
    for (const override of [undefined, 50]) {
      const { tasks = [] } = await ecs.send(
        new RunTaskCommand({
          taskDefinition: taskDefinition?.taskDefinitionArn,
          ...(override === undefined
            ? {}
            : { overrides: { ephemeralStorage: { sizeInGiB: override } } }),
        }),
      );
      const taskArn = tasks[0]?.taskArn ?? "";
      const stopped = await waitForTask(ecs, taskArn, "STOPPED");
      assert.equal(stopped.ephemeralStorage?.sizeInGiB, override ?? 30);
      sizes.push(Number(/size-kib=(\d+)/.exec(await logsOf(taskArn, "app"))?.[1]) / 1024 / 1024);
    }
    assert.ok(sizes[0] !== undefined && sizes[0] > 0.97 * 30 && sizes[0] <= 30, `30: ${sizes[0]}`);
    assert.ok(sizes[1] !== undefined && sizes[1] > 0.97 * 50 && sizes[1] <= 50, `50: ${sizes[1]}`);
  });

  it("shares a scratch volume between containers: mountPoints, readOnly, volumesFrom", async () => {
    const volume = [{ sourceVolume: "shared", containerPath: "/data" }];
    const taskArn = await runTask(
      definition(
        "shared-volume",
        [
          {
            name: "writer",
            essential: false,
            mountPoints: volume,
            command: ["sh", "-c", "echo hello > /data/msg && echo wrote"],
          },
          {
            name: "reader",
            essential: false,
            dependsOn: [{ containerName: "writer", condition: "SUCCESS" }],
            mountPoints: [{ sourceVolume: "shared", containerPath: "/in", readOnly: true }],
            command: ["sh", "-c", "exec 2>&1; cat /in/msg; echo x > /in/other; echo ro-write=$?"],
          },
          {
            name: "follower",
            essential: false,
            dependsOn: [{ containerName: "writer", condition: "SUCCESS" }],
            volumesFrom: [{ sourceContainer: "writer" }],
            command: [
              "sh",
              "-c",
              "exec 2>&1; cat /data/msg; echo more >> /data/msg; echo rw-write=$?",
            ],
          },
          {
            name: "follower-ro",
            essential: false,
            dependsOn: [{ containerName: "writer", condition: "SUCCESS" }],
            volumesFrom: [
              { sourceContainer: "reader" },
              { sourceContainer: "writer", readOnly: true },
            ],
            command: [
              "sh",
              "-c",
              "exec 2>&1; cat /in/msg /data/msg; echo x > /data/y; echo from-ro-write=$?",
            ],
          },
          {
            name: "main",
            dependsOn: ["reader", "follower", "follower-ro"].map((containerName) => ({
              containerName,
              condition: "COMPLETE" as const,
            })),
            mountPoints: volume,
            command: ["sh", "-c", "ls /data; cat /data/msg"],
          },
        ],
        { volumes: [{ name: "shared", host: {} }] },
      ),
    );
    const stopped = await waitForTask(ecs, taskArn, "STOPPED");
    assert.equal(stopped.containers?.find((c) => c.name === "main")?.exitCode, 0);
    assert.match(await logsOf(taskArn, "writer"), /^wrote$/m);
    const reader = await logsOf(taskArn, "reader");
    assert.match(reader, /^hello$/m, "the reader sees the writer's file");
    assert.match(reader, /Read-only file system/);
    assert.match(reader, /^ro-write=1$/m, "a readOnly mount point refuses writes");
    const follower = await logsOf(taskArn, "follower");
    assert.match(follower, /^hello$/m, "volumesFrom mounts the source's volume at its path");
    assert.match(follower, /^rw-write=0$/m, "and keeps it writable");
    const followerRo = await logsOf(taskArn, "follower-ro");
    assert.match(followerRo, /^hello$[\s\S]*^hello$/m, "every mount of each source container");
    assert.match(followerRo, /^from-ro-write=1$/m, "volumesFrom readOnly makes them read-only");
    const main = await logsOf(taskArn, "main");
    assert.match(main, /^hello\nmore$/m, "one volume for the whole task");
    assert.doesNotMatch(main, /^y$/m);
    assert.deepEqual(storageFootprint(agentDir), { mounts: 0, loopDevices: 0, images: 0 });
  });

  it("fills a new volume from the image's content at a path the image declares a VOLUME", async () => {
    const seeded = await pushBusyboxImage(berth, "seeded", {
      files: { "seed/greeting": "from the image\n", "plain/file": "not a volume\n" },
      volumes: ["/seed"],
    });
    const taskArn = await runTask(
      definition(
        "seeded-volume",
        [
          {
            name: "first",
            image: seeded.uri,
            essential: false,
            mountPoints: [
              { sourceVolume: "seeded", containerPath: "/seed/" },
              { sourceVolume: "empty", containerPath: "/plain" },
            ],
            command: ["sh", "-c", "exec 2>&1; cat /seed/greeting; ls /plain; echo listed"],
          },
          {
            name: "second",
            dependsOn: [{ containerName: "first", condition: "COMPLETE" }],
            mountPoints: [{ sourceVolume: "seeded", containerPath: "/elsewhere" }],
            command: ["sh", "-c", "exec 2>&1; cat /elsewhere/greeting"],
          },
        ],
        { volumes: [{ name: "seeded" }, { name: "empty" }] },
      ),
    );
    await waitForTask(ecs, taskArn, "STOPPED");
    const first = await logsOf(taskArn, "first");
    assert.match(first, /^from the image$/m, "the VOLUME path's content is in the volume");
    assert.match(first, /^listed$/m);
    assert.doesNotMatch(first, /^file$/m, "a path that is no VOLUME mounts the empty volume");
    assert.match(await logsOf(taskArn, "second"), /^from the image$/m, "one volume, seeded once");
  });

  it("validates volumes, mount points and ephemeral storage as ECS does", async () => {
    const app = (extra: Partial<ContainerDefinition> = {}): ContainerDefinition => ({
      name: "app",
      ...extra,
    });
    const cases: Array<[Partial<RegisterTaskDefinitionRequest>, ContainerDefinition[], string]> = [
      [
        {},
        [app({ mountPoints: [{ sourceVolume: "nope", containerPath: "/x" }] })],
        "Unknown volume 'nope'.",
      ],
      [
        { volumes: [{ name: "v" }, { name: "v" }] },
        [app()],
        "Volume names must be unique within a Task Definition.",
      ],
      [{ volumes: [{ name: "bad name" }] }, [app()], "volume.name contains invalid characters."],
      [
        { volumes: [{ name: "v", host: { sourcePath: "/etc" } }] },
        [app()],
        "Fargate compatible task definitions do not support sourcePath",
      ],
      [
        { volumes: [{ name: "v", dockerVolumeConfiguration: { driver: "local" } }] },
        [app()],
        "Fargate compatible task definitions do not support dockerVolumeConfiguration",
      ],
      [
        { volumes: [{ name: "v", efsVolumeConfiguration: { fileSystemId: "fs-1" } }] },
        [app()],
        "Berth supports bind mount volumes only; volume 'v' has efsVolumeConfiguration.",
      ],
      [
        { volumes: [{ name: "v" }] },
        [app({ mountPoints: [{ sourceVolume: "v", containerPath: "relative" }] })],
        "Invalid containerPath 'relative' for container 'app': it must be an absolute path.",
      ],
      [
        {},
        [app({ volumesFrom: [{ sourceContainer: "ghost" }] })],
        "Cannot mount volumes from container 'ghost' because it does not exist",
      ],
      [
        {},
        [
          app({ volumesFrom: [{ sourceContainer: "other" }] }),
          { name: "other", essential: false, volumesFrom: [{ sourceContainer: "app" }] },
        ],
        "Container volumesFrom should not have a cycle",
      ],
      [
        { ephemeralStorage: { sizeInGiB: 20 } },
        [app()],
        "EphemeralStorage size should be at least 21",
      ],
      [
        { ephemeralStorage: { sizeInGiB: 201 } },
        [app()],
        "EphemeralStorage size should be at most 200",
      ],
    ];
    for (const [extra, containers, message] of cases) {
      await assert.rejects(
        ecs.send(new RegisterTaskDefinitionCommand(definition("bad-volumes", containers, extra))),
        (error: Error) => {
          assert.equal(error.name, "ClientException", message);
          assert.equal(error.message, message);
          return true;
        },
      );
    }

    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand(
        definition(
          "good-volumes",
          [app({ mountPoints: [{ sourceVolume: "v", containerPath: "/v" }] })],
          {
            volumes: [{ name: "v" }],
          },
        ),
      ),
    );
    const { taskDefinition: described } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinition?.taskDefinitionArn }),
    );
    assert.deepEqual(described?.volumes, [{ name: "v", host: {} }]);
    assert.deepEqual(described?.compatibilities, ["EC2", "FARGATE"]);
    for (const sizeInGiB of [10, 500]) {
      await assert.rejects(
        ecs.send(
          new RunTaskCommand({
            taskDefinition: taskDefinition?.taskDefinitionArn,
            overrides: { ephemeralStorage: { sizeInGiB } },
          }),
        ),
        {
          name: "ClientException",
          message: `EphemeralStorage size should be at ${sizeInGiB < 21 ? "least 21" : "most 200"}`,
        },
      );
    }
  });

  it("removes a task's storage when it stops after a kill -9 of its agent, and purges what is left", async () => {
    const remote = await startBerthProcess({ args: ["--no-local-agent"] });
    const dataDir = tempDataDir("berth-agent-");
    const first = await startAgentProcess({
      ...remote.join,
      token: remote.joinToken,
      dataDir,
      keepDataDir: true,
    });
    const client = new ECSClient(remote.clientConfig);
    let second: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
    try {
      const uri = (await pushBusyboxImage(remote, "busybox")).uri;
      const request = (family: string): RegisterTaskDefinitionRequest => ({
        ...definition(family, [
          {
            name: "app",
            image: uri,
            stopTimeout: 1,
            mountPoints: [{ sourceVolume: "v", containerPath: "/v" }],
            command: ["sh", "-c", "echo kept > /v/file; exec sleep 600"],
          },
        ]),
        volumes: [{ name: "v" }],
      });
      const stopped = await runTask(request("survivor"), client);
      const purged = await runTask(request("purged"), client);
      for (const arn of [stopped, purged]) await waitForTask(client, arn, "RUNNING");
      assert.deepEqual(storageFootprint(dataDir), { mounts: 2, loopDevices: 2, images: 2 });

      await first.kill();
      assert.deepEqual(
        storageFootprint(dataDir),
        { mounts: 2, loopDevices: 2, images: 2 },
        "the tasks keep their storage while no agent runs",
      );
      second = await startAgentProcess({
        ...remote.join,
        token: remote.joinToken,
        dataDir,
        keepDataDir: true,
      });
      await client.send(new StopTaskCommand({ task: stopped }));
      await waitForTask(client, stopped, "STOPPED");
      assert.deepEqual(storageFootprint(dataDir), { mounts: 1, loopDevices: 1, images: 1 });
      assert.equal(existsSync(join(dataDir, "storage", idOf(stopped))), false);

      // Decommissioning the host (purgeHost) removes the rest.
      await second.kill();
      await purgeHost(dataDir);
      assert.deepEqual(storageFootprint(dataDir), { mounts: 0, loopDevices: 0, images: 0 });
    } finally {
      client.destroy();
      await second?.kill();
      await first.kill();
      await purgeHost(dataDir);
      removeDataDir(dataDir);
      await remote.stop();
    }
  });
});
