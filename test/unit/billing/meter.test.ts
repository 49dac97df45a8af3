/** The meter: written once, durable across restarts, running tasks billed to now, missed hooks healed. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Meter } from "../../../src/billing/index.js";
import { InMemoryTaskUsageSource } from "./memory-source.js";
import { ManualClock, silentLogger } from "../../../src/core/index.js";
import { openSqliteStore } from "../../../src/store/index.js";
import { task } from "./fixtures.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function meterAt(now: string, source = new InMemoryTaskUsageSource(), path = ":memory:") {
  const store = await openSqliteStore(path);
  const clock = new ManualClock(new Date(now));
  return { meter: new Meter({ store, source, clock, log: silentLogger }), store, clock, source };
}

describe("Meter", () => {
  it("writes one usage row per task, once", async () => {
    const { meter, store } = await meterAt("2026-05-01T12:00:00Z");
    const t = task({ pull: "2026-05-01T10:00:00Z", stop: "2026-05-01T10:00:10.5Z" });
    assert.equal(await meter.recordTaskUsage(t), "recorded");
    // A second STOPPED report (a retry, a different stop time) changes nothing.
    assert.equal(
      await meter.recordTaskUsage({ ...t, stoppedAt: new Date("2026-05-01T11:00:00Z") }),
      "already-recorded",
    );
    const rows = await store.selectFrom("task_usage").selectAll().execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.billed_seconds, 60);
    assert.equal(Number(rows[0]?.billed_until), new Date("2026-05-01T10:01:00Z").getTime());
    await store.destroy();
  });

  it("does not bill a task that never pulled", async () => {
    const { meter, store } = await meterAt("2026-05-01T12:00:00Z");
    assert.equal(
      await meter.recordTaskUsage(task({ stop: "2026-05-01T10:00:00Z" })),
      "not-billable",
    );
    assert.equal((await store.selectFrom("task_usage").selectAll().execute()).length, 0);
    await store.destroy();
  });

  it("refuses a malformed record as our own bug", async () => {
    const { meter, store } = await meterAt("2026-05-01T12:00:00Z");
    await assert.rejects(
      meter.recordTaskUsage(
        task({ cpu: 0, pull: "2026-05-01T10:00:00Z", stop: "2026-05-01T10:01:00Z" }),
      ),
      (e: unknown) => (e as { code?: string; fault?: string }).code === "InvalidTaskUsage",
    );
    await store.destroy();
  });

  it("keeps records across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-meter-"));
    dirs.push(dir);
    const path = join(dir, "berth.db");
    const first = await meterAt("2026-05-01T12:00:00Z", undefined, path);
    const t = task({ pull: "2026-05-01T10:00:00Z", stop: "2026-05-01T10:30:00Z" });
    await first.meter.recordTaskUsage(t);
    await first.store.destroy();
    const second = await meterAt("2026-05-01T12:00:00Z", undefined, path);
    const billed = await second.meter.billedTasks(
      new Date("2026-05-01T10:00:00Z"),
      new Date("2026-05-01T11:00:00Z"),
    );
    assert.deepEqual(
      billed.map((b) => [b.usage.taskArn, b.billedSeconds, b.final]),
      [[t.taskArn, 1800, true]],
    );
    assert.equal(await second.meter.recordTaskUsage(t), "already-recorded");
    await second.store.destroy();
  });

  it("bills a running task up to now, and a stopped task the hook missed", async () => {
    const source = new InMemoryTaskUsageSource();
    const running = task({ pull: "2026-05-01T10:00:00Z" });
    const missed = task({ pull: "2026-05-01T10:00:00Z", stop: "2026-05-01T10:05:00.2Z" });
    source.put(running);
    source.put(missed);
    const { meter, store, clock } = await meterAt("2026-05-01T10:20:00.5Z", source);
    const window = [new Date("2026-05-01T10:00:00Z"), new Date("2026-05-01T11:00:00Z")] as const;
    let billed = await meter.billedTasks(...window);
    const seconds = (arn: string) => billed.find((b) => b.usage.taskArn === arn)?.billedSeconds;
    assert.equal(seconds(running.taskArn), 1201); // 20 min 0.5 s, rounded up
    assert.equal(seconds(missed.taskArn), 301);
    // The missed stop was recorded, once; the running task was not.
    const rows = await store.selectFrom("task_usage").select("task_arn").execute();
    assert.deepEqual(
      rows.map((r) => r.task_arn),
      [missed.taskArn],
    );
    clock.advance(60_000);
    billed = await meter.billedTasks(...window);
    assert.equal(seconds(running.taskArn), 1261);
    await store.destroy();
  });

  it("leaves out tasks outside the window", async () => {
    const { meter, store } = await meterAt("2026-05-02T00:00:00Z");
    await meter.recordTaskUsage(
      task({ pull: "2026-05-01T08:00:00Z", stop: "2026-05-01T08:59:30Z" }),
    );
    await meter.recordTaskUsage(
      task({ pull: "2026-05-01T09:59:30Z", stop: "2026-05-01T09:59:40Z" }),
    );
    // The second runs 10 s but is billed 60 s: until 10:00:30, inside the window.
    const billed = await meter.billedTasks(
      new Date("2026-05-01T10:00:00Z"),
      new Date("2026-05-01T11:00:00Z"),
    );
    assert.equal(billed.length, 1);
    assert.equal(billed[0]?.billedSeconds, 60);
    await store.destroy();
  });
});
