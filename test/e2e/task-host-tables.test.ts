// A task's share of the host's tables (issue 12, item 7): its pids limit and its open-file
// limit come from the host's pid_max and file-max in proportion to its size, and a task that
// asks for more descriptors (ECS lets a Fargate task ask for 1048576) cannot exceed its share.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { readHostTables, taskTableLimits } from "../../src/agent/runtime/host-tables.js";
import {
  describeTask,
  startEcsTestbed,
  taskLogs,
  until,
  type BerthProcess,
  type EcsTestbed,
} from "../../src/testing/index.js";

let bed: EcsTestbed;
let berth: BerthProcess;
let ecs: ECSClient;
let image: string;

before(async () => {
  bed = await startEcsTestbed();
  ({ berth, ecs, image } = bed);
});
after(() => bed.stop());

describe("a task's share of the host's pid and file tables (issue 12, item 7)", () => {
  it("cannot raise its open files past its share, and its pids limit is its share", async () => {
    const expected = taskTableLimits(readHostTables(), { cpu: 256, memoryMiB: 512 });
    assert.ok(expected.nofile < 1_048_576, "this host's share is below what the task asks");
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "descriptors",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          {
            name: "app",
            image,
            ulimits: [{ name: "nofile", softLimit: 1_048_576, hardLimit: 1_048_576 }],
            command: [
              "sh",
              "-c",
              "echo hard=$(ulimit -Hn); " +
                "(ulimit -n 1048576 && echo raised || echo refused) 2>&1; " +
                "(ulimit -n $(( $(ulimit -Hn) + 1 )) && echo over || echo held) 2>&1; " +
                "sleep 600",
            ],
          },
        ],
      }),
    );
    const { tasks = [], failures = [] } = await ecs.send(
      new RunTaskCommand({ taskDefinition: taskDefinition?.taskDefinitionArn }),
    );
    assert.deepEqual(failures, []);
    const taskArn = tasks[0]?.taskArn ?? "";
    // Logs exist only once the task's host has started it.
    const started = await until(
      "the task to start",
      () => describeTask(ecs, taskArn),
      (task) => task.lastStatus === "RUNNING" || task.lastStatus === "STOPPED",
    );
    assert.equal(started.lastStatus, "RUNNING", JSON.stringify(started.stoppedReason));
    const output = await until(
      "the task's output",
      () => taskLogs(berth, taskArn),
      (out) => /held|over/.test(out),
    );
    assert.match(output, new RegExp(`^hard=${expected.nofile}$`, "m"));
    assert.match(output, /^refused$/m, "the task cannot take a million descriptors");
    assert.match(output, /^held$/m, "nor one past its limit");

    assert.equal((await describeTask(ecs, taskArn)).lastStatus, "RUNNING");
    const taskId = taskArn.split("/").pop() ?? "";
    const pids = readdirSync("/sys/fs/cgroup/pids")
      .map((parent) => join("/sys/fs/cgroup/pids", parent, taskId, "pids.max"))
      .find((file) => existsSync(file));
    assert.ok(pids !== undefined, "the task has a pids cgroup");
    assert.equal(Number(readFileSync(pids, "utf8")), expected.pidsLimit);
  });
});
