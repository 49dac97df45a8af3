/**
 * Prepared statements kept for reuse. Kysely's SQLite driver prepares every query it runs; a
 * CPU profile of `bench:placement` showed better-sqlite3's prepare taking more time than
 * running the statements. A statement is reusable (SQLite re-prepares it itself after a schema
 * change), and Kysely runs one query at a time on the connection, so none is ever reused while
 * still being read: the recent ones are kept by their SQL text.
 */
import type SQLite from "better-sqlite3";
import type { SqliteDatabase, SqliteStatement } from "kysely";

/**
 * Enough for every distinct statement on a hot path (their lists of values are one text each,
 * dialect.ts `anyOf`); the rarer `in (...)` lists are a text per size.
 */
const KEPT = 500;

export function withStatementCache(db: SQLite.Database, kept = KEPT): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (statement !== undefined) {
        // Most recently used last: the first key is the one to drop.
        statements.delete(sql);
        statements.set(sql, statement);
        return statement;
      }
      statement = db.prepare(sql);
      statements.set(sql, statement);
      if (statements.size > kept) {
        const oldest = statements.keys().next().value;
        if (oldest !== undefined) statements.delete(oldest);
      }
      return statement;
    },
  };
}
