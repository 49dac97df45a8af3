/**
 * A record that cannot be read is not an absent record (issue 12, item 5): under a descriptor
 * flood the agent read EMFILE as "no such container" and its watchers gave up. Only ENOENT is
 * absence; other failures surface (EISDIR stands in for EMFILE here: both are "cannot read").
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { RecordStore } from "../../../../src/agent/runtime/records.js";

const dir = mkdtempSync(join(tmpdir(), "berth-records-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("RecordStore reads", () => {
  it("answers undefined only for what does not exist, and surfaces other failures", async () => {
    const records = new RecordStore(dir);
    await records.init();
    assert.equal(await records.getContainer("none"), undefined);
    assert.equal(await records.readExitCode("none"), undefined);
    assert.deepEqual(await records.listContainers(), []);
    // The record's path cannot be read as a file.
    mkdirSync(join(records.containerDir("broken"), "container.json"), { recursive: true });
    await assert.rejects(records.getContainer("broken"), { code: "EISDIR" });
    await assert.rejects(records.listContainers(), { code: "EISDIR" });
    mkdirSync(records.exitFile("broken"));
    await assert.rejects(records.readExitCode("broken"), { code: "EISDIR" });
  });
});
