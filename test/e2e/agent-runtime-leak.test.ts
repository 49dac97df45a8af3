/**
 * Nothing leaks: 50 tasks, each a sandbox with one container on an overlay rootfs from the
 * image store, created, started, stopped and deleted; afterwards the host's mounts, cgroups,
 * runc states, network namespaces and conmon processes of this runtime are back where they
 * started (counted by the runtime's footprint and, independently, from /proc and /sys).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentLogger } from "../../src/core/index.js";
import { createRuncRuntime, type ContainerRuntime } from "../../src/agent/runtime/index.js";
import { ImageStore } from "../../src/agent/images/index.js";
import { makeImage, makeLayer, startFakeRegistry } from "../unit/agent/images/registries.js";
import { deleteEverything, removeCgroupParent } from "../unit/agent/runtime/fixtures.js";

const TASKS = 50;

/** Independent counts, straight from the kernel's views. */
function hostCounts(dir: string, cgroupParent: string) {
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .filter((line) => (line.split(" ")[1] ?? "").startsWith(dir + "/")).length;
  let cgroups = 0;
  for (const hierarchy of readdirSync("/sys/fs/cgroup")) {
    const out = execFileSync(
      "find",
      [join("/sys/fs/cgroup", hierarchy), "-path", `*/${cgroupParent}/*`, "-type", "d"],
      {
        encoding: "utf8",
      },
    );
    cgroups += out.split("\n").filter(Boolean).length;
  }
  const runc = execFileSync("runc", [`--root=${join(dir, "agent/run/runc")}`, "list", "-q"], {
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean).length;
  const conmon = execFileSync("ps", ["-eo", "stat=,args="], { encoding: "utf8" })
    .split("\n")
    .filter(
      (line) => !line.startsWith("Z") && line.includes("conmon") && line.includes(dir),
    ).length;
  return { mounts, cgroups, runc, conmon };
}

describe("runc runtime: nothing leaks", () => {
  let dir: string;
  let runtime: ContainerRuntime;
  let store: ImageStore | undefined;
  const cgroupParent = `berth-leak-${process.pid}`;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-leak-"));
  });
  after(async () => {
    if (runtime) await deleteEverything(runtime);
    await store?.unmountSnapshots();
    removeCgroupParent(cgroupParent);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`creates, starts, stops and deletes ${TASKS} tasks and leaves the host as it was`, async () => {
    const busybox = { content: readFileSync("/usr/bin/busybox"), mode: 0o755 };
    const image = makeImage([await makeLayer({ "bin/busybox": busybox })]);
    const fake = await startFakeRegistry();
    store = new ImageStore({ root: join(dir, "images"), log: silentLogger });
    try {
      for (const [digest, bytes] of image.blobs) fake.blobs.set(digest, bytes);
      fake.manifests.set("v1", {
        type: "application/vnd.oci.image.manifest.v1+json",
        body: image.manifest,
      });
      await store.pull(`${fake.host}/leak:v1`);
    } finally {
      await fake.close();
    }
    runtime = createRuncRuntime({
      dataDir: join(dir, "agent"),
      cgroupParent,
      rootfsProvider: store,
    });
    const startFootprint = await runtime.footprint();
    const startHost = hostCounts(dir, cgroupParent);

    for (let i = 0; i < TASKS; i++) {
      const taskId = `leak-${i}`;
      await runtime.prepareSandbox({ taskId, cpu: 256, memoryMiB: 64 });
      const id = `leak-${i}-app`;
      await runtime.createContainer({
        id,
        taskId,
        name: "app",
        rootfs: { imageDigest: image.manifestDigest },
        args: ["/bin/busybox", "sleep", "1000"],
        initProcessEnabled: i % 2 === 0,
      });
      await runtime.startContainer(id);
      const exit = await runtime.stopContainer(id, 100);
      // the stop itself is the contract suite's business; here it only has to end
      assert.equal(typeof exit.exitCode, "number");
      await runtime.deleteContainer(id);
      await runtime.destroySandbox(taskId);
    }

    assert.deepEqual(await runtime.footprint(), startFootprint);
    assert.deepEqual(hostCounts(dir, cgroupParent), startHost);
    // One mount: the image store's snapshots, nosuid,nodev over themselves.
    assert.deepEqual(startHost, { mounts: 1, cgroups: 0, runc: 0, conmon: 0 });
  });
});
