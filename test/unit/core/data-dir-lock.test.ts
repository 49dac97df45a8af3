/** One Berth per data dir: the lock refuses a second holder and names the first. */
import assert from "node:assert/strict";
import { statSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { lockDataDir, LOCK_FILE } from "../../../src/core/index.js";
import { tempDataDir } from "../../../src/testing/index.js";

describe("lockDataDir", () => {
  it("refuses a second holder, naming the pid, until the first lets go", () => {
    const dir = tempDataDir("berth-lock-");
    try {
      const first = lockDataDir(dir);
      assert.equal(statSync(join(dir, LOCK_FILE)).mode & 0o777, 0o600);
      assert.throws(
        () => lockDataDir(dir),
        (e: Error & { code?: string }) =>
          e.code === "DataDirInUse" &&
          e.message.startsWith(`another Berth (pid ${process.pid}) uses ${dir}`),
      );
      first.release();
      lockDataDir(dir).release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
