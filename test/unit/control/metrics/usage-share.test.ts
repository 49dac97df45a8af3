/**
 * Two servers on one store, each with its own agents: what one receives reaches the other's
 * series (so the leader's auto scaling sees every host's tasks), a sample read twice counts
 * once, and rows older than the window go.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { UsageSeries, UsageShare } from "../../../../src/control/metrics/index.js";
import { silentLogger } from "../../../../src/core/index.js";
import { openSqliteStore } from "../../../../src/store/index.js";

const dir = mkdtempSync(join(tmpdir(), "berth-usage-share-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("samples received by one server reach the other's series", async () => {
  const store = await openSqliteStore(join(dir, "share.db"));
  let now = 1_000_000;
  const server = (id: string) => {
    const series = new UsageSeries(60_000);
    const share = new UsageShare({
      store,
      series,
      serverId: id,
      intervalMs: 1000,
      windowMs: 60_000,
      now: () => now,
      log: silentLogger,
    });
    return { series, share };
  };
  const a = server("a");
  const b = server("b");
  const task = "arn:aws:ecs:us-east-1:000000000000:task/c/t1";
  // A's agent reports twice, a second apart: half a vCPU busy, 64 MiB.
  for (const [at, cpuNanos] of [
    [now - 1000, 0],
    [now, 500_000_000],
  ] as const) {
    const sample = { at, cpuNanos, memoryBytes: 64 * 1024 * 1024 };
    a.series.record(task, sample);
    await a.share.publish([{ key: task, sample }]);
  }
  assert.equal(b.series.use(task, now - 1000, now), undefined, "B has nothing before it reads");
  assert.equal(await b.share.pull(), 2);
  assert.equal(await b.share.pull(), 2, "read again: the same rows");
  const use = b.series.use(task, now - 1000, now);
  assert.equal(use?.cpuUnits, 512);
  assert.equal(use?.memoryMiB, 64);
  assert.equal(await a.share.pull(), 0, "a server does not read back its own samples");

  // Past the window, rows go.
  now += 120_000;
  await b.share.pull();
  const left = await store.selectFrom("usage_samples").select("id").execute();
  assert.equal(left.length, 0);
  await store.destroy();
});
