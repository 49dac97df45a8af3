/**
 * An exit read while it lands: conmon writes the container's exit file, then exits. An inspect
 * whose first look at the file came just before it was written, and whose look at the monitor
 * came just after conmon was gone, took the exit for one without a word (255) and kept that for
 * good; it must report the code conmon wrote. The first look is made to miss the file (as it
 * did under load, when a task's metadata request raced its exit); the container, conmon and the
 * file are real.
 *
 * And an exit read before it lands: the container's process has ended but conmon has not yet
 * reaped it and written the file (made to last by stopping conmon; a loaded host does it by
 * itself). A restarted agent's list took that for "stopped" with no exit code at all.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { createRuncRuntime } from "../../src/agent/runtime/index.js";
import type { OciContainerRuntime } from "../../src/agent/runtime/oci-runtime.js";
import { makeFixture, uniqueId, type RuntimeFixture } from "../unit/agent/runtime/fixtures.js";

function alive(pid: number): boolean {
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return stat !== "" && !/\) [ZX] /.test(stat);
}

describe("runc runtime: an exit read while it lands", () => {
  let fixture: RuntimeFixture;
  let runtime: OciContainerRuntime;

  before(() => {
    fixture = makeFixture();
    runtime = createRuncRuntime({
      dataDir: join(fixture.dir, "agent"),
      cgroupParent: fixture.cgroupParent,
    }) as OciContainerRuntime;
  });
  after(async () => {
    await fixture.cleanup(runtime);
  });

  /** A started container of its own task running `args`, and its monitor's (conmon's) pid. */
  async function started(
    prefix: string,
    args: string[],
  ): Promise<{ taskId: string; id: string; monitor: number }> {
    const taskId = uniqueId(prefix);
    const id = `${taskId}-app`;
    await runtime.prepareSandbox({ taskId, cpu: 256, memoryMiB: 64 });
    await runtime.createContainer({
      id,
      taskId,
      name: "app",
      rootfs: { path: fixture.rootfs },
      args,
    });
    await runtime.startContainer(id);
    const monitor = Number(
      readFileSync(join(runtime.records.containerDir(id), "conmon.pid"), "utf8"),
    );
    return { taskId, id, monitor };
  }

  it("reports the code conmon wrote, not 255", async () => {
    const { taskId, id, monitor } = await started("race", ["sh", "-c", "exit 7"]);
    // The container has exited and its monitor with it; nothing has read the exit yet.
    const exitFile = runtime.records.exitFile(id);
    for (let i = 0; i < 500 && (!existsSync(exitFile) || alive(monitor)); i++) await sleep(20);
    assert.ok(existsSync(exitFile) && !alive(monitor), "conmon wrote the exit and is gone");

    // The inspect's first look at the exit file comes before conmon wrote it.
    const read = runtime.records.readExitCode.bind(runtime.records);
    let looks = 0;
    runtime.records.readExitCode = (of: string) =>
      of === id && looks++ === 0 ? Promise.resolve(undefined) : read(of);
    const info = await runtime.inspectContainer(id);
    assert.ok(looks > 1, "the file was read again");
    assert.equal(info?.status, "stopped");
    assert.equal(info?.exit?.exitCode, 7);
    // And that is what stays.
    assert.equal((await runtime.waitContainer(id)).exitCode, 7);

    await runtime.deleteContainer(id);
    await runtime.destroySandbox(taskId);
    assert.deepEqual(await runtime.footprint(), EMPTY);
  });

  it("waits for the exit conmon has yet to write of a process that has ended", async () => {
    const { taskId, id, monitor } = await started("reap", ["sleep", "600"]);
    const pid = (await runtime.inspectContainer(id))?.pid;
    assert.ok(pid !== undefined);
    process.kill(monitor, "SIGSTOP");
    let resumed = false;
    const resume = (): void => {
      if (!resumed) process.kill(monitor, "SIGCONT");
      resumed = true;
    };
    try {
      process.kill(pid, "SIGKILL");
      while (alive(pid)) await sleep(20); // a zombie, for conmon to reap
      let settled = false;
      const inspecting = runtime.inspectContainer(id).finally(() => (settled = true));
      await sleep(300);
      assert.equal(settled, false, "the inspect waits for the exit file");
      resume();
      const info = await inspecting;
      assert.equal(info?.status, "stopped");
      assert.equal(info?.exit?.exitCode, 137);
    } finally {
      resume();
    }
    await runtime.destroySandbox(taskId);
    assert.deepEqual(await runtime.footprint(), EMPTY);
  });
});

const EMPTY = {
  mounts: 0,
  loopDevices: 0,
  cgroups: 0,
  runtimeStates: 0,
  netns: 0,
  monitors: 0,
};
