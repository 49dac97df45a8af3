// A task's share of the host's pid and file tables (issue 12, item 7).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MAX_TASK_NOFILE,
  MAX_TASK_PIDS,
  taskTableLimits,
  type HostTables,
} from "../../../../src/agent/runtime/host-tables.js";

/** This machine's shape: 2 cores, ~10.5 GiB, pid_max 32768. */
const host: HostTables = { pidMax: 32_768, fileMax: 2_466_248, cpuUnits: 2048, memoryMiB: 10_752 };

describe("taskTableLimits", () => {
  it("gives a task its CPU or memory share, whichever is larger, of what the reserve leaves", () => {
    // 256 of 2048 units (1/8) beats 512 of 10752 MiB: 1/8 of 32768 - 8192, of 2466248 - 616562
    assert.deepEqual(taskTableLimits(host, { cpu: 256, memoryMiB: 512 }), {
      pidsLimit: 3072,
      nofile: 231_210,
    });
    // memory's share (1/2) wins over CPU's (1/8)
    assert.equal(taskTableLimits(host, { cpu: 256, memoryMiB: 5376 }).pidsLimit, 4096);
    assert.equal(
      taskTableLimits({ ...host, pidMax: 4_194_304 }, { cpu: 256, memoryMiB: 5376 }).pidsLimit,
      MAX_TASK_PIDS,
    );
  });

  it("leaves the reserve to the host however many tasks fill it", () => {
    // The red team's case: 8 minimum tasks used to take 8 x 4096 = the whole pid_max.
    const tasks = Array.from({ length: 8 }, () =>
      taskTableLimits(host, { cpu: 256, memoryMiB: 512 }),
    );
    const pids = tasks.reduce((sum, t) => sum + t.pidsLimit, 0);
    const files = tasks.reduce((sum, t) => sum + t.nofile, 0);
    assert.ok(pids <= host.pidMax - 8192, `${pids} pids`);
    assert.ok(files <= host.fileMax - 616_562, `${files} files`);
  });

  it("caps a large task at Fargate's sizes and keeps a floor for a tiny one", () => {
    const big = { ...host, pidMax: 4_194_304, fileMax: 100_000_000 };
    assert.deepEqual(taskTableLimits(big, { cpu: 2048, memoryMiB: 10_752 }), {
      pidsLimit: MAX_TASK_PIDS,
      nofile: MAX_TASK_NOFILE,
    });
    const tiny = { pidMax: 4096, fileMax: 50_000, cpuUnits: 65_536, memoryMiB: 1_048_576 };
    assert.deepEqual(taskTableLimits(tiny, { cpu: 256, memoryMiB: 512 }), {
      pidsLimit: 64,
      nofile: 1024,
    });
  });

  it("gives no more descriptors than the agent can grant (runc would fail with EPERM)", () => {
    // An agent without CAP_SYS_RESOURCE and a hard limit of 20000 cannot raise a container past it.
    assert.equal(
      taskTableLimits({ ...host, nofileGrantable: 20_000 }, { cpu: 256, memoryMiB: 512 }).nofile,
      20_000,
    );
  });

  it("counts a sandbox of no stated size as the whole host", () => {
    assert.deepEqual(taskTableLimits(host, {}), { pidsLimit: 4096, nofile: MAX_TASK_NOFILE });
  });
});
