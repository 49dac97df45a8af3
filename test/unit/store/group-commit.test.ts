// Group commit on SQLite (store/group-commit.ts): transactions asked for at the same moment
// share one commit, each in its own savepoint, and one that fails is rolled back alone.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { groupedTransaction, openSqliteStore } from "../../../src/store/index.js";

const dir = mkdtempSync(join(tmpdir(), "berth-group-commit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

void test("transactions asked for together share one commit; a failing one is rolled back alone", async () => {
  const store = await openSqliteStore(join(dir, "g.db"));
  try {
    let transactions = 0;
    const transaction = store.transaction.bind(store);
    store.transaction = () => {
      transactions++;
      return transaction();
    };
    const put = (token: string) =>
      groupedTransaction(store).execute(async (trx) => {
        await trx
          .insertInto("idempotency")
          .values({ scope: "s", token, request_hash: "h", response: "{}", created_at: 0 })
          .execute();
        // Each sees what those before it wrote, as after their commits.
        const seen = await trx.selectFrom("idempotency").select("token").execute();
        if (token === "bad") throw new Error("refused");
        return seen.length;
      });
    const settled = await Promise.allSettled(["a", "b", "bad", "c", "b"].map(put));
    assert.equal(transactions, 1, "one commit for five");
    assert.deepEqual(
      settled.map((s) => (s.status === "fulfilled" ? s.value : String(s.reason))),
      [
        1,
        2,
        "Error: refused",
        // "bad" was rolled back before "c" ran.
        3,
        // The same key again: a unique violation, its own.
        "SqliteError: UNIQUE constraint failed: idempotency.scope, idempotency.token",
      ],
    );
    const stored = await store.selectFrom("idempotency").select("token").orderBy("token").execute();
    assert.deepEqual(
      stored.map((row) => row.token),
      ["a", "b", "c"],
    );
    // Later ones commit in a group of their own.
    assert.equal(await put("d"), 4);
    assert.equal(transactions, 2);
  } finally {
    await store.destroy();
  }
});
