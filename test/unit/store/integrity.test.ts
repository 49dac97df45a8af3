/**
 * A damaged store is noticed (issue 12, item 15): Berth refuses to start on a database with a
 * corrupted page and says how to recover, and health answers 503 once the store stops answering.
 */
import assert from "node:assert/strict";
import { closeSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { BerthError } from "../../../src/core/index.js";
import { startBerthInProcess, tempDataDir } from "../../../src/testing/index.js";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the store's integrity", () => {
  it("refuses to start on a database with a corrupted page, saying what to do", async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const first = await startBerthInProcess({ dataDir });
    await first.stop();
    const path = join(dataDir, "berth.db");
    const reader = new Database(path, { readonly: true });
    const pageSize = reader.pragma("page_size", { simple: true }) as number;
    reader.close();
    const pages = statSync(path).size / pageSize;
    assert.ok(pages > 3, `the store has ${pages} pages`);
    // Garbage over the last page only: a table's page that starting up never reads, so only
    // an integrity check finds it (as the red team's one corrupted page went unnoticed).
    const fd = openSync(path, "r+");
    try {
      writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (pages - 1) * pageSize);
    } finally {
      closeSync(fd);
    }
    await assert.rejects(startBerthInProcess({ dataDir }), (error: unknown) => {
      assert.ok(error instanceof BerthError);
      assert.equal(error.code, "StoreCorrupt");
      assert.match(error.message, /berth\.db is damaged/);
      assert.match(error.message, /\.recover/);
      return true;
    });
  });

  it("answers health 503 when a store query fails", async () => {
    const berth = await startBerthInProcess();
    try {
      const health = async () => {
        const response = await fetch(`${berth.endpoint}/_berth/health`);
        return { status: response.status, body: (await response.json()) as { status: string } };
      };
      assert.deepEqual(await health(), { status: 200, body: { status: "ok" } });
      // Another process breaks the store under the running Berth.
      const db = new Database(join(berth.dataDir, "berth.db"));
      db.exec("DROP TABLE clusters");
      db.close();
      assert.deepEqual(await health(), { status: 503, body: { status: "store-unavailable" } });
    } finally {
      await berth.stop();
    }
  });
});
