/**
 * An exit read while it lands: conmon writes the container's exit file, then exits. An inspect
 * whose first look at the file came just before it was written, and whose look at the monitor
 * came just after conmon was gone, took the exit for one without a word (255) and kept that for
 * good; it must report the code conmon wrote. The first look is made to miss the file (as it
 * did under load, when a task's metadata request raced its exit); the container, conmon and the
 * file are real.
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

  it("reports the code conmon wrote, not 255", async () => {
    const taskId = uniqueId("race");
    const id = `${taskId}-app`;
    await runtime.prepareSandbox({ taskId, cpu: 256, memoryMiB: 64 });
    await runtime.createContainer({
      id,
      taskId,
      name: "app",
      rootfs: { path: fixture.rootfs },
      args: ["sh", "-c", "exit 7"],
    });
    await runtime.startContainer(id);
    // The container has exited and its monitor with it; nothing has read the exit yet.
    const exitFile = runtime.records.exitFile(id);
    const monitor = Number(
      readFileSync(join(runtime.records.containerDir(id), "conmon.pid"), "utf8"),
    );
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
