/**
 * What differs between the store's two engines, in one place: the few SQL functions and column
 * kinds that SQLite and PostgreSQL spell differently. Everything else is plain Kysely.
 */
import {
  PostgresAdapter,
  sql,
  type ColumnDefinitionBuilder,
  type Expression,
  type RawBuilder,
  type SqlBool,
} from "kysely";

export type StoreDialect = "sqlite" | "postgres";

/** Any Kysely instance or transaction, whatever its tables. */
interface AnyDb {
  getExecutor(): { readonly adapter: unknown };
}

export function dialectOf(db: AnyDb): StoreDialect {
  // The executor's adapter is Kysely's own marker of the engine it speaks to.
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

/**
 * An id column that counts up and never reuses a value (a deleted row's id never names a new
 * one): AUTOINCREMENT on SQLite, an identity column on PostgreSQL.
 */
export function autoIncrementId(db: AnyDb): {
  type: "integer" | "bigint";
  build: (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
} {
  // SQLite's INTEGER PRIMARY KEY is its 64-bit rowid; PostgreSQL's integer is 32-bit.
  return dialectOf(db) === "postgres"
    ? { type: "bigint", build: (c) => c.primaryKey().generatedByDefaultAsIdentity() }
    : { type: "integer", build: (c) => c.primaryKey().autoIncrement() };
}

/** The larger of two non-null numbers (SQLite's scalar max, PostgreSQL's greatest). */
export function larger(
  db: AnyDb,
  a: Expression<number> | number,
  b: Expression<number> | number,
): RawBuilder<number> {
  return dialectOf(db) === "postgres"
    ? sql<number>`greatest(${a}, ${b})`
    : sql<number>`max(${a}, ${b})`;
}

/** The smaller of two non-null numbers (SQLite's scalar min, PostgreSQL's least). */
export function smaller(
  db: AnyDb,
  a: Expression<number> | number,
  b: Expression<number> | number,
): RawBuilder<number> {
  return dialectOf(db) === "postgres"
    ? sql<number>`least(${a}, ${b})`
    : sql<number>`min(${a}, ${b})`;
}

/** 1-based position of `needle` in a text column, 0 when absent (case-sensitive on both). */
export function positionOf(db: AnyDb, column: string, needle: string): RawBuilder<number> {
  return dialectOf(db) === "postgres"
    ? sql<number>`strpos(${sql.ref(column)}, ${needle})`
    : sql<number>`instr(${sql.ref(column)}, ${needle})`;
}

/**
 * `column` is one of `values` (text or numbers), in one statement text whatever their count:
 * PostgreSQL's `= any($1)` with the list as one array parameter, SQLite's `in` over
 * `json_each` of the list as one JSON parameter. Kysely's `in (...)` spells a list of n values
 * with n parameters, a text of its own for each n: each took one of the prepared-statement names
 * on PostgreSQL (prepared-statements.ts, at most 300, never given back) and a place in SQLite's
 * statement cache, crowding the hot statements out. An empty list matches nothing.
 */
export function anyOf(
  db: AnyDb,
  column: string,
  values: readonly (string | number)[],
): RawBuilder<SqlBool> {
  return dialectOf(db) === "postgres"
    ? sql<SqlBool>`${sql.ref(column)} = any(${[...values]})`
    : sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`;
}

/**
 * Now on the database's clock, in milliseconds: what leases are measured by, so that servers
 * whose own clocks disagree still agree on who leads.
 */
export function databaseNowMs(db: AnyDb): RawBuilder<number> {
  return dialectOf(db) === "postgres"
    ? sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`
    : sql<number>`cast(unixepoch('subsec') * 1000 as integer)`;
}

/**
 * Claims `key` of `space` (two 32-bit numbers) for the rest of the transaction without waiting:
 * false when another transaction holds it (PostgreSQL's transaction-level advisory lock, let go
 * at commit or rollback). On SQLite a transaction runs alone: always true. A claim only steers
 * concurrent transactions apart; what they write is still guarded by the table's constraints.
 */
export async function tryClaimKey(
  db: Parameters<RawBuilder<unknown>["execute"]>[0],
  space: number,
  key: number,
): Promise<boolean> {
  if (dialectOf(db) !== "postgres") return true;
  const { rows } = await sql<{
    claimed: boolean;
  }>`select pg_try_advisory_xact_lock(${space | 0}, ${key | 0}) as claimed`.execute(db);
  return rows[0]?.claimed === true;
}

/** `tryClaimKey` for several keys of `space` in one statement: whether each was claimed. */
export async function tryClaimKeys(
  db: Parameters<RawBuilder<unknown>["execute"]>[0],
  space: number,
  keys: readonly number[],
): Promise<boolean[]> {
  if (dialectOf(db) !== "postgres" || keys.length === 0) return keys.map(() => true);
  const { rows } = await sql<{
    claimed: boolean;
  }>`select pg_try_advisory_xact_lock(${space | 0}, key) as claimed
    from unnest(cast(${keys.map((key) => key | 0)} as integer[])) with ordinality as keys(key, at)
    order by at`.execute(db);
  return keys.map((_, at) => rows[at]?.claimed === true);
}

/**
 * `tryClaimKey` of the first of `keys` no other transaction holds, tried in order in one
 * statement: its index, or -1 when every one is held. Only that one is claimed (the scan stops
 * at the first claimed; were the function ever run on more rows, the extra claims would only
 * steer others apart until this transaction ends). On SQLite: the first.
 */
export async function tryClaimFirstKey(
  db: Parameters<RawBuilder<unknown>["execute"]>[0],
  space: number,
  keys: readonly number[],
): Promise<number> {
  if (keys.length === 0) return -1;
  if (dialectOf(db) !== "postgres") return 0;
  const { rows } = await sql<{
    at: string;
  }>`select at from unnest(cast(${keys.map((key) => key | 0)} as integer[]))
    with ordinality as keys(key, at)
    where pg_try_advisory_xact_lock(${space | 0}, key) limit 1`.execute(db);
  return rows[0] === undefined ? -1 : Number(rows[0].at) - 1;
}

/** A unique or primary key was violated (PostgreSQL 23505; SQLite's constraint codes). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    code === "23505" ||
    code === "SQLITE_CONSTRAINT_PRIMARYKEY" ||
    code === "SQLITE_CONSTRAINT_UNIQUE"
  );
}
