/**
 * Two Berths on one data dir (issue 13 #2): the second `berth up`, and a `berth agent` on the
 * first's agent dir, refuse to start and name the first's pid; after a kill -9 of the first, the
 * dir is free again (the lock dies with its process).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import {
  BERTH_BIN,
  startBerthProcess,
  tempDataDir,
  removeDataDir,
} from "../../src/testing/index.js";

const run = promisify(execFile);

async function berth(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BERTH_BIN, ...args], {
      timeout: 60_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

const dataDir = tempDataDir("berth-lock-e2e-");
after(() => removeDataDir(dataDir));

describe("the data dir lock", () => {
  it("refuses a second Berth and a second agent, and is free again after kill -9", async () => {
    const first = await startBerthProcess({ dataDir, keepDataDir: true });
    let again: Awaited<ReturnType<typeof startBerthProcess>> | undefined;
    try {
      const pid = first.process.pid;
      const second = await berth(["up", "--port", "0", "--data-dir", dataDir]);
      assert.equal(second.code, 1, second.out);
      assert.match(second.out, new RegExp(`another Berth \\(pid ${pid}\\) uses ${dataDir}`));
      assert.doesNotMatch(second.out, /Berth is up/);
      // The first's local agent holds its own dir the same way.
      const agentDir = join(dataDir, "agent");
      const agent = await berth([
        "agent",
        "--server",
        first.join.server,
        "--ca-cert-hash",
        first.join.caCertHash,
        "--token",
        first.joinToken,
        "--data-dir",
        agentDir,
      ]);
      assert.equal(agent.code, 1, agent.out);
      assert.match(agent.out, new RegExp(`another Berth \\(pid ${pid}\\) uses ${agentDir}`));

      await first.kill();
      again = await startBerthProcess({ dataDir, keepDataDir: true });
      const health = await fetch(`${again.endpoint}/_berth/health`);
      assert.equal(health.status, 200);
    } finally {
      await first.kill();
      if (again !== undefined) await again.stop();
      // keepDataDir: the containers of this test's Berth (none ran) are purged with the dir.
    }
  });
});
