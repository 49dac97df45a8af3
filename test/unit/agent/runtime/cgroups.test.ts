/**
 * Task cgroups as files, on a stand-in cgroup root (a temp dir), for both layouts: v1 (this
 * host) and v2 (unified), which this host cannot mount.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { detectCgroupVersion, TaskCgroups } from "../../../../src/agent/runtime/index.js";
import { removeTree } from "../../../../src/agent/runtime/cgroups.js";

function withRoot(fn: (root: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), "berth-cgroot-"));
    try {
      await fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

const read = (path: string) => readFileSync(path, "utf8");

describe("TaskCgroups", () => {
  it(
    "writes a v2 task cgroup: controllers enabled down the path, cpu.max, memory.max, pids.max",
    withRoot(async (root) => {
      writeFileSync(join(root, "cgroup.controllers"), "cpu memory pids");
      writeFileSync(join(root, "cgroup.subtree_control"), "");
      assert.equal(detectCgroupVersion(root), 2);
      const cgroups = new TaskCgroups("berth", undefined, root);
      assert.equal(cgroups.version, 2);
      await cgroups.create("t1", { cpu: 256, memoryMiB: 512, pidsLimit: 100 });
      assert.equal(read(join(root, "cgroup.subtree_control")), "+cpu +memory +pids");
      assert.equal(read(join(root, "berth/cgroup.subtree_control")), "+cpu +memory +pids");
      assert.equal(read(join(root, "berth/t1/cgroup.subtree_control")), "+cpu +memory +pids");
      assert.equal(read(join(root, "berth/t1/cpu.max")), "25000 100000");
      assert.equal(read(join(root, "berth/t1/memory.max")), String(512 * 1048576));
      assert.equal(read(join(root, "berth/t1/memory.swap.max")), "0");
      assert.equal(read(join(root, "berth/t1/pids.max")), "100");
      await cgroups.create("t2", { pidsLimit: 10 });
      assert.equal(read(join(root, "berth/t2/cpu.max")), "max 100000");

      writeFileSync(join(root, "berth/t1/cpu.stat"), "usage_usec 1500\nuser_usec 1000\n");
      writeFileSync(join(root, "berth/t1/memory.current"), "4096\n");
      writeFileSync(join(root, "berth/t1/pids.current"), "3\n");
      assert.deepEqual(await cgroups.usage("t1"), {
        cpuNanos: 1_500_000,
        memoryBytes: 4096,
        pids: 3,
      });
      writeFileSync(
        join(root, "berth/t1/memory.events"),
        "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
      );
      assert.equal(await cgroups.oomKills("/berth/t1"), 1);
      assert.equal(await cgroups.oomKills("/berth/gone"), undefined);
    }),
  );

  it(
    "writes a v1 task cgroup in each controller's hierarchy",
    withRoot(async (root) => {
      for (const controller of ["cpu", "cpuacct", "memory", "pids"])
        mkdirSync(join(root, controller));
      const cgroups = new TaskCgroups("berth", undefined, root);
      assert.equal(cgroups.version, 1);
      await cgroups.create("t1", { cpu: 512, memoryMiB: 64, pidsLimit: 50 });
      assert.equal(read(join(root, "cpu/berth/t1/cpu.cfs_period_us")), "100000");
      assert.equal(read(join(root, "cpu/berth/t1/cpu.cfs_quota_us")), "50000");
      assert.equal(read(join(root, "memory/berth/t1/memory.limit_in_bytes")), String(64 * 1048576));
      assert.equal(
        read(join(root, "memory/berth/t1/memory.memsw.limit_in_bytes")),
        String(64 * 1048576),
      );
      assert.equal(read(join(root, "pids/berth/t1/pids.max")), "50");
      assert.equal(cgroups.containerPath("t1", "c1"), "/berth/t1/c1");
      writeFileSync(
        join(root, "memory/berth/t1/memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
      );
      assert.equal(await cgroups.oomKills("/berth/t1"), 2);
    }),
  );

  it(
    "probe: makes and removes a cgroup in each v1 hierarchy a task needs, leaving none",
    withRoot(async (root) => {
      for (const controller of ["cpu", "memory", "pids"]) mkdirSync(join(root, controller));
      await new TaskCgroups("berth", 1, root).probe();
      for (const controller of ["cpu", "memory", "pids"])
        assert.deepEqual(readdirSync(join(root, controller, "berth")), []);
    }),
  );

  it(
    "probe: refuses with CgroupsUnavailable when a hierarchy is not mounted or cannot take a cgroup",
    withRoot(async (root) => {
      mkdirSync(join(root, "cpu"));
      mkdirSync(join(root, "memory"));
      const cgroups = new TaskCgroups("berth", 1, root);
      await assert.rejects(cgroups.probe(), (error: Error & { code?: string }) => {
        assert.equal(error.code, "CgroupsUnavailable");
        assert.match(error.message, new RegExp(`${join(root, "pids")} is not there`));
        return true;
      });
      // A hierarchy where nothing can be made (a file stands where the parent goes).
      mkdirSync(join(root, "pids"));
      writeFileSync(join(root, "pids", "berth"), "");
      await assert.rejects(cgroups.probe(), (error: Error & { code?: string }) => {
        assert.equal(error.code, "CgroupsUnavailable");
        assert.match(error.message, /cannot make .*pids\/berth\/probe-\d+: ENOTDIR/);
        return true;
      });
    }),
  );

  // A real hierarchy (cgroupfs), where a busy cgroup refuses rmdir with EBUSY: not a temp dir.
  const PIDS = "/sys/fs/cgroup/pids";
  it(
    "removeTree: a nested cgroup tree in a real hierarchy, a busy one once its process is gone",
    { skip: !existsSync(join(PIDS, "cgroup.procs")) && "no cgroup v1 pids hierarchy here" },
    async () => {
      const top = join(PIDS, `berth-unit-${process.pid}`);
      const task = join(top, "task");
      mkdirSync(join(task, "container-a"), { recursive: true });
      mkdirSync(join(task, "container-b"));
      const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
      const ended = new Promise((resolve) => sleeper.once("exit", resolve));
      try {
        writeFileSync(join(task, "container-b", "cgroup.procs"), String(sleeper.pid));
        // Busy while its process lives: the removal waits (EBUSY, tried again), then goes.
        let killed = false;
        setTimeout(() => (killed = sleeper.kill("SIGKILL")), 150);
        await removeTree(task);
        assert.equal(killed, true, "removed only once its process was killed");
        assert.equal(existsSync(task), false);
        await removeTree(task); // gone already: nothing to do
      } finally {
        sleeper.kill("SIGKILL");
        await ended;
        for (const dir of [join(task, "container-a"), join(task, "container-b"), task, top])
          try {
            rmdirSync(dir);
          } catch {
            // removed by the test
          }
      }
    },
  );
});
