/**
 * Limits and isolation are real (runc): memory over the limit is OOM-killed and reported so;
 * 256 CPU units hold a busy loop near a quarter of a core; a fork bomb stops at the pids
 * limit; /proc and /sys are masked; capabilities and seccomp are Docker's defaults.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createRuncRuntime, type ContainerRuntime } from "../../src/agent/runtime/index.js";
import {
  busyboxSpec,
  collectLogs,
  makeFixture,
  uniqueId,
  type RuntimeFixture,
} from "../unit/agent/runtime/fixtures.js";

describe("runc runtime: limits and isolation", () => {
  let fixture: RuntimeFixture;
  let runtime: ContainerRuntime;

  before(() => {
    fixture = makeFixture();
    runtime = createRuncRuntime({
      dataDir: join(fixture.dir, "agent"),
      cgroupParent: fixture.cgroupParent,
    });
  });
  after(async () => {
    await fixture.cleanup(runtime);
  });

  async function runIn(taskId: string, args: string[], extra = {}) {
    const spec = busyboxSpec(fixture, taskId, args, extra);
    await runtime.createContainer(spec);
    await runtime.startContainer(spec.id);
    const exit = await runtime.waitContainer(spec.id);
    const out = await collectLogs(runtime, spec.id);
    await runtime.deleteContainer(spec.id);
    return { exit, out };
  }

  // Allocates memory by growing a shell variable without bound.
  const HOG = ["sh", "-c", 'x=a; while true; do x="$x$x"; done'];

  it("OOM-kills a container over its own memory limit and says so", async () => {
    const taskId = uniqueId("oom");
    await runtime.prepareSandbox({ taskId, memoryMiB: 256 });
    const { exit } = await runIn(taskId, HOG, { memoryMiB: 32 });
    assert.equal(exit.exitCode, 137);
    assert.equal(exit.oomKilled, true);
    await runtime.destroySandbox(taskId);
  });

  it("OOM-kills a container over the task's memory and says so; a plain kill is not OOM", async () => {
    const taskId = uniqueId("oomtask");
    await runtime.prepareSandbox({ taskId, memoryMiB: 32 });
    const { exit } = await runIn(taskId, HOG);
    assert.equal(exit.exitCode, 137);
    assert.equal(exit.oomKilled, true);
    const spec = busyboxSpec(fixture, taskId, ["sleep", "1000"]);
    await runtime.createContainer(spec);
    await runtime.startContainer(spec.id);
    await runtime.signalContainer(spec.id, "SIGKILL");
    const killed = await runtime.waitContainer(spec.id);
    assert.deepEqual([killed.exitCode, killed.oomKilled], [137, false]);
    await runtime.destroySandbox(taskId);
  });

  it("holds a busy task of 256 CPU units near a quarter of one core", async () => {
    const taskId = uniqueId("cpu");
    await runtime.prepareSandbox({ taskId, cpu: 256 });
    const spec = busyboxSpec(fixture, taskId, ["sh", "-c", "while true; do :; done"]);
    await runtime.createContainer(spec);
    await runtime.startContainer(spec.id);
    const first = await runtime.sandboxUsage(taskId);
    const t0 = process.hrtime.bigint();
    await sleep(2000);
    const second = await runtime.sandboxUsage(taskId);
    const wallNs = Number(process.hrtime.bigint() - t0);
    const share = (second.cpuNanos - first.cpuNanos) / wallNs;
    assert.ok(share > 0.15 && share < 0.4, `used ${(share * 100).toFixed(1)}% of a core`);
    await runtime.destroySandbox(taskId);
  });

  it("stops a fork bomb at the pids limit and the host stays fine", async () => {
    const taskId = uniqueId("pids");
    await runtime.prepareSandbox({ taskId, pidsLimit: 64, memoryMiB: 256 });
    const spec = busyboxSpec(fixture, taskId, ["sh", "-c", "b() { b | b & }; b; sleep 1000"]);
    await runtime.createContainer(spec);
    await runtime.startContainer(spec.id);
    // the kernel counts refused forks (in the forking cgroup on v1, the limited one on v2)
    const refused = (): number =>
      [`${taskId}/pids.events`, `${taskId}/${spec.id}/pids.events`]
        .map((rel) => readFileSync(`/sys/fs/cgroup/pids/${fixture.cgroupParent}/${rel}`, "utf8"))
        .map((text) => Number(/max (\d+)/.exec(text)?.[1] ?? 0))
        .reduce((a, b) => a + b, 0);
    let peak = 0;
    for (let i = 0; i < 500 && refused() === 0; i++) {
      peak = Math.max(peak, (await runtime.sandboxUsage(taskId)).pids);
      await sleep(20);
    }
    assert.ok(refused() > 0, "no fork was refused");
    for (let i = 0; i < 10; i++) {
      peak = Math.max(peak, (await runtime.sandboxUsage(taskId)).pids);
      await sleep(20);
    }
    assert.ok(peak > 1 && peak <= 64, `peak ${peak} processes`);
    // the host can still start processes and containers
    const other = uniqueId("other");
    await runtime.prepareSandbox({ taskId: other });
    const { out } = await runIn(other, ["echo", "still fine"]);
    assert.equal(out, "still fine");
    await runtime.destroySandbox(other);
    await runtime.destroySandbox(taskId);
  });

  it("masks /proc and /sys paths, drops capabilities and filters system calls", async () => {
    const taskId = uniqueId("iso");
    await runtime.prepareSandbox({ taskId });
    const probe = [
      "sh",
      "-c",
      [
        "exec 2>/dev/null",
        "wc -c < /proc/timer_list",
        "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable || echo sys-ro",
        "ls /sys/firmware | wc -l",
        "grep CapEff /proc/self/status",
        "unshare -n true 2>/dev/null && echo unshared || echo unshare-denied",
        "mkdir -p /mnt",
        "mount -t tmpfs none /mnt && echo mounted || echo mount-denied",
        "hostname other 2>/dev/null && echo renamed || echo rename-denied",
      ].join("; "),
    ];
    const { out } = await runIn(taskId, probe);
    const lines = out.split("\n").map((l) => l.trim());
    assert.deepEqual(lines, [
      "0",
      "sys-ro",
      "0",
      // Docker's default set: chown dac_override fowner fsetid kill setgid setuid setpcap
      // net_bind_service net_raw sys_chroot mknod audit_write setfcap
      "CapEff:\t00000000a80425fb",
      "unshare-denied",
      "mount-denied",
      "rename-denied",
    ]);
    // SYS_PTRACE is the one capability a task may add (Fargate's rule); it shows in CapEff
    const ptrace = await runIn(taskId, ["sh", "-c", "grep CapEff /proc/self/status"], {
      capabilities: { add: ["SYS_PTRACE"] },
    });
    assert.equal(ptrace.out.trim(), "CapEff:\t00000000a80c25fb");
    // anything more is refused before a container exists, whatever the record says
    for (const add of [["SYS_ADMIN"], ["ALL"], ["NET_ADMIN"]]) {
      const spec = busyboxSpec(fixture, taskId, ["true"], { capabilities: { add } });
      await assert.rejects(runtime.createContainer(spec), { code: "InvalidContainerSpec" });
      assert.equal((await runtime.list()).containers.some((c) => c.id === spec.id), false);
    }
    await runtime.destroySandbox(taskId);
  });
});
