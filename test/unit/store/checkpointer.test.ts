/**
 * SQLite's WAL is checkpointed by a worker thread, not by the server's connection as it
 * commits: the committed pages reach the database file though the connection's own
 * autocheckpoint is off, and closing the store closes the worker's connection first, so the
 * last connection checkpoints the rest and removes the WAL.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { sql } from "kysely";
import { openSqliteStore } from "../../../src/store/index.js";
import { until } from "../../../src/testing/index.js";

const dir = mkdtempSync(join(tmpdir(), "berth-checkpoint-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the WAL reaches the database file from the worker, and closing removes it", async () => {
  const path = join(dir, "berth.db");
  const store = await openSqliteStore(path);
  const { rows } = await sql<{
    wal_autocheckpoint: number;
  }>`pragma wal_autocheckpoint`.execute(store);
  assert.equal(rows[0]?.wal_autocheckpoint, 0, "the server's connection does not checkpoint");
  const before = statSync(path).size;
  // Far fewer pages than SQLite's own autocheckpoint (1,000) would wait for.
  await sql`create table filler (id integer primary key, text text)`.execute(store);
  for (let i = 0; i < 50; i++)
    await sql`insert into filler (text) values (${"x".repeat(4000)})`.execute(store);
  await until(
    "the database file to hold the WAL's pages",
    () => Promise.resolve(statSync(path).size),
    (size) => size >= before + 50 * 4000,
    { timeoutMs: 5_000, everyMs: 20 },
  );
  await store.destroy();
  assert.equal(existsSync(`${path}-wal`), false, "the WAL is removed at close");
});
