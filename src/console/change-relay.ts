/**
 * The live stream across servers. A browser's stream is served by one server, but with several
 * servers on one PostgreSQL store a task may be started through another one, or report to
 * another one's agent channel. Each server appends what it published to `console_changes`
 * (coalesced: one row per half second at most, however busy) and reads the others' rows into
 * its own `ConsoleChanges`, every second and at once on the store's NOTIFY hint.
 *
 * Rows are read by id, looking back a little below the highest seen (an identity value
 * committed out of order is still read) and skipping ids already seen. Each server deletes
 * its own rows after a minute. On SQLite one server holds the store, and nothing is relayed.
 */
import type { Logger } from "../core/index.js";
import type { Notifier, Store } from "../store/index.js";
import type { ConsoleChange, ConsoleChanges } from "./events.js";

export interface ChangeRelayOptions {
  store: Store;
  changes: ConsoleChanges;
  /** This server (server-id): its own rows are not read back. */
  serverId: string;
  notifier: Notifier;
  now: () => number;
  log: Logger;
}

/** What one row carries: the stream's own message (events.ts `serveChanges`). */
interface Payload {
  kinds: string[];
  taskArns: string[];
  manyTasks: boolean;
}

const LOOKBACK_IDS = 100;
const KEEP_MS = 60_000;
/** Past this many ARNs a page re-reads everything anyway (as the stream itself says). */
const MAX_ARNS = 200;
const KINDS = new Set(["task", "service", "registry", "host", "targets", "metrics"]);
/** How often others' changes are read, and how long this server's are gathered before a write. */
const POLL_MS = 1_000;
const WRITE_MS = 500;

export class ConsoleChangeRelay {
  #cursor = 0;
  /** Ids within the look-back window already read. */
  readonly #seen = new Set<number>();
  #pending: Payload | undefined;
  #writeTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #soon = false;
  #stopped = false;
  /** Set while others' changes are republished here, so they are not written back. */
  #replaying = false;
  #unsubscribe: (() => void) | undefined;
  #lastPrune = 0;

  constructor(private readonly options: ChangeRelayOptions) {}

  async start(): Promise<void> {
    const { store } = this.options;
    // Only what happens from now on: a browser re-reads everything when its stream opens.
    const top = await store
      .selectFrom("console_changes")
      .select((eb) => eb.fn.max("id").as("id"))
      .executeTakeFirst();
    this.#cursor = Number(top?.id ?? 0);
    this.#unsubscribe = this.options.changes.subscribe((change) => this.#queue(change));
    this.options.notifier.subscribe("berth_console", () => this.#wake());
    this.#schedule(POLL_MS);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#writeTimer);
    await this.#polling;
    await this.#writing;
  }

  #queue(change: ConsoleChange): void {
    if (this.#replaying || this.#stopped) return;
    const p = (this.#pending ??= { kinds: [], taskArns: [], manyTasks: false });
    if (!p.kinds.includes(change.kind)) p.kinds.push(change.kind);
    if (change.kind === "task") {
      if (change.taskArn === undefined || p.taskArns.length >= MAX_ARNS) {
        p.manyTasks = true;
        p.taskArns = [];
      } else if (!p.manyTasks && !p.taskArns.includes(change.taskArn))
        p.taskArns.push(change.taskArn);
    }
    this.#writeTimer ??= setTimeout(() => {
      this.#writeTimer = undefined;
      this.#writing = this.#writing.then(() => this.#write());
    }, WRITE_MS);
  }

  async #write(): Promise<void> {
    const payload = this.#pending;
    this.#pending = undefined;
    if (payload === undefined) return;
    const { store, serverId, now, notifier, log } = this.options;
    try {
      const at = now();
      await store
        .insertInto("console_changes")
        .values({ server_id: serverId, at, payload: JSON.stringify(payload) })
        .execute();
      await notifier.publish("berth_console", "");
      if (at - this.#lastPrune >= KEEP_MS / 4) {
        this.#lastPrune = at;
        await store
          .deleteFrom("console_changes")
          .where("server_id", "=", serverId)
          .where("at", "<", at - KEEP_MS)
          .execute();
      }
    } catch (error) {
      // A browser on another server misses a hint; its next re-read catches up.
      log.warn("relaying console changes failed", { error: String(error) });
    }
  }

  #wake(): void {
    if (this.#polling !== undefined) this.#soon = true;
    else this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(() => {
      this.#polling = this.poll()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.options.log.warn("reading other servers' console changes failed", {
            error: String(error),
          }),
        )
        .finally(() => {
          this.#polling = undefined;
          const soon = this.#soon;
          this.#soon = false;
          this.#schedule(soon ? 0 : POLL_MS);
        });
    }, ms);
    this.#pollTimer.unref();
  }

  /** Reads the others' new rows once and republishes them here; how many were new. */
  async poll(): Promise<number> {
    const { store, serverId, changes } = this.options;
    const floor = this.#cursor - LOOKBACK_IDS;
    for (const id of this.#seen) if (id <= floor) this.#seen.delete(id);
    let query = store
      .selectFrom("console_changes")
      .select(["id", "payload"])
      .where("id", ">", floor)
      .where("server_id", "!=", serverId);
    if (this.#seen.size > 0) query = query.where("id", "not in", [...this.#seen]);
    const rows = await query.orderBy("id").execute();
    for (const row of rows) {
      const id = Number(row.id);
      this.#seen.add(id);
      this.#cursor = Math.max(this.#cursor, id);
      this.#replaying = true;
      try {
        for (const change of parse(row.payload)) changes.publish(change);
      } finally {
        this.#replaying = false;
      }
    }
    return rows.length;
  }
}

/** A row back into changes; anything unexpected in it is dropped. */
function parse(text: string): ConsoleChange[] {
  let payload: Partial<Payload>;
  try {
    payload = JSON.parse(text) as Partial<Payload>;
  } catch {
    return [];
  }
  const out: ConsoleChange[] = [];
  for (const kind of Array.isArray(payload.kinds) ? payload.kinds : []) {
    if (!KINDS.has(kind) || kind === "task") continue;
    out.push({ kind } as ConsoleChange);
  }
  if (payload.manyTasks === true) out.push({ kind: "task" });
  else
    for (const taskArn of Array.isArray(payload.taskArns) ? payload.taskArns : [])
      if (typeof taskArn === "string") out.push({ kind: "task", taskArn });
  return out;
}
