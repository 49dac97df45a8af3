// StopTask is bounded whatever runs inside (issue 12, item 6): a fork bomb of spinning shells
// fills the task's pids limit under a quarter of a core, and StopTask must still take the task
// to STOPPED with every one of its processes gone — not wait behind them for minutes. The wait
// is bounded at stopTimeout + 15 s as the failure condition, not measured.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import { describeTask, startEcsTestbed, until, type EcsTestbed } from "../../src/testing/index.js";

const STOP_TIMEOUT = 2;
const PIDS = "/sys/fs/cgroup/pids";

let bed: EcsTestbed;
let ecs: ECSClient;
let image: string;

before(async () => {
  bed = await startEcsTestbed();
  ({ ecs, image } = bed);
});
after(() => bed.stop());

/** The task's cgroup in the pids hierarchy (its parent is Berth's, whatever it is named). */
function taskCgroup(taskId: string): string | undefined {
  for (const parent of readdirSync(PIDS, { withFileTypes: true })) {
    if (!parent.isDirectory()) continue;
    const dir = join(PIDS, parent.name, taskId);
    if (existsSync(dir)) return dir;
  }
  return undefined;
}

/** Every process of a cgroup and its children, with its start time (PIDs are reused). */
function processes(dir: string): Map<number, string> {
  const out = new Map<number, string>();
  const visit = (path: string): void => {
    for (const line of readFileSync(join(path, "cgroup.procs"), "utf8").split("\n"))
      if (line !== "") out.set(Number(line), startTime(Number(line)) ?? "");
    for (const entry of readdirSync(path, { withFileTypes: true }))
      if (entry.isDirectory()) visit(join(path, entry.name));
  };
  visit(dir);
  return out;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

describe("StopTask after a fork bomb (issue 12, item 6)", () => {
  it("reaches STOPPED with every process of the task gone", async () => {
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "fork-bomb",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          {
            name: "bomb",
            image,
            stopTimeout: STOP_TIMEOUT,
            // Every shell forks two more and spins: the pids limit fills with runnable shells.
            command: ["sh", "-c", "b() { b | b & while :; do :; done; }; b"],
          },
        ],
      }),
    );
    const { tasks = [] } = await ecs.send(
      new RunTaskCommand({ taskDefinition: taskDefinition?.taskDefinitionArn }),
    );
    const taskArn = tasks[0]?.taskArn ?? "";
    const taskId = taskArn.split("/").pop() ?? "";
    await until(
      "the task to run",
      () => describeTask(ecs, taskArn),
      (task) => task.lastStatus === "RUNNING",
    );
    const cgroup = taskCgroup(taskId);
    assert.ok(cgroup !== undefined, "the task has a pids cgroup");
    // Until the pids limit refuses forks: the bomb is at its full size.
    const limit = Number(readFileSync(join(cgroup, "pids.max"), "utf8"));
    await until(
      "the fork bomb to fill the task's pids limit",
      async () => Number(readFileSync(join(cgroup, "pids.current"), "utf8")),
      (count) => count >= Math.min(limit, 1000),
      { timeoutMs: 60_000, everyMs: 200 },
    );
    const bomb = processes(cgroup);
    assert.ok(bomb.size >= Math.min(limit, 1000), `${bomb.size} processes`);

    await ecs.send(new StopTaskCommand({ task: taskArn, reason: "defusing" }));
    const stopped = await until(
      "the task to stop",
      () => describeTask(ecs, taskArn),
      (task) => task.lastStatus === "STOPPED",
      { timeoutMs: (STOP_TIMEOUT + 60) * 1000, everyMs: 200 },
    );
    assert.equal(stopped.stoppedReason, "defusing");
    const alive = [...bomb].filter(([pid, start]) => startTime(pid) === start);
    assert.deepEqual(alive, [], "every process of the task is gone");
    assert.equal(taskCgroup(taskId), undefined, "and so is its cgroup");
  });
});
