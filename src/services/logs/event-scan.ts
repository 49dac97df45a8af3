/**
 * Reading events in their order (timestamp, then ingestion sequence) a batch at a time, so a
 * request holds at most one batch and one response page in memory however much is stored.
 */
import { sql } from "kysely";
import type { Store } from "../../store/index.js";
import type { EventPosition } from "./tokens.js";

export interface EventRow {
  seq: number;
  stream_id: number;
  timestamp: number;
  ingested_at: number;
  message: string;
}

export interface ScanOptions {
  groupId: number;
  /** One stream (GetLogEvents), or a subset of the group's streams, or all of them. */
  streams?: { id: number } | { ids: number[] } | { prefix: string };
  /** Inclusive lower bound on timestamps. */
  from: number;
  /** Upper bound on timestamps; `untilInclusive` says whether it is itself included. */
  until?: number;
  untilInclusive?: boolean;
  /** Strictly after (ascending) or strictly before (descending) this position. */
  anchor?: EventPosition;
  descending?: boolean;
  batchSize?: number;
}

const DEFAULT_BATCH = 1000;

/**
 * Yields matching rows in order, querying `batchSize` rows at a time. Past an anchor it asks
 * twice — the rest of the anchor's timestamp by seq, then later timestamps — because SQLite
 * seeks an index on `timestamp = ? AND seq > ?` but only on the timestamp for `(timestamp,
 * seq) > (?, ?)`, which would rescan a run of equal timestamps on every page.
 */
export async function* scanEvents(store: Store, options: ScanOptions): AsyncGenerator<EventRow> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const descending = options.descending === true;
  let anchor = options.anchor;
  for (;;) {
    let rows: EventRow[] = [];
    if (anchor !== undefined)
      rows = await selectBatch(store, options, batchSize, { sameTimestamp: anchor });
    if (rows.length < batchSize) {
      const beyond: { timestamp: number } | undefined = anchor;
      rows = rows.concat(await selectBatch(store, options, batchSize - rows.length, { beyond }));
    }
    for (const row of rows) yield row;
    const last = rows[rows.length - 1];
    if (rows.length < batchSize || last === undefined) return;
    anchor = { timestamp: last.timestamp, seq: last.seq };
  }

  async function selectBatch(
    db: Store,
    opts: ScanOptions,
    size: number,
    at: { sameTimestamp: EventPosition } | { beyond: { timestamp: number } | undefined },
  ): Promise<EventRow[]> {
    const direction = descending ? "desc" : "asc";
    let query = db
      .selectFrom("log_events")
      .select(["seq", "stream_id", "timestamp", "ingested_at", "message"])
      .where("group_id", "=", opts.groupId)
      .where("timestamp", ">=", opts.from)
      .orderBy("timestamp", direction)
      .orderBy("seq", direction)
      .limit(size);
    const streams = opts.streams;
    if (streams !== undefined && "id" in streams) query = query.where("stream_id", "=", streams.id);
    else if (streams !== undefined && "ids" in streams)
      query = query.where("stream_id", "in", streams.ids.length > 0 ? streams.ids : [-1]);
    else if (streams !== undefined)
      query = query.where("stream_id", "in", (sub) =>
        sub
          .selectFrom("log_streams")
          .select("id")
          .where("group_id", "=", opts.groupId)
          .where("name", ">=", streams.prefix)
          .where(sql<string>`substr(name, 1, ${streams.prefix.length})`, "=", streams.prefix),
      );
    if (opts.until !== undefined)
      query = query.where("timestamp", opts.untilInclusive === true ? "<=" : "<", opts.until);
    if ("sameTimestamp" in at)
      query = query
        .where("timestamp", "=", at.sameTimestamp.timestamp)
        .where("seq", descending ? "<" : ">", at.sameTimestamp.seq);
    else if (at.beyond !== undefined)
      query = query.where("timestamp", descending ? "<" : ">", at.beyond.timestamp);
    return query.execute();
  }
}

/** What AWS counts for an event against a 1 MB response. */
export function eventBytes(row: Pick<EventRow, "message">): number {
  return Buffer.byteLength(row.message, "utf8") + 26;
}

/** AWS fills a response with as many events as fit in 1 MB. */
export const MAX_RESPONSE_BYTES = 1_048_576;
