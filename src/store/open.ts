/**
 * Opening the store: SQLite (better-sqlite3, WAL) by default, under the data directory, or
 * PostgreSQL (`--store postgres://...`, node-postgres) when several servers share one state.
 * Services see only `Store` (a Kysely over `Database`), the same on both.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import SQLite from "better-sqlite3";
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  sql,
  type DialectAdapter,
  type TransactionBuilder,
} from "kysely";
import pg from "pg";
import { BerthError, PRIVATE_DIR, PRIVATE_FILE } from "../core/index.js";
import { checkpointOffLoop } from "./checkpointer.js";
import { migrationProvider } from "./migrations.js";
import { withPreparedStatements } from "./prepared-statements.js";
import { withStatementCache } from "./statement-cache.js";
import type { Database } from "./schema.js";

export type Store = Kysely<Database>;

/** SQLite runs DDL inside transactions too: a migration that fails leaves nothing behind. */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/** How many problems a failed integrity check names (SQLite can list thousands). */
const PROBLEMS_SHOWN = 5;

function storeCorrupt(path: string, detail: string, cause?: unknown): BerthError {
  return new BerthError(
    "StoreCorrupt",
    `the database ${path} is damaged (${detail}); Berth will not start on it. ` +
      `Stop Berth, keep a copy of the file, then restore it from a backup or rebuild it with ` +
      `\`sqlite3 ${path} .recover | sqlite3 recovered.db\` and put recovered.db in its place.`,
    { fault: "server", cause },
  );
}

/**
 * Opens SQLite and checks its pages (`PRAGMA quick_check`) before anything reads them: a store
 * with a damaged page would otherwise start and answer healthy, then fail or lie at random.
 */
function openChecked(path: string): SQLite.Database {
  let sqlite: SQLite.Database | undefined;
  try {
    sqlite = new SQLite(path);
    sqlite.pragma("journal_mode = WAL");
    const rows = sqlite.pragma(`quick_check(${PROBLEMS_SHOWN})`) as { quick_check: string }[];
    const problems = rows.map((row) => row.quick_check).filter((text) => text !== "ok");
    if (problems.length > 0) throw storeCorrupt(path, problems.join("; "));
    return sqlite;
  } catch (error) {
    sqlite?.close();
    if (error instanceof BerthError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB")
      throw storeCorrupt(path, error instanceof Error ? error.message : String(error), error);
    throw error;
  }
}

export async function openSqliteStore(path: string): Promise<Store> {
  if (path !== ":memory:") {
    mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR });
    // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's
    // own mode, and the store holds tenants' environment values.
    closeSync(openSync(path, "a", PRIVATE_FILE));
  }
  const sqlite = openChecked(path);
  // NORMAL is durable across process crashes under WAL (a kill -9 loses nothing committed);
  // only a power loss can take the last transactions back.
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const database = withStatementCache(sqlite);
  const db = new Kysely<Database>({ dialect: new TransactionalDdlSqliteDialect({ database }) });
  await migrate(db);
  if (path !== ":memory:") {
    // Checkpoints from a worker thread (checkpointer.ts), closed before the connection is.
    const checkpoints = checkpointOffLoop(sqlite, path, (reason) =>
      process.emitWarning(`SQLite checkpoints are back on the event loop: ${reason}`),
    );
    const close = database.close.bind(database);
    database.close = () => {
      checkpoints.close();
      close();
    };
  }
  return db;
}

/** PostgreSQL's codes for "try the transaction again": serialization failure, deadlock. */
const RETRYABLE = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 30;

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && RETRYABLE.has(code);
}

/**
 * On SQLite one connection runs one transaction at a time, so every transaction is
 * serializable and the code above was written so. PostgreSQL runs them side by side: each
 * is made SERIALIZABLE and run again when the database says it lost a conflict, which keeps
 * the same meaning. (A transaction's callback must only touch the database, as all do.)
 */
class PostgresStore extends Kysely<Database> {
  override transaction(): TransactionBuilder<Database> {
    return retrying(super.transaction().setIsolationLevel("serializable"), isRetryable);
  }

  /** See `readCommittedTransaction`. */
  readCommitted(racedOn: readonly string[]): TransactionBuilder<Database> {
    return retrying(
      super.transaction().setIsolationLevel("read committed"),
      (error) =>
        isRetryable(error) ||
        ((error as { code?: unknown } | null)?.code === "23505" &&
          racedOn.includes(String((error as { table?: unknown }).table))),
    );
  }
}

