/**
 * kill -9 of the agent: containers keep running under their monitors, and a new runtime over
 * the same data dir adopts them and reports their real exit codes, including an exit that
 * happened while no agent was running.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { createRuncRuntime, type ContainerRuntime } from "../../src/agent/runtime/index.js";
import {
  collectLogs,
  makeFixture,
  uniqueId,
  type RuntimeFixture,
} from "../unit/agent/runtime/fixtures.js";

async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const { readFile } = await import("node:fs/promises");
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && !/\) [ZX] /.test(stat);
}

describe("runc runtime: agent killed with -9", () => {
  let fixture: RuntimeFixture;
  let runtime: ContainerRuntime;
  const dataDir = () => join(fixture.dir, "agent");

  before(() => {
    fixture = makeFixture();
  });
  after(async () => {
    runtime ??= createRuncRuntime({ dataDir: dataDir(), cgroupParent: fixture.cgroupParent });
    await fixture.cleanup(runtime);
  });

  it("keeps containers running, and a new runtime adopts them with their real exit codes", async () => {
    const signalDir = join(fixture.dir, "signal");
    mkdirSync(signalDir);
    const taskId = uniqueId("adopt");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "../unit/agent/runtime/adopt-child.ts"),
        dataDir(),
        fixture.cgroupParent,
        fixture.rootfs,
        signalDir,
        taskId,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => (output += chunk));
    while (!output.includes("\n")) {
      const [code] = (await Promise.race([
        once(child, "exit"),
        once(child.stdout, "data"),
      ])) as unknown[];
      if (typeof code === "number") assert.fail(`the stand-in agent exited with ${code}`);
    }
    const { ids } = JSON.parse(output) as { ids: [string, string] };
    const [early, late] = ids;

    child.kill("SIGKILL");
    await once(child, "exit");

    // Without any agent: the containers run on; then the first one exits.
    runtime = createRuncRuntime({ dataDir: dataDir(), cgroupParent: fixture.cgroupParent });
    const before = await runtime.list();
    const pids = Object.fromEntries(before.containers.map((c) => [c.id, c.pid]));
    assert.deepEqual(
      before.containers.map((c) => [c.id, c.status]).sort(),
      [
        [early, "running"],
        [late, "running"],
      ].sort(),
    );
    await runtime.close();
    const earlyPid = pids[early];
    assert.ok(earlyPid && (await alive(earlyPid)));
    writeFileSync(join(signalDir, "early"), "");
    while (await alive(earlyPid)) await sleep(20);

    // A new runtime instance (the restarted agent) sees the truth.
    runtime = createRuncRuntime({ dataDir: dataDir(), cgroupParent: fixture.cgroupParent });
    const { sandboxes, containers } = await runtime.list();
    assert.deepEqual(
      sandboxes.map((s) => s.taskId),
      [taskId],
    );
    const byId = new Map(containers.map((c) => [c.id, c]));
    assert.equal(byId.get(early)?.status, "stopped");
    assert.equal(byId.get(early)?.exit?.exitCode, 7);
    assert.equal(byId.get(late)?.status, "running");
    assert.equal(await collectLogs(runtime, early), "started\ndone");

    const waiting = runtime.waitContainer(late);
    writeFileSync(join(signalDir, "late"), "");
    const exit = await waiting;
    assert.deepEqual([exit.exitCode, exit.oomKilled], [8, false]);

    await runtime.destroySandbox(taskId);
    assert.deepEqual(await runtime.footprint(), {
      mounts: 0,
      loopDevices: 0,
      cgroups: 0,
      runtimeStates: 0,
      netns: 0,
      monitors: 0,
    });
  });
});
