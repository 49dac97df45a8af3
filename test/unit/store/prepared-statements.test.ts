// PostgreSQL statements that come back are run by name (prepared once per session); others, and
// those without parameters, go as before. Against a fake pool: what node-postgres is asked.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withPreparedStatements, type PgPool } from "../../../src/store/prepared-statements.js";

function fakePool(): {
  pool: PgPool;
  client: { query: (...args: unknown[]) => Promise<unknown> };
  asked: unknown[][];
  released: number;
} {
  const asked: unknown[][] = [];
  const state = { released: 0 };
  const client = {
    query: (...args: unknown[]) => {
      asked.push(args);
      return Promise.resolve({ rows: [], rowCount: 0, command: "SELECT" });
    },
    release: () => {
      state.released++;
    },
  };
  const pool = {
    connect: () => Promise.resolve(client),
    end: () => Promise.resolve(),
  } as unknown as PgPool;
  return {
    pool,
    client,
    asked,
    get released() {
      return state.released;
    },
  };
}

test("a text with parameters is named from its second use on, the same name in every session", async () => {
  const fake = fakePool();
  const pool = withPreparedStatements(fake.pool);
  const one = await pool.connect();
  const two = await pool.connect();
  const select = "select * from hosts where id = $1";
  await one.query(select, ["h1"]);
  await one.query(select, ["h2"]);
  await two.query(select, ["h3"]);
  await one.query("select * from tasks where arn = $1", ["t1"]);
  await one.query("begin", []);
  await one.query("begin", []);
  assert.deepEqual(fake.asked, [
    [select, ["h1"]],
    [{ name: "berth_0", text: select, values: ["h2"] }],
    [{ name: "berth_0", text: select, values: ["h3"] }],
    ["select * from tasks where arn = $1", ["t1"]],
    // No parameters: the simple protocol, which may hold several statements (migrations).
    ["begin", []],
    ["begin", []],
  ]);
  one.release();
  two.release();
  assert.equal(fake.released, 2);
});

test("at most `kept` names, and none for texts of many parameters", async () => {
  const fake = fakePool();
  const pool = withPreparedStatements(fake.pool, 2);
  const client = await pool.connect();
  for (const text of ["a $1", "b $1", "c $1"]) {
    await client.query(text, [1]);
    await client.query(text, [1]);
  }
  const many = Array.from({ length: 501 }, (_, i) => i);
  const big = `select ${many.map((i) => `$${i + 1}`).join(",")}`;
  await client.query(big, many);
  await client.query(big, many);
  const named = fake.asked.map(([first]) =>
    typeof first === "string" ? undefined : (first as { name: string }).name,
  );
  assert.deepEqual(named, [
    undefined,
    "berth_0",
    undefined,
    "berth_1",
    undefined,
    undefined, // a third text: two names are kept already
    undefined,
    undefined,
  ]);
});

test("a text whose plan went stale (the table changed under it) is forgotten, then named anew", async () => {
  const fake = fakePool();
  const pool = withPreparedStatements(fake.pool);
  const client = await pool.connect();
  const select = "select * from hosts where id = $1";
  await client.query(select, ["h1"]);
  await client.query(select, ["h2"]); // berth_0 from here on
  // What PostgreSQL answers a prepared `select *` once another server added a column.
  const stale = Object.assign(new Error("cached plan must not change result type"), {
    code: "0A000",
  });
  const query = fake.client.query;
  fake.client.query = (...args: unknown[]) => {
    fake.client.query = query;
    fake.asked.push(args);
    return Promise.reject(stale);
  };
  await assert.rejects(client.query(select, ["h3"]), /cached plan must not change result type/);
  await client.query(select, ["h4"]);
  await client.query(select, ["h5"]);
  const names = fake.asked.map(([first]) =>
    typeof first === "string" ? undefined : (first as { name: string }).name,
  );
  // Unnamed, named, the stale one; then unnamed again and a new name: never berth_0 again.
  assert.deepEqual(names, [undefined, "berth_0", "berth_0", undefined, "berth_1"]);
});

test("a transaction's opening is sent with the statement after it, in one write", async () => {
  const fake = fakePool();
  const corks = { depth: 0, writes: 0 };
  const stream = {
    cork: () => void corks.depth++,
    uncork: () => {
      if (--corks.depth === 0) corks.writes++;
    },
  };
  Object.assign(fake.client, { connection: { stream } });
  const asked: Array<{ args: unknown[]; corked: boolean }> = [];
  const query = fake.client.query;
  fake.client.query = (...args: unknown[]) => {
    asked.push({ args, corked: corks.depth > 0 });
    return query(...args);
  };
  const pool = withPreparedStatements(fake.pool);
  const client = await pool.connect();
  const opening = "start transaction isolation level read committed";
  const begun = (await client.query(opening, [])) as { command: string };
  assert.equal(begun.command, "BEGIN");
  assert.deepEqual(asked, [], "held until the next statement");
  await client.query("update hosts set reserved_cpu = $1", [1]);
  await client.query("commit", []);
  assert.deepEqual(asked, [
    { args: [opening, []], corked: true },
    { args: ["update hosts set reserved_cpu = $1", [1]], corked: true },
    { args: ["commit", []], corked: false },
  ]);
  assert.equal(corks.writes, 1, "the opening and its statement in one write");
  client.release();
});

test("a failed opening fails the statement sent with it", async () => {
  const fake = fakePool();
  const query = fake.client.query;
  fake.client.query = (...args: unknown[]) =>
    args[0] === "begin" ? Promise.reject(new Error("session lost")) : query(...args);
  const pool = withPreparedStatements(fake.pool);
  const client = await pool.connect();
  await client.query("begin", []);
  await assert.rejects(client.query("select $1", [1]), /session lost/);
  client.release();
});
