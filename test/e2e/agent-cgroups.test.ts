// An agent that cannot manage cgroups refuses to start, with the reason, instead of failing
// (and retrying) every task it is given (issue 13 #17). The real `berth agent`, in a mount
// namespace of its own where /sys/fs/cgroup is an empty tmpfs: no hierarchy is mounted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BERTH_BIN, tempDataDir, removeDataDir } from "../../src/testing/index.js";

describe("berth agent without cgroups", () => {
  it("refuses to start, in one line naming what is missing", () => {
    const dataDir = tempDataDir("berth-agent-nocg-");
    try {
      // The tmpfs lives and dies with the namespace: the host's cgroups are untouched.
      const result = spawnSync(
        "unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          'mount -t tmpfs berth-test-nocgroups /sys/fs/cgroup && exec "$@"',
          "sh",
          process.execPath,
          BERTH_BIN,
          "agent",
          // Nothing listens there: the refusal comes before any connection.
          "--server",
          "http://127.0.0.1:9",
          "--token",
          "unused",
          "--data-dir",
          dataDir,
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
      assert.equal(result.status, 1, result.stderr);
      assert.equal(
        result.stderr.trim(),
        "berth agent: this host's cgroups cannot be managed: /sys/fs/cgroup/cpu is not there " +
          "(no cgroup hierarchy is mounted). The agent runs as root with the cgroup hierarchies " +
          "(cpu, memory, pids) mounted read-write under /sys/fs/cgroup.",
      );
      assert.equal(result.stdout, "");
      // It never got as far as making a host identity.
      assert.equal(existsSync(join(dataDir, "host-id")), false);
    } finally {
      removeDataDir(dataDir);
    }
  });
});
