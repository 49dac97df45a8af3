import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ExitWatcher } from "../../../../src/agent/runtime/exit-watcher.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a wait whose signal fires while the first check runs rejects instead of waiting for ever", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-exits-"));
  try {
    // A slow first check (a loaded host), and a stop timeout shorter than it.
    const watcher = new ExitWatcher(dir, async () => {
      await sleep(100);
      return false;
    });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 10);
    const outcome = await Promise.race([
      watcher.wait("c1", abort.signal).then(
        () => "resolved",
        () => "rejected",
      ),
      sleep(3_000).then(() => "still waiting"),
    ]);
    watcher.close();
    assert.equal(outcome, "rejected");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a wait resolves when the exit file appears", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-exits-"));
  try {
    const watcher = new ExitWatcher(dir, (id) =>
      import("node:fs").then(({ existsSync }) => existsSync(join(dir, id))),
    );
    const waiting = watcher.wait("c2");
    await sleep(50);
    writeFileSync(join(dir, "c2"), "0");
    await waiting;
    watcher.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
