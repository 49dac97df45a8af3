/**
 * Group commit on SQLite: transactions asked for in the same turn of the event loop share one
 * transaction and one commit, each inside its own savepoint. SQLite runs one transaction at a
 * time on its one connection anyway, so running them one after another in one changes nothing
 * of what each sees (each sees the ones before it, as it would have after their commits); a
 * callback that throws is rolled back to its savepoint alone and its caller gets the error,
 * the others commit. Every caller hears back only once the shared commit is done (or failed:
 * then all fail). In bench:placement (SQLite, 1,000 hosts) a RunTask's commit was a sixth of
 * the server's time: the WAL frames of the pages it wrote, and the checkpoints they brought.
 * On PostgreSQL, where transactions run side by side, each runs alone at READ COMMITTED
 * (`readCommittedTransaction`).
 */
import { sql, type Transaction } from "kysely";
import { readCommittedTransaction, type Store } from "./open.js";
import { dialectOf } from "./dialect.js";
import type { Database } from "./schema.js";

/** The most callbacks one commit takes (a larger group holds the connection longer). */
const MAX_GROUP = 64;

interface Member {
  run: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

class CommitGroups {
  #queue: Member[] = [];
  #scheduled = false;

  constructor(private readonly store: Store) {}

  execute<T>(run: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // After the requests already read from the sockets have reached here too.
      setImmediate(() => void this.#commit());
    });
  }

  async #commit(): Promise<void> {
    const group = this.#queue.splice(0, MAX_GROUP);
    const outcomes: Array<{ value: unknown } | { error: unknown }> = [];
    try {
      await this.store.transaction().execute(async (trx) => {
        // Alone, it needs no savepoint: its failure rolls the transaction back.
        if (group.length === 1) {
          outcomes.push({ value: await (group[0] as Member).run(trx) });
          return;
        }
        for (const member of group) {
          await sql`savepoint grouped`.execute(trx);
          try {
            const value = await member.run(trx);
            await sql`release savepoint grouped`.execute(trx);
            outcomes.push({ value });
          } catch (error) {
            await sql`rollback to savepoint grouped`.execute(trx);
            await sql`release savepoint grouped`.execute(trx);
            outcomes.push({ error });
          }
        }
      });
      group.forEach((member, i) => {
        const outcome = outcomes[i] as { value: unknown } | { error: unknown };
        if ("error" in outcome) member.reject(outcome.error);
        else member.resolve(outcome.value);
      });
    } catch (error) {
      // The commit itself failed (or a savepoint could not be rolled back): nothing is stored.
      for (const [i, member] of group.entries()) {
        const outcome = outcomes[i];
        member.reject(outcome !== undefined && "error" in outcome ? outcome.error : error);
      }
    } finally {
      if (this.#queue.length > 0) setImmediate(() => void this.#commit());
      else this.#scheduled = false;
    }
  }
}

const groups = new WeakMap<Store, CommitGroups>();

/**
 * A transaction whose writes are conditional updates and inserts that may race (placement's):
 * on SQLite committed with the others asked for at the same moment (see above), on PostgreSQL
 * alone at READ COMMITTED, run again on a unique violation on one of `racedOn`.
 */
export function groupedTransaction(
  store: Store,
  racedOn: readonly string[] = [],
): { execute<T>(run: (trx: Transaction<Database>) => Promise<T>): Promise<T> } {
  if (dialectOf(store) === "postgres") return readCommittedTransaction(store, racedOn);
  let commits = groups.get(store);
  if (commits === undefined) groups.set(store, (commits = new CommitGroups(store)));
  return commits;
}
