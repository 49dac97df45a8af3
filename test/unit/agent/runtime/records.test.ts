/**
 * A record that cannot be read is not an absent record (issue 12, item 5): under a descriptor
 * flood the agent read EMFILE as "no such container" and its watchers gave up. Only ENOENT is
 * absence; other failures surface (EISDIR stands in for EMFILE here: both are "cannot read").
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { RecordStore, type ContainerRecord } from "../../../../src/agent/runtime/records.js";

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

const record = (id: string, name: string): ContainerRecord => ({
  id,
  taskId: "task",
  name,
  labels: {},
  rootfs: { path: "/rootfs" },
  cgroupPath: `/berth/task/${id}`,
  createdAt: new Date(0).toISOString(),
});

/** What the disk holds for a container, read past the store. */
function onDisk(records: RecordStore, id: string): unknown {
  try {
    return JSON.parse(readFileSync(join(records.containerDir(id), "container.json"), "utf8"));
  } catch {
    return undefined;
  }
}

describe("RecordStore keeps what it wrote", () => {
  it("reads a record it wrote back without the disk, as a copy of its own", async () => {
    const records = new RecordStore(dir);
    await records.init();
    mkdirSync(records.containerDir("kept"));
    await records.putContainer(record("kept", "app"));
    assert.deepEqual(onDisk(records, "kept"), record("kept", "app"), "written through");
    // Changed on the disk behind the store's back: what it wrote is still what it reads.
    writeFileSync(join(records.containerDir("kept"), "container.json"), "{not json");
    const read = await records.getContainer("kept");
    assert.deepEqual(read, record("kept", "app"));
    if (read !== undefined) read.name = "changed by a caller";
    assert.equal((await records.getContainer("kept"))?.name, "app");
    await records.removeContainer("kept");
    assert.equal(await records.getContainer("kept"), undefined);
  });

  it("agrees with the disk after writes and removals race", async () => {
    const records = new RecordStore(dir);
    await records.init();
    for (let i = 0; i < 40; i++) {
      const id = `race-${i}`;
      mkdirSync(records.containerDir(id));
      await records.putContainer(record(id, "first"));
      // A write and a removal at once, in either order, and sometimes a write after it.
      const writes = [records.putContainer(record(id, "second")).catch(() => undefined)];
      // The removal may fail itself (a write's temp file appeared in the directory it removes).
      const removal = records.removeContainer(id).catch(() => undefined);
      if (i % 2 === 0)
        writes.push(records.putContainer(record(id, "third")).catch(() => undefined));
      await Promise.all([...writes, removal]);
      assert.deepEqual(await records.getContainer(id), onDisk(records, id), `round ${i}`);
    }
  });
});
