/**
 * What PostgreSQL's side of a placement run looked like (`BENCH_PLACEMENT_PG_STATS=1`): the
 * bench database's sessions sampled every 200 ms from pg_stat_activity (what each was doing or
 * waiting on, and the statement), its commits, rollbacks and deadlocks, and the errors, lock
 * waits and slow statements the server logged during the run (log_lock_waits and
 * log_min_duration_statement are set for it). Where a RunTask waits: the pool, a lock, the
 * client (Berth's event loop), or the disk.
 */
import pg from "pg";
import type { TestPostgres } from "../../src/testing/postgres.js";

const SAMPLE_MS = 200;
/** BENCH_PLACEMENT_PG_SLOW_MS=0 logs every statement: the log's counts are then every round trip. */
const SLOW_MS = Number(process.env.BENCH_PLACEMENT_PG_SLOW_MS ?? 200);

export class PgStats {
  readonly #client: pg.Client;
  readonly #samples = new Map<string, number>();
  readonly #statements = new Map<string, number>();
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #logStart = 0;
  #before: Record<string, number> = {};

  private constructor(
    url: string,
    private readonly postgres: TestPostgres,
  ) {
    this.#client = new pg.Client({ connectionString: url });
  }

  static async start(url: string, postgres: TestPostgres): Promise<PgStats> {
    const stats = new PgStats(url, postgres);
    await stats.#client.connect();
    await stats.#client.query("alter system set log_lock_waits = on");
    await stats.#client.query(`alter system set log_min_duration_statement = ${SLOW_MS}`);
    await stats.#client.query("select pg_reload_conf()");
    return stats;
  }

  /** From now on: sampling, and the log and counters measured from here. */
  async begin(): Promise<void> {
    this.#logStart = this.postgres.log().length;
    this.#before = await this.#database();
    const sample = async (): Promise<void> => {
      const { rows } = await this.#client.query<{
        state: string | null;
        wait: string | null;
        query: string;
      }>(
        `select state, wait_event_type || '/' || wait_event as wait, query
           from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and backend_type = 'client backend'`,
      );
      this.#count++;
      for (const row of rows) {
        const key = `${row.state ?? "?"} ${row.wait ?? "-"}`;
        this.#samples.set(key, (this.#samples.get(key) ?? 0) + 1);
        if (row.state === "active" || row.state === "idle in transaction") {
          const statement = `${row.state === "active" ? (row.wait ?? "cpu") : "idle in trx"}: ${row.query.replace(/\s+/g, " ").slice(0, 110)}`;
          this.#statements.set(statement, (this.#statements.get(statement) ?? 0) + 1);
        }
      }
    };
    const tick = (): void => {
      sample()
        .catch(() => undefined)
        .finally(() => {
          if (this.#timer !== undefined) this.#timer = setTimeout(tick, SAMPLE_MS);
        });
    };
    this.#timer = setTimeout(tick, SAMPLE_MS);
  }

  async #database(): Promise<Record<string, number>> {
    const { rows } = await this.#client.query<Record<string, string>>(
      `select xact_commit, xact_rollback, deadlocks, tup_inserted, tup_updated
         from pg_stat_database where datname = current_database()`,
    );
    return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
  }

  /** Stops sampling and prints what was seen. */
  async end(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const after = await this.#database();
    const delta = Object.fromEntries(
      Object.entries(after).map(([k, v]) => [k, v - (this.#before[k] ?? 0)]),
    );
    console.log(`  pg: ${JSON.stringify(delta)} over ${this.#count} samples`);
    const top = (counts: Map<string, number>, n: number): string[] =>
      [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([key, c]) => `${(c / Math.max(1, this.#count)).toFixed(2).padStart(6)}  ${key}`);
    console.log("  pg sessions (mean number per sample, by state and wait):");
    for (const line of top(this.#samples, 10)) console.log(`    ${line}`);
    console.log("  pg busy sessions by statement (mean number per sample):");
    for (const line of top(this.#statements, 12)) console.log(`    ${line}`);
    const log = this.postgres.log().slice(this.#logStart).split("\n");
    const kinds = new Map<string, number>();
    for (const line of log) {
      const m = /(ERROR|LOG|CONTEXT):\s+(.*)$/.exec(line);
      // Every statement logged: its parse and bind steps are the same round trip as its execute.
      if (m === null || / (parse|bind) \S+:/.test(line)) continue;
      const what = `${m[1] ?? ""}: ${m[2] ?? ""}`
        .replace(/duration: [\d.]+ ms/, "duration: N ms")
        .replace(/\d+(\.\d+)?/g, "N")
        .slice(0, 140);
      kinds.set(what, (kinds.get(what) ?? 0) + 1);
    }
    console.log("  pg log during the run (count, message):");
    for (const [what, c] of [...kinds]
      .sort((a, b) => b[1] - a[1])
      .slice(0, SLOW_MS === 0 ? 40 : 12))
      console.log(`    ${String(c).padStart(6)}  ${what}`);
    await this.#client.end();
  }
}
