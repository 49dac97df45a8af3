/**
 * Agents' reports applied in batches: the reports of every host that arrive while one batch is
 * being written go into the next, and each batch is one transaction (one commit, its hosts'
 * liveness rows locked and updated in one statement each, its tasks read in one) instead of
 * one per report. A CPU profile of bench:placement (SQLite, 1,000 hosts) put commits at 17% of
 * the server's time, four in five of them one report's; on PostgreSQL a report was six round
 * trips. On PostgreSQL up to four batches are written at once (each waits on round trips), but
 * one starts beside another only once enough reports wait to fill it (BESIDE_ANOTHER).
 *
 * What one report's transaction guaranteed holds for each report in a batch: a report is
 * applied only if its sequence number is higher than the last stored for its host, and that
 * number is stored in the same transaction as the change; a host's reports apply in order (its
 * channel hands over the next only when the last is settled, so a batch holds at most one of a
 * host's, and one host's reports never race each other). On PostgreSQL the batch runs at READ
 * COMMITTED with its hosts' liveness rows locked first, in host order (so two batches cannot
 * deadlock; heartbeats pass over rows held, heartbeats.ts), as the single report's transaction
 * locked its host's row. If a batch fails, each of its reports is applied again alone, so one
 * report that cannot be applied fails only itself.
 */
import { sql, type Transaction } from "kysely";
import type { Clock } from "../core/index.js";
import type { TaskState } from "../protocol/index.js";
import {
  anyOf,
  dialectOf,
  readCommittedTransaction,
  type Database,
  type Store,
} from "../store/index.js";
import { applyTaskStates, REPORTED_TASK_COLUMNS } from "./tasks.js";

export interface HostReport {
  hostId: string;
  seq: number;
  state: TaskState;
}

/** The most reports one transaction applies (a statement's `in (...)` list stays short). */
const MAX_BATCH = 500;

/**
 * How many reports must wait before a batch starts beside one being written (PostgreSQL). A
 * batch is six round trips and a commit whatever its size: started whenever a connection was
 * free, batches held a few reports each (bench:placement, three servers: 5 a batch, against 16
 * with one server), and the reports waiting for the batch being written are few unless the
 * store is slow.
 */
const BESIDE_ANOTHER = 50;

/**
 * Applies `reports` in `trx`, in order: for each, whether it changed its task (false when its
 * host's sequence number had passed it). Throws if a host was never heard from (no liveness
 * row), as a single report's transaction did: that report is not acked, and is sent again.
 */
export async function applyReports(
  trx: Transaction<Database>,
  reports: readonly HostReport[],
  now: number,
): Promise<boolean[]> {
  if (reports.length === 0) return [];
  const hostIds = [...new Set(reports.map((r) => r.hostId))].sort();
  const read = trx
    .selectFrom("host_liveness")
    .select(["host_id", "last_seq"])
    .where(anyOf(trx, "host_id", hostIds))
    .orderBy("host_id");
  const rows = await (dialectOf(trx) === "postgres" ? read.forUpdate() : read).execute();
  const lastSeq = new Map(rows.map((row) => [row.host_id, Number(row.last_seq)]));
  // Every task of the batch read at once and written at once (a round trip each, not one per
  // report); a task changed meanwhile is caught by the write's version check and read again.
  const arns = [...new Set(reports.map((r) => r.state.taskArn))];
  const tasks = new Map(
    (
      await trx
        .selectFrom("tasks")
        .select(REPORTED_TASK_COLUMNS)
        .where(anyOf(trx, "arn", arns))
        .execute()
    ).map((row) => [row.arn, row]),
  );
  // The reports to apply (those whose sequence number is new), merged and written together.
  const fresh: HostReport[] = [];
  const at: number[] = [];
  const changed: boolean[] = [];
  const stored = new Map<string, number>();
  for (const report of reports) {
    const last = stored.get(report.hostId) ?? lastSeq.get(report.hostId);
    if (last === undefined) throw new Error(`host ${report.hostId} has no liveness row`);
    changed.push(false);
    if (report.seq <= last) continue;
    at.push(changed.length - 1);
    fresh.push(report);
    stored.set(report.hostId, report.seq);
  }
  for (const [i, applied] of (await applyTaskStates(trx, fresh, tasks)).entries())
    changed[at[i] as number] = applied;
  if (stored.size > 0) {
    const ids = [...stored.keys()];
    await trx
      .updateTable("host_liveness")
      .set({
        last_seq: sql<number>`case host_id ${sql.join(
          ids.map((id) => sql`when ${id} then cast(${stored.get(id)} as bigint)`),
          sql` `,
        )} end`,
        last_seen_at: now,
      })
      .where(anyOf(trx, "host_id", ids))
      .execute();
  }
  return changed;
}

interface Pending extends HostReport {
  resolve: (changed: boolean) => void;
  reject: (error: unknown) => void;
}

export class ReportBatcher {
  #queue: Pending[] = [];
  #writing = 0;
  #scheduled = false;
  /**
   * Batches written at once: on PostgreSQL several (each waits on round trips, and the pool
   * has connections for them); on SQLite one (its one connection runs one at a time).
   */
  readonly #parallel: number;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    parallel?: number,
  ) {
    this.#parallel = parallel ?? (dialectOf(store) === "postgres" ? 4 : 1);
  }

  /** Applies one report with whatever others arrive meanwhile: whether it changed its task. */
  apply(report: HostReport): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#queue.push({ ...report, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || !this.#mayStart()) return;
    this.#scheduled = true;
    // After the messages already read from the sockets have been handed over.
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  /**
   * Whether a batch may start now: when none is being written, or when enough reports wait to
   * fill one beside those being written.
   */
  #mayStart(): boolean {
    if (this.#queue.length === 0 || this.#writing >= this.#parallel) return false;
    return this.#writing === 0 || this.#queue.length >= BESIDE_ANOTHER;
  }

  #start(): void {
    // What is queued, shared over the batches that may start now (none smaller than
    // BESIDE_ANOTHER beside another).
    const free = this.#parallel - this.#writing;
    const size = Math.min(
      MAX_BATCH,
      Math.max(BESIDE_ANOTHER, Math.ceil(this.#queue.length / Math.max(1, free))),
    );
    while (this.#mayStart()) {
      const batch = this.#queue.splice(0, size);
      this.#writing++;
      void this.#write(batch).finally(() => {
        this.#writing--;
        this.#schedule();
      });
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    const now = (): number => this.clock.now().getTime();
    try {
      const changed = await readCommittedTransaction(this.store).execute((trx) =>
        applyReports(trx, batch, now()),
      );
      batch.forEach((report, i) => report.resolve(changed[i] ?? false));
    } catch {
      // Each alone: one report that cannot be applied fails only itself.
      for (const report of batch)
        await readCommittedTransaction(this.store)
          .execute((trx) => applyReports(trx, [report], now()))
          .then(([changed]) => report.resolve(changed ?? false), report.reject);
    }
  }
}
