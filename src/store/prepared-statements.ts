/**
 * PostgreSQL statements prepared once per connection and run by name. node-postgres sends a
 * query with parameters as an unnamed statement, which PostgreSQL parses and analyses again on
 * every run: in bench:placement, PostgreSQL (on the same cores as the servers) spent a quarter
 * of a task's CPU on the same few statements. A text that comes back is given a name, and each
 * connection parses it the first time it runs it and then only binds it.
 *
 * Bounded: a text is named on its second use (one-off texts, such as an `in (...)` of a size
 * seen once, stay unnamed), at most `kept` names in all (each is a prepared statement in every
 * session that ran it), and only texts of at most `MAX_PARAMETERS` parameters. A connection
 * pooler in transaction mode would move sessions between clients: Berth talks to PostgreSQL
 * directly.
 *
 * A transaction's opening statement is sent with the statement after it, in one write (the
 * pool's clients are in node-postgres' pipeline mode, so the second is not held back until the
 * first is answered): it was a round trip of its own, a write, a wake-up of PostgreSQL and an
 * answer to read, in every transaction (a seventh of bench:placement's round trips, one of a
 * RunTask's seven). Kysely is told it began at once; it only waits for that before its next
 * statement, which is the one that carries it.
 */
import type { PostgresPool, PostgresPoolClient } from "kysely";
import type pg from "pg";

/**
 * Hot-path statements are a few dozen. The hot paths' lists of values are one text whatever their
 * length (dialect.ts `anyOf`); the rarer `in (...)` lists (ELB, logs, tags) are a text per size.
 */
const KEPT = 300;
/** Larger ones (lists of thousands of hosts) are rare and costly to keep in every session. */
const MAX_PARAMETERS = 500;
/** Texts seen once, remembered until this many, then forgotten together. */
const SEEN = 5_000;

/** What of node-postgres' pool this uses (a fake in the unit test). */
export type PgPool = Pick<pg.Pool, "end"> & {
  connect(): Promise<Pick<pg.PoolClient, "query" | "release">>;
};

/**
 * PostgreSQL's answer when a prepared statement's result columns changed since it was prepared
 * (a `select *` after another server's newer version migrated the table): SQLSTATE 0A000.
 */
const STALE_PLAN = /cached plan must not change result type/;

/** How Kysely opens a transaction: `begin`, or `start transaction` with its isolation level. */
const OPENING = /^(begin|start transaction)\b/i;

/** What Kysely reads of a result (command, rowCount, rows), for an opening not sent yet. */
const BEGUN = { command: "BEGIN", rowCount: null, rows: [], fields: [] };

/** The socket under a node-postgres client, to write two statements at once. */
type Corkable = { connection?: { stream?: { cork?(): void; uncork?(): void } } };

export function withPreparedStatements(pool: PgPool, kept = KEPT): PostgresPool {
  const names = new Map<string, string>();
  const seen = new Set<string>();
  // Never a name twice: a session that prepared a forgotten name keeps it (and node-postgres
  // would bind its old text to a new one's values).
  let next = 0;
  const nameOf = (text: string, parameters: number): string | undefined => {
    const name = names.get(text);
    if (name !== undefined || parameters === 0 || parameters > MAX_PARAMETERS) return name;
    if (names.size >= kept) return undefined;
    if (!seen.has(text)) {
      if (seen.size >= SEEN) seen.clear();
      seen.add(text);
      return undefined;
    }
    seen.delete(text);
    const named = `berth_${next++}`;
    names.set(text, named);
    return named;
  };
  return {
    end: () => pool.end(),
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      // A transaction's opening, held until the statement after it.
      let opening: string | undefined;
      // Kysely's cursors (streams) and queries without parameters (the simple protocol, which
      // may hold several statements) pass through as they are.
      const run = (text: unknown, parameters?: readonly unknown[]): Promise<unknown> => {
        if (typeof text !== "string" || parameters === undefined)
          return client.query(text as never);
        const name = nameOf(text, parameters.length);
        if (name === undefined) return client.query(text, [...parameters]);
        // A stale plan fails this statement and its transaction, as any database error does the
        // request; the text is forgotten: from here on it goes unnamed, then is prepared anew.
        return client.query({ name, text, values: [...parameters] }).catch((error: unknown) => {
          if (
            STALE_PLAN.test(String((error as Error | undefined)?.message)) &&
            names.get(text) === name
          )
            names.delete(text);
          throw error;
        });
      };
      const query = ((text: unknown, parameters?: readonly unknown[]) => {
        if (opening === undefined) {
          if (typeof text !== "string" || parameters?.length !== 0 || !OPENING.test(text))
            return run(text, parameters);
          opening = text;
          return Promise.resolve(BEGUN);
        }
        const begin = opening;
        opening = undefined;
        // One write for both (node-postgres corks each statement's messages; nested corks
        // hold them all until the last uncork).
        const stream = (client as Corkable).connection?.stream;
        stream?.cork?.();
        let begun: Promise<unknown>;
        let result: Promise<unknown>;
        try {
          begun = client.query(begin, []);
          result = run(text, parameters);
        } finally {
          stream?.uncork?.();
        }
        // A failed opening fails the statement too (both fail when the session is lost).
        return Promise.all([begun, result]).then(([, answer]) => answer);
      }) as unknown as PostgresPoolClient["query"];
      return {
        query,
        release: (destroy?: boolean) => {
          opening = undefined;
          client.release(destroy);
        },
      };
    },
  };
}