/** `builder`, whose execute runs the callback again (after a wait) while `retry` says so. */
function retrying(
  builder: TransactionBuilder<Database>,
  retry: (error: unknown) => boolean,
): TransactionBuilder<Database> {
  const execute = builder.execute.bind(builder);
  return Object.assign(builder, {
    async execute<T>(callback: Parameters<typeof execute<T>>[0]): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await execute(callback);
        } catch (error) {
          if (!retry(error) || attempt >= MAX_ATTEMPTS) throw error;
          // Full jitter, growing exponentially to 250 ms: transactions that lost on one hot
          // row (a host many RunTasks chose at once) spread out instead of colliding again.
          await new Promise((r) => setTimeout(r, Math.random() * Math.min(250, 4 * 2 ** attempt)));
        }
      }
    },
  });
}

/**
 * A transaction for hot rows whose every write is a conditional update that re-checks its
 * condition on the row's latest version (placement's `claimRooms`): on PostgreSQL it runs at
 * READ COMMITTED, so transactions that read the same rows do not abort each other as
 * SERIALIZABLE would (every RunTask reads every host and writes one: under SSI nearly all
 * concurrent ones conflicted). A row another transaction is changing is waited for and its
 * condition evaluated again on what committed. What serializable would have reported as a
 * conflict on insert (two transactions taking the same subnet) arrives as a unique violation
 * on one of the `racedOn` tables; the transaction is then run again, as after a deadlock.
 * On SQLite, the ordinary (serial) transaction.
 */
export function readCommittedTransaction(
  store: Store,
  racedOn: readonly string[] = [],
): TransactionBuilder<Database> {
  return store instanceof PostgresStore ? store.readCommitted(racedOn) : store.transaction();
}

export async function openPostgresStore(url: string): Promise<Store> {
  // int8 (timestamps in ms, counters) comes back as a string by default; every one Berth
  // keeps fits a double exactly, as it does on SQLite.
  const INT8 = 20;
  const types: pg.CustomTypesConfig = {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === INT8
        ? (value: string) => Number(value)
        : (pg.types.getTypeParser(
            oid,
            format ?? "text",
          ) as unknown)) as pg.CustomTypesConfig["getTypeParser"],
  };
  // Pipeline mode: a statement is sent without waiting for the one before it to be answered,
  // which lets a transaction's opening go with its first statement (prepared-statements.ts).
  // Kysely otherwise awaits each statement before sending the next.
  const pool = new pg.Pool({ connectionString: url, max: 10, types, pipeline: true });
  // An idle client's error (the server restarted) must not end the process: the pool drops it.
  pool.on("error", () => {});
  // Nor a checked-out one's: the pool listens only to idle clients, and a client in a
  // transaction between two queries (or just acquired) when PostgreSQL ends its session (57P01,
  // a restart) emits the error with nobody listening, which would crash the server. Its next
  // query fails instead (the transaction is retried or the request answered with the error),
  // and the pool discards it on release.
  pool.on("connect", (client) => client.on("error", () => {}));
  // Statements that come back are prepared once per session and run by name.
  const db = new PostgresStore({
    dialect: new PostgresDialect({ pool: withPreparedStatements(pool) }),
  });
  try {
    await checkCollation(db);
    await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

/**
 * Names are paged in byte order on SQLite (`name > after`); a PostgreSQL database with a
 * natural-language collation would order them otherwise, so Berth asks for C.
 */
async function checkCollation(db: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{
    collation: string;
  }>`select datcollate as collation from pg_database where datname = current_database()`.execute(
    db,
  );
  const collation = rows[0]?.collation;
  if (collation !== "C" && collation !== "POSIX") {
    throw new BerthError(
      "StoreCollation",
      `the PostgreSQL database uses collation '${collation ?? "?"}'; Berth needs 'C' ` +
        `(create it with: createdb --template=template0 --lc-collate=C --lc-ctype=C NAME)`,
      { fault: "client" },
    );
  }
}

/** The store a server opens: `spec` is a `postgres://` URL, or none for SQLite in the data dir. */
export function openStore(spec: string | undefined, dataDir: string): Promise<Store> {
  if (spec === undefined || spec === "" || spec.startsWith("sqlite:")) {
    const path = spec?.startsWith("sqlite:") ? spec.slice("sqlite:".length) : "";
    return openSqliteStore(path === "" ? join(dataDir, "berth.db") : path);
  }
  if (/^postgres(ql)?:\/\//.test(spec)) return openPostgresStore(spec);
  throw new BerthError(
    "InvalidStore",
    `--store must be a postgres:// URL (or sqlite:PATH), not '${spec}'`,
    { fault: "client" },
  );
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
