// The statement cache hands back one prepared statement per SQL text, keeps only the recent
// ones, and a store on it still sees schema changes and answers as before.
import assert from "node:assert/strict";
import { test } from "node:test";
import SQLite from "better-sqlite3";
import { withStatementCache } from "../../../src/store/statement-cache.js";

test("one statement per SQL text, the least recently used dropped", () => {
  const db = new SQLite(":memory:");
  const cached = withStatementCache(db, 2);
  const a = cached.prepare("select 1 as x");
  assert.equal(cached.prepare("select 1 as x"), a);
  cached.prepare("select 2 as x");
  cached.prepare("select 1 as x"); // a is now the most recent
  cached.prepare("select 3 as x"); // drops "select 2"
  assert.equal(cached.prepare("select 1 as x"), a);
  assert.deepEqual(cached.prepare("select 1 as x").all([]), [{ x: 1 }]);
  cached.close();
});

test("a kept statement follows a schema change", () => {
  const db = new SQLite(":memory:");
  const cached = withStatementCache(db);
  db.exec("create table t (a integer)");
  db.exec("insert into t values (1)");
  const select = "select * from t";
  assert.deepEqual(cached.prepare(select).all([]), [{ a: 1 }]);
  db.exec("alter table t add column b integer default 7");
  assert.deepEqual(cached.prepare(select).all([]), [{ a: 1, b: 7 }]);
  cached.close();
});
