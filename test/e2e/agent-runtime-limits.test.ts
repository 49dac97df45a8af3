/**
 * Limits and isolation are real (runc): memory over the limit is OOM-killed and reported so;
 * 256 CPU units hold a busy loop near a quarter of a core; a fork bomb stops at the pids
 * limit; /proc and /sys are masked; capabilities and seccomp are Docker's defaults (the filter
 * without x32).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createRuncRuntime, type ContainerRuntime } from "../../src/agent/runtime/index.js";
import { cpuShareWindows } from "../../src/testing/index.js";
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
    // Every window is under the quota's cap; one at least shows the loop ran.
    const shares = await cpuShareWindows(
      async () => (await runtime.sandboxUsage(taskId)).cpuNanos,
      0.15,
    );
    const said = shares.map((share) => `${(share * 100).toFixed(1)}%`).join(", ");
    assert.ok(shares.length > 0 && shares.every((share) => share < 0.4), `used ${said} of a core`);
    assert.ok(
      shares.some((share) => share > 0.15),
      `used ${said} of a core`,
    );
    await runtime.destroySandbox(taskId);
  });

  it("stops a fork bomb at the pids limit and the host stays fine", async () => {
    const taskId = uniqueId("pids");
    await runtime.prepareSandbox({ taskId, pidsLimit: 64, memoryMiB: 256 });
    // the sleep starts before the bomb: started after it, its fork could be the one refused,
    // and the container's init would exit with every process in it (seen in CI as "peak 0")
    const spec = busyboxSpec(fixture, taskId, [
      "sh",
      "-c",
      "sleep 1000 & b() { b | b & }; b; wait",
    ]);
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
      assert.equal(
        (await runtime.list()).containers.some((c) => c.id === spec.id),
        false,
      );
    }
    await runtime.destroySandbox(taskId);
  });

  it("refuses x32-ABI system calls (the filter names only x86-64 and i386)", async () => {
    // A 138-byte static x86-64 program: getpid through the x32 ABI (39 | 0x40000000), then
    // exit(-result). Killed by the filter (SIGSYS: 128 + 31) here; with x32 in the filter's
    // architectures the call reaches the kernel, which answers ENOSYS (exit 38) or the pid.
    const code = [0xb8, 0x27, 0, 0, 0x40, 0x0f, 0x05, 0xf7, 0xd8, 0x89, 0xc7, 0xb8, 0x3c, 0, 0, 0];
    const program = x86Elf([...code, 0x0f, 0x05]);
    writeFileSync(join(fixture.rootfs, "x32-getpid"), program, { mode: 0o755 });
    const taskId = uniqueId("x32");
    await runtime.prepareSandbox({ taskId });
    const { exit } = await runIn(taskId, ["/x32-getpid"]);
    assert.equal(exit.exitCode, 128 + 31);
    await runtime.destroySandbox(taskId);
  });
});

/** A static x86-64 ELF executable of `code` alone: one loadable segment at 0x400000. */
function x86Elf(code: number[]): Buffer {
  const base = 0x400000;
  const header = Buffer.alloc(64 + 56);
  const size = header.length + code.length;
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header, 0); // ELF64, little-endian, v1
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(0x3e, 18); // x86-64
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(BigInt(base + header.length), 24); // entry: just after the headers
  header.writeBigUInt64LE(64n, 32); // program headers at 64
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(56, 54);
  header.writeUInt16LE(1, 56);
  header.writeUInt32LE(1, 64); // PT_LOAD
  header.writeUInt32LE(5, 68); // read, execute
  header.writeBigUInt64LE(BigInt(base), 80); // vaddr
  header.writeBigUInt64LE(BigInt(base), 88); // paddr
  header.writeBigUInt64LE(BigInt(size), 96); // file size
  header.writeBigUInt64LE(BigInt(size), 104); // memory size
  header.writeBigUInt64LE(0x1000n, 112); // align
  return Buffer.concat([header, Buffer.from(code)]);
}
