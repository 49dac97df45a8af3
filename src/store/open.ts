/**
 * Opening the store: SQLite (better-sqlite3, WAL) by default, under the data directory.
 * Services see only `Store` (a Kysely over `Database`), so another dialect — PostgreSQL for
 * many hosts — slots in here without touching them.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { BerthError } from "../core/index.js";
import { migrationProvider } from "./migrations.js";
import type { Database } from "./schema.js";

export type Store = Kysely<Database>;

export async function openSqliteStore(path: string): Promise<Store> {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  // NORMAL is durable across process crashes under WAL (a kill -9 loses nothing committed);
  // only a power loss can take the last transactions back.
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return db;
}

export async function migrate(db: Store): Promise<void> {
  // Components add their migrations independently; order among unrelated ones does not matter.
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error !== undefined || failed !== undefined) {
    throw new BerthError(
      "StoreMigrationFailed",
      `store migration ${failed?.migrationName ?? ""} failed`.trim(),
      { fault: "server", cause: error },
    );
  }
}
