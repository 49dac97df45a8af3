/**
 * purgeHost removes a network namespace the agent made but never recorded (an agent killed in
 * between): before, the namespace stayed mounted and the data dir could not be removed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { purgeHost } from "../../src/agent/index.js";
import { NetnsStore } from "../../src/agent/runtime/netns.js";
import { removeDataDir } from "../../src/testing/index.js";

const mountedUnder = (dir: string): string[] =>
  readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point.startsWith(dir));

test("purgeHost unmounts a namespace no sandbox record names", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-agent-"));
  try {
    const netns = new NetnsStore(join(dataDir, "run", "netns"));
    const file = await netns.create("0123456789abcdef0123456789abcdef");
    assert.deepEqual(mountedUnder(dataDir), [file]);
    await purgeHost(dataDir);
    assert.deepEqual(mountedUnder(dataDir), []);
    rmSync(dataDir, { recursive: true }); // would be EBUSY with the namespace still mounted
  } finally {
    for (const point of mountedUnder(dataDir))
      await new NetnsStore(join(point, "..")).remove(point.split("/").pop() ?? "");
    removeDataDir(dataDir);
  }
});
